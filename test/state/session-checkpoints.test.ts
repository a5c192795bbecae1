/**
 * Checkpoints of real agent sessions: the script provider through the real loop, pipeline, fs worker
 * pool and shell jail; shell commands create, modify, delete and rename files (one from a background
 * child), edits change files, the user changes a file between runs. Every checkpoint is reverted to
 * and compared with its recorded tree; the user's own git repository is never touched.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../cli/commands/run.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { AuditLog } from '../../engine/audit/log.js';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { checkpointBaseDir } from '../../engine/state/checkpointer.js';
import { icodeInProcess } from '../helpers/cli.js';
import { hostGit } from '../helpers/git.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-session-cp-');
const ws = join(root, 'ws');
const home = join(root, 'home');
const db = join(root, 'state', 'sessions.db');
const audit = join(root, 'state', 'audit.db');

const RUN1 = `
model: demo
turns:
  - tool_calls:
      - { id: w1, name: write, input: { path: src/a.txt, content: "one\\n" } }
      - { id: s1, name: shell, input: { command: "echo two > b.txt && mkdir -p d && echo three > d/c.txt" } }
  - tool_calls:
      - { id: e1, name: edit, input: { path: src/a.txt, old_string: one, new_string: ONE } }
      - { id: s2, name: shell, input: { command: "rm b.txt && mv d/c.txt d/renamed.txt && echo more >> tracked.txt" } }
  - text: done
`;

const RUN2 = `
model: demo
turns:
  - tool_calls:
      - { id: s3, name: shell, input: { command: "(while [ ! -f go ]; do sleep 0.02; done; echo late > bg.txt) >/dev/null 2>&1 &" } }
      - { id: s4, name: shell, input: { command: "touch go; while [ ! -f bg.txt ]; do sleep 0.02; done; rm go" } }
      - { id: r1, name: read, input: { path: bg.txt } }
  - text: finished
`;

/** Everything of the user's repository that a checkpoint or a revert could disturb. */
function userGitState(): Record<string, string> {
  const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
  return {
    status: hostGit(['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=all'], ws, home).out,
    stash: hostGit(['stash', 'list'], ws, home).out,
    refs: hostGit(['for-each-ref'], ws, home).out,
    index: sha(join(ws, '.git', 'index')),
    config: sha(join(ws, '.git', 'config')),
  };
}

