/**
 * Terminal injection (TIOCSTI): a jailed command pushing characters into "its" terminal must not reach
 * the terminal icode runs in. icode here is a separate process in a real pty (node-pty); as a control,
 * the same injection from an unjailed child sharing icode's terminal does reach it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pty from 'node-pty';
import { expect, test } from 'vitest';
import { buildHarness } from './harness.js';
import { fixture } from './helpers.js';

const INJECT = `import fcntl, termios, os
res = []
def inj(fd, label):
    try:
        for c in b"WORD\\n":
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
        res.append(label + ":ok")
    except OSError as e:
        res.append(label + ":" + (e.strerror or "error"))
for fd in range(0, 256):
    try:
        if os.isatty(fd):
            inj(fd, "fd%d" % fd)
    except OSError:
        pass
try:
    inj(os.open("/dev/tty", os.O_RDWR), "tty")
except OSError as e:
    res.append("tty-open:" + (e.strerror or "error"))
print("RES " + " ".join(res))
`;

test('TIOCSTI from the jail does not reach the terminal icode runs in', async () => {
  const harness = buildHarness();
  const { ws } = fixture();
  writeFileSync(join(ws, 'inject.py'), INJECT.replace('WORD', 'INJECTED'));
  writeFileSync(join(ws, 'control.py'), INJECT.replace('WORD', 'CONTROL'));
  const script = join(harness, 'tiocsti.mjs');
  writeFileSync(
    script,
    `import { spawnSync } from 'node:child_process';
import { ShellJail } from './sandbox/jail/index.js';
const ws = process.argv[2];
const control = spawnSync('/usr/bin/python3', [ws + '/control.py'], { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8' });
process.stdout.write('CONTROL ' + JSON.stringify(control.stdout) + '\\n');
const jail = await ShellJail.start({ workspace: ws, network: false });
const r = await jail.run('python3 inject.py');
process.stdout.write('JAILED ' + JSON.stringify(r.output) + '\\n');
await jail.close();
process.stdin.setRawMode(true);
// Whatever was injected is queued on the terminal before READY; the test then types END_OF_INPUT, so
// everything read before it is what reached icode's terminal (no waiting for a time to pass).
let got = '';
const done = new Promise((res) => process.stdin.on('data', (d) => { got += d; if (got.includes('END_OF_INPUT')) res(); }));
process.stdout.write('READY\\n');
await done;
process.stdout.write('STDIN ' + JSON.stringify(got.slice(0, got.indexOf('END_OF_INPUT'))) + '\\n');
process.exit(0);
`,
  );
  const term = pty.spawn(process.execPath, [script, ws], { cols: 200, rows: 50, cwd: harness, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: harness } });
  let out = '';
  let typed = false;
  term.onData((d) => {
    out += d;
    if (!typed && /^READY\r?$/m.test(out)) {
      typed = true;
      term.write('END_OF_INPUT');
    }
  });
  await new Promise<void>((resolve) => term.onExit(() => resolve()));
  const line = (tag: string): string => {
    const m = new RegExp(`^${tag} (".*")\\r?$`, 'm').exec(out);
    if (!m) throw new Error(`no ${tag} line in: ${out.slice(-2000)}`);
    return JSON.parse(m[1]!) as string;
  };
  const stdin = line('STDIN');
  const jailed = line('JAILED');
  const control = line('CONTROL');
  // Inside the jail the injection can at most reach the command's own, private pty…
  expect(jailed).toMatch(/^RES /m);
  // …and never the terminal of icode.
  expect(stdin).not.toContain('INJECTED');
  // The control proves the check can fail: where the kernel still allows TIOCSTI, an unjailed child
  // sharing icode's terminal injects into it.
  const legacy = readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim();
  if (legacy === '1') {
    expect(control).toMatch(/:ok/);
    expect(stdin).toContain('CONTROL');
  }
});
