/**
 * Processes: timeouts kill what the command started, daemons live until the session's jail closes,
 * fork bombs are contained, and nothing outlives the jail or icode. Checked in the host's process table.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { resetProbeCache } from '../../sandbox/jail/probe.js';
import { ShellJail } from '../../sandbox/jail/index.js';
import { buildHarness } from './harness.js';
import { eventually, fixture, processesInNamespace } from './helpers.js';

const open: ShellJail[] = [];
async function start(ws: string, extra: Partial<Parameters<typeof ShellJail.start>[0]> = {}): Promise<ShellJail> {
  const j = await ShellJail.start({ workspace: ws, network: false, ...extra });
  open.push(j);
  return j;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((j) => j.close()));
});

/** The host's clock in ticks (USER_HZ, 100/s on Linux) and a process's start time in the same unit. */
const uptimeTicks = (): number => Math.floor(Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 100);
const startTick = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]); // field 22, starttime
};
const sleepers = (ns: string, arg: string) => processesInNamespace(ns).filter((p) => p.cmd.includes(`sleep ${arg}`));

describe('timeouts', () => {
  test('`sleep 1000` dies at its timeout with everything it started; older daemons survive', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    const ns = jail.hostPids.pidNamespace!;
    await jail.run('nohup sleep 2000 >/dev/null 2>&1 &');
    expect(await eventually(() => sleepers(ns, '2000').length === 1)).toBe(true);
    // Timeouts kill what started since the command began, by start time (10 ms clock ticks): a daemon
    // started within the attribution margin of the next command (its tick, and one tick early: see
    // ShellJail.ticksSince) counts as that command's. Wait until the clock is clearly past that margin.
    const daemon = sleepers(ns, '2000')[0].pid;
    expect(await eventually(() => uptimeTicks() > startTick(daemon) + 3, 5000, 5)).toBe(true);

    const r = await jail.run('sleep 1000 & setsid sleep 1000 & (nohup sleep 1000 >/dev/null 2>&1 &) ; sleep 1000', { timeoutMs: 1500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(null);
    expect(r.signal).toBe('SIGKILL');
    expect(r.durationMs).toBeGreaterThanOrEqual(1500);
    expect(r.output).toContain('timed out after 1500 ms');
    // Before run() returned, every process the command started was gone from the host's table…
    expect(sleepers(ns, '1000')).toEqual([]);
    // …but not the daemon of the earlier command, and the jail still serves.
    expect(sleepers(ns, '2000').length).toBe(1);
    expect((await jail.run('echo next')).output).toBe('next\n');
  });

  test('an abort kills the command and rejects; the jail keeps serving', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    const ns = jail.hostPids.pidNamespace!;
    const ac = new AbortController();
    const p = jail.run('sleep 1001', { signal: ac.signal });
    await eventually(() => sleepers(ns, '1001').length === 1);
    ac.abort();
    await expect(p).rejects.toThrow(/abort/i);
    expect(sleepers(ns, '1001')).toEqual([]);
    expect((await jail.run('echo next')).output).toBe('next\n');
  });
});

describe('the session', () => {
  test('a background daemon lives until the jail closes, then dies', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    const ns = jail.hostPids.pidNamespace!;
    const r = await jail.run('nohup sleep 1000 >/dev/null 2>&1 & echo started');
    expect(r.output).toBe('started\n');
    expect(await eventually(() => sleepers(ns, '1000').length === 1)).toBe(true);
    expect((await jail.run('pgrep -c -x sleep')).output).toBe('1\n');
    await jail.close();
    expect(processesInNamespace(ns)).toEqual([]);
    await expect(jail.run('true')).rejects.toThrow(/closed/);
  });

  test('commands share the filesystem view, not shell state', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    await jail.run('cd /tmp; export FOO=bar; echo kept > /tmp/shared; echo home > ~/h');
    const r = await jail.run('pwd; echo "FOO=$FOO"; cat /tmp/shared ~/h');
    expect(r.output).toBe(`${ws}\nFOO=\nkept\nhome\n`);
  });

  test('commands of one jail run one at a time', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    const rs = await Promise.all([1, 2, 3].map((i) => jail.run(`echo start${i} >> log; sleep 0.2; echo end${i} >> log`)));
    expect(rs.every((r) => r.exitCode === 0)).toBe(true);
    expect((await jail.run('cat log')).output).toBe('start1\nend1\nstart2\nend2\nstart3\nend3\n');
  });

  test('a killed supervisor is replaced for the next command', async () => {
    const { ws } = fixture();
    const jail = await start(ws);
    const before = jail.hostPids.pidNamespace;
    const r = await jail.run('kill -9 2; sleep 5');
    expect(r.output).toContain('jail ended');
    const next = await jail.run('echo again');
    expect(next.output).toContain('again\n');
    expect(next.output).toContain('restarted');
    expect(jail.hostPids.pidNamespace).not.toBe(before);
    expect(processesInNamespace(before!)).toEqual([]);
  });
});