async function run(script: string, resume?: string): Promise<{ code: number; session: string }> {
  const file = join(root, `script-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, script);
  let out = '';
  const code = await runCommand(
    'go',
    { provider: `script:${file}`, sessionsDb: db, audit, workspace: ws, policy: 'builtin:workspace-write', ask: 'allow', outputFormat: 'json', ...(resume ? { resume } : {}) },
    { env: { HOME: home }, cwd: ws, stdout: (s) => void (out += s), stderr: () => undefined },
  );
  if (code !== 0) throw new Error(`run failed (${code}): ${out}`);
  return { code, session: (JSON.parse(out.trim().split('\n').pop()!) as { session_id: string }).session_id };
}

describe('checkpoints of a scripted session', () => {
  it('records every change (shell, background child, edits), reverts to each checkpoint exactly, and leaves the user repository alone', async () => {
    mkdirSync(ws, { recursive: true });
    mkdirSync(home, { recursive: true });
    hostGit(['init', '-q', '-b', 'main'], ws, home);
    writeFileSync(join(ws, 'tracked.txt'), 'v1\n');
    writeFileSync(join(ws, 'user.txt'), 'mine\n');
    hostGit(['add', '-A'], ws, home);
    hostGit(['commit', '-qm', 'init'], ws, home);
    writeFileSync(join(ws, 'user.txt'), 'stashed\n');
    hostGit(['stash', '-q'], ws, home);
    const gitBefore = userGitState();

    const { session } = await run(RUN1);
    // Between the runs, the user edits a file the session never touches.
    writeFileSync(join(ws, 'user.txt'), 'changed by the user\n');
    await run(RUN2, session);
    expect(readFileSync(join(ws, 'bg.txt'), 'utf8')).toBe('late\n');
    const st = SessionStore.open(db);
    expect(st.toolCalls(session).map((c) => `${c.callId}:${c.status}`)).toEqual(['w1:ok', 's1:ok', 'e1:ok', 's2:ok', 's3:ok', 's4:ok', 'r1:ok']);
    st.close();

    const listed = await icodeInProcess(['sessions', 'checkpoints', session, '--sessions-db', db, '--json']);
    expect(listed.code).toBe(0);
    const cps = JSON.parse(listed.stdout) as Array<{ id: number; kind: string; turn: number; call_id: string | null; tool: string | null; audit_id: number | null; tree: string; files: Array<{ status: string; path: string }> }>;
    // start, 2 calls + end of turn 1, 2 calls + end of turn 2, end of turn 3; run 2: start, 2 shell calls, 2 ends of turn
    expect(cps.map((c) => `${c.kind}:${c.tool ?? ''}`)).toEqual([
      'start:', 'call:write', 'call:shell', 'turn_end:', 'call:edit', 'call:shell', 'turn_end:', 'turn_end:',
      'start:', 'call:shell', 'call:shell', 'turn_end:', 'turn_end:',
    ]);
    const byCall = new Map(cps.filter((c) => c.call_id).map((c) => [c.call_id!, c]));
    expect(byCall.get('s1')!.files).toEqual([{ status: 'A', path: 'src/a.txt' }]);
    expect(cps[3]!.files).toEqual([{ status: 'A', path: 'b.txt' }, { status: 'A', path: 'd/c.txt' }]);
    expect(cps[6]!.files).toEqual([
      { status: 'D', path: 'b.txt' }, { status: 'D', path: 'd/c.txt' }, { status: 'A', path: 'd/renamed.txt' }, { status: 'M', path: 'tracked.txt' },
    ]);
    expect(cps[8]!.files).toEqual([{ status: 'M', path: 'user.txt' }]); // the user's change, seen at the next start
    expect(cps[11]!.files).toEqual([{ status: 'A', path: 'bg.txt' }]); // written by the background child
    expect(cps.every((c) => c.kind !== 'call' || (c.audit_id !== null && c.turn !== null))).toBe(true);

    // Each checkpoint's call id and audit row are the call's own.
    const log = AuditLog.open(audit);
    for (const c of cps.filter((x) => x.call_id)) expect(log.findCall(c.call_id!, session)).toContain(c.audit_id);
    log.close();

    const stateAfterRuns = userGitState();
    const cs = await CheckpointStore.open(ws, { baseDir: checkpointBaseDir(db) });
    try {
      const nowTree = await cs.snapshot();
      for (const cp of cps) {
        const r = await icodeInProcess(['sessions', 'revert', session, '--to', String(cp.id), '--files-only', '--sessions-db', db, '--audit', audit, '--json']);
        expect(r.code, r.stderr).toBe(0);
        const res = JSON.parse(r.stdout) as { kept: string[]; restored: string[] };
        const after = await cs.snapshot();
        // Exactly the checkpoint's tree, except the user's own file when it changed after the checkpoint.
        const userChangedSince = cps.indexOf(cp) < 8;
        expect(res.kept).toEqual(userChangedSince ? ['user.txt'] : []);
        expect((await cs.changes(cp.tree, after)).map((f) => f.path)).toEqual(userChangedSince ? ['user.txt'] : []);
        expect(readFileSync(join(ws, 'user.txt'), 'utf8')).toBe('changed by the user\n');
        // back to where the session ended
        await cs.restore(nowTree, { sessionId: session });
        expect(await cs.snapshot()).toBe(nowTree);
      }
    } finally {
      cs.close();
    }
    expect(userGitState()).toEqual(stateAfterRuns);
    expect(userGitState().stash).toBe(gitBefore.stash);
    expect(userGitState().refs).toBe(gitBefore.refs);
    expect(cs.dir.startsWith(ws)).toBe(false);
    expect(existsSync(join(ws, 'checkpoints'))).toBe(false);

    // revert (files and conversation): a new session forked at the checkpoint's message
    const cp = byCall.get('e1')!;
    const r = await icodeInProcess(['sessions', 'revert', session, '--to', String(cp.id), '--sessions-db', db, '--audit', audit, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { session_id: string; restored: string[] };
    expect(readFileSync(join(ws, 'src/a.txt'), 'utf8')).toBe('one\n');
    const store = SessionStore.open(db);
    const fork = store.getSession(res.session_id);
    expect(fork.parentSessionId).toBe(session);
    const forkHistory = store.history(fork.id);
    expect(forkHistory[forkHistory.length - 1]!.content.some((b) => b.type === 'tool_use' && b.id === 'e1')).toBe(true);
    store.close();
    const events = AuditLog.open(audit);
    const kinds = events.list({ session }).map((row) => (row as { kind: string; name?: string | null }).name);
    events.close();
    expect(kinds).toContain('checkpoint.restore.begin');
    expect(kinds).toContain('checkpoint.restore.done');

    // fork --at N --with-workspace: the files of that point too
    const fw = await icodeInProcess(['sessions', 'fork', session, '--at', '1', '--with-workspace', '--sessions-db', db, '--audit', audit, '--json']);
    expect(fw.code, fw.stderr).toBe(0);
    expect(existsSync(join(ws, 'src/a.txt'))).toBe(false);
    expect(existsSync(join(ws, 'bg.txt'))).toBe(false);
    expect(readFileSync(join(ws, 'tracked.txt'), 'utf8')).toBe('v1\n');

    // diff: session start → now
    const d = await icodeInProcess(['sessions', 'diff', session, '--from', String(cps[0]!.id), '--to', String(cps[7]!.id), '--sessions-db', db]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('+++ b/src/a.txt');
    expect(d.stdout).toContain('+ONE');
  }, 120_000);
});
