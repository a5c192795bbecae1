/** Opt-ins (network, mode 'none'), input validation and fail-closed start-up. */
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JailError, probeJail, ShellJail } from '../../sandbox/jail/index.js';
import { eventually, fixture, processesInNamespace } from './helpers.js';

describe('network opt-in', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => s.end('HELLO-FROM-HOST\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("with network: true the host's loopback is reachable (--share-net)", async () => {
    const { ws } = fixture();
    const jail = await ShellJail.start({ workspace: ws, network: true });
    try {
      const r = await jail.run(`exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`, { timeoutMs: 10_000 });
      expect(r.output).toBe('HELLO-FROM-HOST\n');
      // Still jailed otherwise.
      expect((await jail.run('cat /etc/shadow; echo rc=$?')).output).toContain('rc=1');
    } finally {
      await jail.close();
    }
  });
});

describe("mode 'none' (explicit weaker mode)", () => {
  const SECRET = 'none-mode-secret-' + Math.random().toString(36).slice(2);
  let jail: ShellJail;
  const fx = fixture();
  beforeAll(async () => {
    process.env.ICODE_TEST_SECRET = SECRET;
    jail = await ShellJail.start({ workspace: fx.ws, network: false, mode: 'none', env: { GREETING: 'hi' }, limits: { memoryBytes: 256 * 1024 * 1024 } });
  });
  afterAll(async () => {
    await jail?.close();
    delete process.env.ICODE_TEST_SECRET;
  });

  test('is reported as such', () => {
    expect(jail.mode).toBe('none');
  });

  test('still a pty, the allowlisted environment and the limits', async () => {
    const r = await jail.run('[ -t 1 ] && echo tty; pwd; echo "$GREETING"; env | grep -c ICODE_TEST_SECRET; ulimit -v');
    expect(r.output).toBe(`tty\n${fx.ws}\nhi\n0\n262144\n`);
  });

  test('without privileges: no capabilities as root, no_new_privs', async () => {
    const r = await jail.run("grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -d '\\t'");
    expect(r.output).toEqual(process.getuid?.() === 0 ? 'CapEff:0000000000000000\nCapBnd:0000000000000000\nNoNewPrivs:1\n' : expect.stringContaining('NoNewPrivs:1'));
  });

  test('the timeout kills what the command started', async () => {
    const r = await jail.run('sleep 1003 & sleep 1003', { timeoutMs: 800 });
    expect(r.timedOut).toBe(true);
    const { execFileSync } = await import('node:child_process');
    const left = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('sleep 1003'));
    expect(await eventually(() => left().length === 0)).toBe(true);
  });
});

describe('validation and fail-closed start', () => {
  test('the probe succeeds on this host', () => {
    expect(probeJail()).toEqual({ ok: true });
  });

  test('workspaces that would expose the system or the home directory are refused', async () => {
    for (const ws of ['/', '/tmp', '/usr', '/etc', homedir(), 'relative/path', '/proc/self']) {
      await expect(ShellJail.start({ workspace: ws, network: false }), ws).rejects.toThrow(JailError);
    }
  });

  test('environment names that load code are refused', async () => {
    const { ws } = fixture();
    for (const name of ['LD_PRELOAD', 'BASH_ENV', 'ENV', 'BASH_FUNC_x%%', 'PATH', 'NODE_OPTIONS', 'bad-name', 'ICODE_X']) {
      await expect(ShellJail.start({ workspace: ws, network: false, env: { [name]: 'x' } }), name).rejects.toThrow(JailError);
    }
  });

  test('bad run options are refused without running anything', async () => {
    const { ws } = fixture();
    const jail = await ShellJail.start({ workspace: ws, network: false });
    try {
      await expect(jail.run('true', { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
      await expect(jail.run('echo a\0b')).rejects.toThrow(/NUL/);
      expect(processesInNamespace(jail.hostPids.pidNamespace!).length).toBe(2);
    } finally {
      await jail.close();
    }
  });
});
