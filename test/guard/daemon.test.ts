/**
 * The guard daemon behind the hook command: the real binary (client), the real daemon it starts, a
 * real unix socket and SQLite audit log. Asserts: the socket is private (0600 in a 0700 directory);
 * the daemon answers like the cold path and has committed the row when it answers; a policy change
 * applies to the next event; a misbehaving or silent "daemon" on the socket, or a runtime directory
 * that is not private, never changes an answer (the client answers cold, never fails open).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { auditKeyPath, loadAuditKey } from '../../engine/audit/key.js';
import { icode, icodeAsync } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';
import { packageRoot } from '../../policies/package-root.js';

const POLICY = fileURLToPath(new URL('./fixtures/guard-policy.yaml', import.meta.url));
/** The socket module as the built client uses it (its key includes the build it is part of). */
const socketModule = async (): Promise<typeof import('../../engine/guard/daemon-socket.js')> => import(join(packageRoot(), 'dist/engine/guard/daemon-socket.js'));

const base = tempDir('icode-guard-daemon-');
const pidsOf = (dir: string): number[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())) : []);
/** Daemons the tests caused, stopped by pid at the end (they would also exit once their socket is gone). */
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
});

function setup(name: string) {
  const root = join(base, name);
  const ws = join(root, 'ws');
  const run = join(root, 'run');
  mkdirSync(ws, { recursive: true });
  mkdirSync(run, { mode: 0o700 });
  const env = { XDG_RUNTIME_DIR: run, XDG_STATE_HOME: join(root, 'state'), ICODE_POLICY: '' };
  const db = join(root, 'state', 'icode', 'audit.db');
  return { ws, run, sockets: join(run, 'icode'), env, db };
}

const pre = (ws: string, command: string, id: string) =>
  JSON.stringify({ session_id: 'dm-1', transcript_path: '/x', cwd: ws, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command }, tool_use_id: id });
const decisionOf = (stdout: string): string => (JSON.parse(stdout) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision;
const rows = (db: string) => {
  const log = AuditLog.open(db, { readonly: true });
  try {
    return log.list({ kind: 'decision' });
  } finally {
    log.close();
  }
};

const runAsync = (args: string[], input: string, cwd: string, env: NodeJS.ProcessEnv) => icodeAsync(args, { input, cwd, env });

/** One request straight to the daemon's socket, as the client sends it. */
function askSocket(path: string, body: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(path);
    let out = '';
    c.on('data', (b) => (out += b));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end(JSON.stringify(body));
  });
}

describe('the hook client', () => {
  it('answers only the hook invocation it understands; anything else goes to the full command parser', async () => {
    const { parseHookArgs } = await import('../../engine/guard/client.js');
    const argv = (...a: string[]) => ['node', 'icode', ...a];
    expect(parseHookArgs(argv('guard', 'claude-code'))).toEqual({ agent: 'claude-code' });
    expect(parseHookArgs(argv('guard', 'gemini-cli', '--policy', 'p.yaml', '--audit=/a.db', '--otel'))).toEqual({ agent: 'gemini-cli', policy: 'p.yaml', audit: '/a.db', otel: true });
    for (const bad of [['guard', 'claude-code', '--help'], ['guard', 'claude-code', '--policy'], ['guard', 'claude-code', '--policy', '--otel'], ['guard', 'claude-code', '--bogus'], ['guard', 'install', 'claude-code'], ['guard', 'claude-code', 'extra']]) {
      expect(parseHookArgs(argv(...bad))).toBeNull();
    }
  });
});