describe('limits', () => {
  test('a fork bomb is contained and the next command works', async () => {
    const { ws } = fixture();
    const jail = await start(ws, { limits: { processes: 64 } });
    const ns = jail.hostPids.pidNamespace!;
    let peak = 0;
    const bomb = await jail.run(':(){ :|:& };:', { timeoutMs: 5000 });
    expect(bomb.timedOut || bomb.exitCode !== null).toBe(true);
    // The bomb goes on in the background (it ignores the hangup like any background job): watch it
    // hit the ceiling while icode's event loop keeps running.
    expect(
      await eventually(() => {
        peak = Math.max(peak, processesInNamespace(ns).length);
        return peak > 10;
      }, 10_000, 20),
    ).toBe(true);
    const next = await jail.run('echo alive', { timeoutMs: 30_000 });
    expect(next.output.startsWith('alive\n')).toBe(true);
    expect(next.output).toMatch(/process limit|could not be started/);
    expect(next.exitCode).toBe(0);
    // RLIMIT_NPROC for a regular user; as root the jail's own pid_max (limit + 301).
    const cap = process.getuid?.() === 0 ? 64 + 301 : 64 + 2;
    expect(peak).toBeGreaterThan(10);
    expect(peak).toBeLessThanOrEqual(cap);
    expect(processesInNamespace(ns).length).toBeLessThan(8);
  });

  test('file size, memory and CPU limits apply to commands', async () => {
    const { ws } = fixture();
    const jail = await start(ws, { limits: { fileSizeBytes: 1024 * 1024, memoryBytes: 512 * 1024 * 1024, cpuSeconds: 1 } });
    const f = await jail.run('head -c 2000000 /dev/zero > big; echo "rc=$?"; stat -c %s big');
    expect(f.output).toMatch(/rc=(153|1)\n1048576\n/);
    const m = await jail.run('python3 -c "x = bytearray(1024*1024*1024)" 2>&1 | tail -1');
    expect(m.output).toContain('MemoryError');
    const c = await jail.run('timeout 20 sh -c "while :; do :; done"; echo "rc=$?"', { timeoutMs: 30_000 });
    expect(c.output).toMatch(/rc=(137|152)/);
  });

  test('tmpfs /tmp is size-limited', async () => {
    const { ws } = fixture();
    const jail = await start(ws, { limits: { tmpBytes: 4 * 1024 * 1024 } });
    const r = await jail.run('head -c 8000000 /dev/zero > /tmp/big; echo "rc=$?"');
    expect(r.output).toMatch(/No space left on device[\s\S]*rc=1/);
  });
});

describe('icode itself', () => {
  const harness = buildHarness();

  test('a bwrap planted first on PATH and in the workspace is not the one used', async () => {
    const { dir, ws } = fixture();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const marker = join(dir, 'fake-bwrap-ran');
    const fake = `#!/bin/sh\ntouch ${marker}\nexec /usr/bin/bwrap "$@"\n`;
    for (const p of [join(bin, 'bwrap'), join(ws, 'bwrap')]) {
      writeFileSync(p, fake);
      chmodSync(p, 0o755);
    }
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${ws}:.:${oldPath}`;
    const oldCwd = process.cwd();
    process.chdir(ws);
    resetProbeCache();
    try {
      const jail = await start(ws);
      expect((await jail.run('echo ok')).output).toBe('ok\n');
      expect(readlinkSync(`/proc/${jail.hostPids.root}/exe`)).toBe('/usr/bin/bwrap');
    } finally {
      process.env.PATH = oldPath;
      process.chdir(oldCwd);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('the jail dies with icode (kill -9 of the icode process)', async () => {
    const { ws } = fixture();
    const script = join(harness, 'die.mjs');
    writeFileSync(
      script,
      `import { ShellJail } from './sandbox/jail/index.js';
const jail = await ShellJail.start({ workspace: ${JSON.stringify(ws)}, network: false });
await jail.run('nohup sleep 1000 >/dev/null 2>&1 &');
process.stdout.write(jail.hostPids.pidNamespace + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const ns = await new Promise<string>((resolve) => child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim())));
      expect(ns).toMatch(/^pid:\[\d+\]$/);
      expect(await eventually(() => sleepers(ns, '1000').length === 1)).toBe(true);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      // Until it is reaped the killed process is a zombie whose pid still exists: the next jail would
      // take its runtime directory for a live one's.
      await exited;
      expect(await eventually(() => processesInNamespace(ns).length === 0, 10_000)).toBe(true);
      // Its runtime directory is left behind; the next jail started anywhere removes it.
      const leftover = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`icode-jail-rt-${child.pid}-`));
      expect(leftover().length).toBe(1);
      await start(ws);
      expect(leftover()).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
