/**
 * What a jailed command can see and touch: real bwrap, real pty, one jail for the file. Every attack
 * is first shown to work (or the secret to exist) on the host, so a test fails if the jail leaks.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ShellJail } from '../../sandbox/jail/index.js';
import { fixture, processesInNamespace } from './helpers.js';

const fx = fixture();
const SECRET_ENV = 'icode-env-secret-' + Math.random().toString(36).slice(2);
let jail: ShellJail;

// A fake private key in the real home directory (removed after the file).
const sshDir = join(homedir(), '.ssh');
const sshKey = join(sshDir, 'id_test');
const sshDirExisted = existsSync(sshDir);
const KEY_TEXT = 'FAKE-PRIVATE-KEY-' + Math.random().toString(36).slice(2);

beforeAll(async () => {
  process.env.ICODE_TEST_SECRET = SECRET_ENV;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ENV;
  if (!sshDirExisted) mkdirSync(sshDir, { mode: 0o700 });
  writeFileSync(sshKey, KEY_TEXT, { mode: 0o600 });
  writeFileSync(join(fx.dir, 'beside.txt'), 'BESIDE-SECRET');
  writeFileSync(join(fx.ws, 'hello.txt'), 'hello from the workspace\n');
  jail = await ShellJail.start({ workspace: fx.ws, network: false });
});

afterAll(async () => {
  await jail?.close();
  delete process.env.ICODE_TEST_SECRET;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  rmSync(sshKey, { force: true });
  if (!sshDirExisted) rmSync(sshDir, { recursive: true, force: true });
});

describe('reading', () => {
  test('the workspace is readable and is the working directory', async () => {
    const r = await jail.run('pwd; cat hello.txt');
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe(`${fx.ws}\nhello from the workspace\n`);
  });

  test("cannot read the host's /etc/shadow", async () => {
    const host = readFileSync('/etc/shadow', 'utf8');
    expect(host).toMatch(/^root:/m);
    const r = await jail.run('cat /etc/shadow; ls -la /etc | grep -c shadow');
    expect(r.output).not.toMatch(/^root:/m);
    expect(r.output).toContain('No such file or directory');
    expect(r.output.trim().split('\n').pop()).toBe('0');
  });

  test('cannot read ~/.ssh of the host', async () => {
    expect(readFileSync(sshKey, 'utf8')).toBe(KEY_TEXT);
    const r = await jail.run(`cat ${sshKey}; ls -la ${sshDir} ~/.ssh 2>&1; find / -name id_test 2>/dev/null`);
    expect(r.output).not.toContain(KEY_TEXT);
    expect(r.output).not.toMatch(/^\S*id_test$/m);
    expect(r.output).toContain('No such file or directory');
  });

  test('cannot read a file beside the workspace', async () => {
    const r = await jail.run(`cat ../beside.txt ${join(fx.dir, 'beside.txt')}; ls -a ..`);
    expect(r.output).not.toContain('BESIDE-SECRET');
    expect(r.output).toContain('No such file or directory');
    expect(r.output).not.toContain('beside.txt\n');
  });

  test('a symlink to the outside made inside the jail points at nothing', async () => {
    const r = await jail.run(`ln -s ${join(fx.dir, 'beside.txt')} out-link && ln -s ${sshKey} key-link && cat out-link key-link; echo rc=$?`);
    expect(r.output).not.toContain('BESIDE-SECRET');
    expect(r.output).not.toContain(KEY_TEXT);
    expect(r.output).toContain('rc=1');
  });

  test("icode's environment secrets are absent in the jail", async () => {
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBe(SECRET_ENV);
    const r = await jail.run("env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'");
    expect(r.output).not.toContain(SECRET_ENV);
    expect(r.output).not.toContain('ICODE_TEST_SECRET');
    expect(r.output).not.toContain('AWS_SECRET_ACCESS_KEY');
    expect(r.output).toContain('HOME=/home/agent');
    expect(r.output).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
  });

  test("/proc shows only the jail's processes", async () => {
    const r = await jail.run('for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done');
    const lines = r.output.trim().split('\n');
    expect(lines.length).toBeLessThan(8);
    expect(r.output).toMatch(/^1 \/usr\/bin\/bwrap /m);
    expect(r.output).not.toContain('vitest');
    // The host sees the same processes in the jail's namespace, and many more outside it.
    const inNs = processesInNamespace(jail.hostPids.pidNamespace!);
    expect(inNs.length).toBeGreaterThanOrEqual(2);
    expect(inNs.some((p) => p.pid === process.pid)).toBe(false);
  });
});

describe('writing', () => {
  test('the workspace is writable', async () => {
    const r = await jail.run('echo made-in-jail > made.txt && cat made.txt');
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(fx.ws, 'made.txt'), 'utf8')).toBe('made-in-jail\n');
  });

  test('cannot write outside the workspace', async () => {
    const targets = [join(fx.dir, 'escape.txt'), '/tmp/icode-jail-escape.txt', '/usr/local/icode-escape', '/etc/icode-escape', '/icode-escape', join(homedir(), 'icode-escape')];
    const r = await jail.run(targets.map((t) => `echo x > ${t}`).join('; ') + '; echo done');
    expect(r.output).toContain('done');
    for (const t of targets) expect(existsSync(t), t).toBe(false);
    // The jail's own /tmp is private: what it writes there is not the host's /tmp.
    const r2 = await jail.run('echo private > /tmp/icode-jail-private && cat /tmp/icode-jail-private');
    expect(r2.output).toBe('private\n');
    expect(existsSync('/tmp/icode-jail-private')).toBe(false);
  });

  test("cannot change the host's kernel settings through /proc", async () => {
    // Jailed processes keep the host uid (root here): procfs would let them write these by mode bits.
    const r = await jail.run(
      'for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sysrq-trigger /proc/sys/vm/drop_caches; do test -w $f && echo "writable $f"; done; v=$(cat /proc/sys/kernel/printk_ratelimit) && echo "$v" > /proc/sys/kernel/printk_ratelimit; echo rc=$?',
    );
    expect(r.output).not.toContain('writable');
    expect(r.output).toContain('Read-only file system');
    expect(r.output).toContain('rc=1');
  });

  test('kernel keyrings, perf events, bpf and terminal injection are filtered (seccomp)', async () => {
    const nr = process.arch === 'arm64' ? { keyctl: 219, perf: 241, bpf: 280 } : { keyctl: 250, perf: 298, bpf: 321 };
    const py = [
      'import ctypes, os, fcntl, termios',
      'libc = ctypes.CDLL(None, use_errno=True)',
      `for name, n in (("keyctl", ${nr.keyctl}), ("perf", ${nr.perf}), ("bpf", ${nr.bpf})):`,
      '    r = libc.syscall(n, 0, 0, 0, 0, 0); print(name, r, ctypes.get_errno())',
      'try:',
      '    fcntl.ioctl(os.open("/dev/tty", os.O_RDWR), termios.TIOCSTI, b"x"); print("tiocsti ok")',
      'except OSError as e: print("tiocsti", e.errno)',
    ].join('\n');
    const r = await jail.run(`python3 -c '${py}'; grep '^Seccomp:' /proc/self/status; cat /proc/keys`);
    expect(r.output).toContain('keyctl -1 1\nperf -1 1\nbpf -1 1\ntiocsti 1\nSeccomp:\t2\n');
    expect(r.output).toMatch(/\/proc\/keys: Permission denied/);
  });

  test('system directories are read-only', async () => {
    const r = await jail.run('touch /usr/bin/icode-x; mkdir /run/icode/x; echo x > /run/icode/supervisor.cjs; echo rc=$?');
    expect(r.output).toMatch(/Read-only file system/);
    expect(r.output).toContain('rc=1');
  });
});

describe('network', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((s) => {
      connections++;
      s.end('HELLO-FROM-HOST\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('cannot reach a TCP server on 127.0.0.1 of the host', async () => {
    const r = await jail.run(`exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3; echo rc=$?`, { timeoutMs: 10_000 });
    expect(r.output).not.toContain('HELLO-FROM-HOST');
    expect(r.output).toMatch(/Connection refused|Network is unreachable/);
    expect(connections).toBe(0);
  });

  test('only a loopback device, no route out', async () => {
    const r = await jail.run('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; cat /proc/net/route | wc -l');
    expect(r.output.trim().split('\n')).toEqual(['lo', '1']);
  });
});

describe('terminal', () => {
  test('escape sequences and control characters are stripped', async () => {
    const cmd = String.raw`printf 'a\033[31mRED\033[0m b\033]0;title\007c \033]8;;http://x\033\\link\033]8;;\033\\ d\033P+q\033\\e \033(Bf\bg\rh\xc2\x9b31mi\n'`;
    const r = await jail.run(cmd);
    expect(r.output).toBe('aRED bc link de fghi\n');
  });

  test('output of a command that exits at once is complete', async () => {
    const r = await jail.run("printf 'x%.0s' {1..100000}", { maxOutputBytes: 200_000 });
    expect(r.truncated).toBe(false);
    expect(r.output.length).toBe(100_000);
    expect(/^x+$/.test(r.output)).toBe(true);
  });

  test('output beyond the cap keeps head and tail around a marker', async () => {
    const r = await jail.run("printf 'a%.0s' {1..50000}; printf 'b%.0s' {1..50000}", { maxOutputBytes: 10_000 });
    expect(r.truncated).toBe(true);
    expect(r.output.replace(/(.)\1{9,}/g, (m, c: string) => `${c}*${m.length}`)).toBe('a*5000\n[output truncated: 90000 bytes dropped]\nb*5000');
  });

  test('`yes` is capped and stopped; the jail keeps serving', async () => {
    const r = await jail.run('yes', { maxOutputBytes: 1000, timeoutMs: 4000 });
    expect(r.truncated).toBe(true);
    expect(r.output).toMatch(/^(y\n){150,}y?\n\[output truncated: \d+ bytes dropped\]\n/);
    expect(r.exitCode).toBe(null);
    expect(r.signal).toBe('SIGKILL');
    const after = await jail.run('echo still-here');
    expect(after.output).toBe('still-here\n');
  });

  test('commands reading the terminal get end-of-file instead of hanging', async () => {
    const r = await jail.run('cat; read line; echo "read=$?"; head -c1 /dev/tty; echo "tty=$?"', { timeoutMs: 10_000 });
    expect(r.timedOut).toBe(false);
    expect(r.output).toBe('read=1\ntty=0\n');
  });

  test('exit codes and signals are reported', async () => {
    expect((await jail.run('exit 7')).exitCode).toBe(7);
    const r = await jail.run('kill -TERM $$');
    expect(r.exitCode).toBe(null);
    expect(r.signal).toBe('SIGTERM');
  });
});