describe('guard daemon', () => {
  it('is started by the first hook call, listens on a 0600 socket in a 0700 directory, answers with the row committed, and reloads a changed policy', async () => {
    const s = setup('main');
    const first = icode(['guard', 'claude-code'], { input: pre(s.ws, 'ls -la', 'toolu_d1'), env: s.env, cwd: s.ws });
    expect(first.code).toBe(0);
    expect(decisionOf(first.stdout)).toBe('allow');
    expect(await eventually(() => pidsOf(s.sockets).length === 1, 60_000)).toBe(true);
    started.push(...pidsOf(s.sockets).filter((p) => p > 1));
    const sock = readdirSync(s.sockets).find((f) => f.endsWith('.sock'))!;
    expect(statSync(s.sockets).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.sockets, sock)).mode & 0o777).toBe(0o600);
    const { daemonSocketPath, GUARD_PROTOCOL } = await socketModule();
    expect(daemonSocketPath({ ...process.env, ...s.env })).toBe(join(s.sockets, sock));

    // Straight to the daemon: the row is in the log when the answer arrives.
    const reply = JSON.parse(await askSocket(join(s.sockets, sock), { v: GUARD_PROTOCOL, agent: 'claude-code', text: pre(s.ws, 'rm -rf /', 'toolu_d2'), cwd: s.ws, policy: POLICY }));
    expect(decisionOf(reply.stdout)).toBe('deny');
    expect(rows(s.db).map((r) => [r.callId, r.decision])).toEqual([['toolu_d1', 'allow'], ['toolu_d2', 'deny']]);
    // A malformed event through the daemon: denied, fail closed.
    const bad = JSON.parse(await askSocket(join(s.sockets, sock), { v: GUARD_PROTOCOL, agent: 'claude-code', text: '{"hook_event_name":"PreToolUse"', cwd: s.ws }));
    expect(decisionOf(bad.stdout)).toBe('deny');
    // Not a guard request: an error object, which the client never prints (it answers cold).
    expect(JSON.parse(await askSocket(join(s.sockets, sock), { v: 99 }))).toHaveProperty('error');

    // The project's policy appears, then changes: each next event is decided by the file as it is now.
    mkdirSync(join(s.ws, '.icode'));
    const policyFile = join(s.ws, '.icode', 'policy.yaml');
    writeFileSync(policyFile, 'version: 1\nname: p1\nextends: builtin:readonly\ndefault: ask\nrules:\n  - id: p1.no-ls\n    decision: deny\n    reason: no ls here\n    command: [ls **]\n');
    const second = icode(['guard', 'claude-code'], { input: pre(s.ws, 'ls -la', 'toolu_d3'), env: s.env, cwd: s.ws });
    expect(decisionOf(second.stdout)).toBe('deny');
    expect(second.stdout).toMatch(/p1\.no-ls/);
    writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('decision: deny', 'decision: ask').replace('p1.no-ls', 'p1.ls-asks'));
    const third = icode(['guard', 'claude-code'], { input: pre(s.ws, 'ls -la', 'toolu_d4'), env: s.env, cwd: s.ws });
    expect(decisionOf(third.stdout)).toBe('ask');
    expect(third.stdout).toMatch(/p1\.ls-asks/);
    // A policy that stops loading denies (never the last good one).
    writeFileSync(policyFile, 'version: 1\nrules: [ {{{\n');
    const fourth = icode(['guard', 'claude-code'], { input: pre(s.ws, 'ls -la', 'toolu_d5'), env: s.env, cwd: s.ws });
    expect(decisionOf(fourth.stdout)).toBe('deny');
    expect(rows(s.db).slice(3).map((r) => [r.callId, r.decision])).toEqual([['toolu_d3', 'deny'], ['toolu_d4', 'ask'], ['toolu_d5', 'deny']]);
    // Verified with the key the hook processes used (the one of their XDG_STATE_HOME).
    const log = AuditLog.open(s.db, { readonly: true, key: loadAuditKey(auditKeyPath({ ...process.env, ...s.env })) });
    expect(log.verify()).toMatchObject({ ok: true });
    log.close();
  });

  // The fake daemon lives in this process: the hook runs as an async child so the fake can answer.
  // A client that waited for its timeout instead of refusing the answer would hang here (the reply
  // timeout is set far beyond the test's), except in the case that is about the timeout.
  it.each([
    ['answers garbage', (c: import('node:net').Socket) => c.end('not json'), '600000'],
    ['answers an allow of the wrong shape', (c: import('node:net').Socket) => c.end(JSON.stringify({ stdout: '', stderr: '', exitCode: 0, allow: true })), '600000'],
    ['closes without a word', (c: import('node:net').Socket) => c.destroy(), '600000'],
    ['never answers', () => {}, '500'],
  ])('a "daemon" that %s never decides: the client answers cold (deny of rm -rf /, recorded)', async (_what, behave, timeoutMs) => {
    const s = setup(`fake-${_what.replace(/\W+/g, '-')}`);
    const { daemonSocketPath } = await socketModule();
    const path = daemonSocketPath({ ...process.env, ...s.env })!;
    const server: Server = createServer({ allowHalfOpen: true }, (c) => c.on('data', () => {}).on('end', () => behave(c)));
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const r = await runAsync(['guard', 'claude-code', '--policy', POLICY], pre(s.ws, 'rm -rf /', 'toolu_f1'), s.ws, { ...s.env, ICODE_GUARD_DAEMON_TIMEOUT_MS: timeoutMs });
      expect(r.code).toBe(0);
      expect(decisionOf(r.stdout)).toBe('deny');
      expect(rows(s.db).map((x) => [x.callId, x.decision])).toEqual([['toolu_f1', 'deny']]);
    } finally {
      server.closeAllConnections?.();
      server.close();
    }
  }, 120_000);

  it('a runtime directory others can enter is not used: no socket, the cold path answers', async () => {
    const s = setup('loose');
    mkdirSync(s.sockets, { mode: 0o755 });
    chmodSync(s.sockets, 0o755);
    const { daemonSocketPath } = await socketModule();
    expect(daemonSocketPath({ ...process.env, ...s.env })).toBeNull();
    const r = icode(['guard', 'claude-code', '--policy', POLICY], { input: pre(s.ws, 'rm -rf /', 'toolu_l1'), env: s.env, cwd: s.ws });
    expect(decisionOf(r.stdout)).toBe('deny');
    expect(readdirSync(s.sockets)).toEqual([]);
  });
});
