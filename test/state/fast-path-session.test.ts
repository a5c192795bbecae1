/**
 * Change sets through the real pipeline: a real bwrap jail whose change gate reports what each shell
 * command changed (a background child's write included), the fs worker pool for write/edit, a real
 * SQLite session store. Every checkpoint before a call is taken on the paths-only fast path and must
 * equal what `git add -A && git write-tree` (a scratch repository) made of the workspace at that
 * moment; restoring each one must give that tree back. Unknown change sets fall back to a full scan.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStore } from '../../engine/agent/sessions.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { SessionCheckpointer } from '../../engine/state/checkpointer.js';
import { ToolRegistry } from '../../engine/tools/registry.js';
import { git, type ShadowGitPaths } from '../../engine/state/shadow-git.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-cp-fast-');
const ws = join(root, 'ws');
const scratch: ShadowGitPaths = { gitDir: join(root, 'scratch.git'), workTree: ws, home: join(root, 'home') };
let store: SessionStore;
let cp: SessionCheckpointer;
let pipeline: Pipeline;
const SESSION = 'fast-path';

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(scratch.home, { recursive: true });
  writeFileSync(join(ws, 'README'), 'readme\n');
  writeFileSync(join(ws, '.gitignore'), 'node_modules/\n');
  await git(scratch, ['init', '-q', '--template=', scratch.gitDir]);
  mkdirSync(join(scratch.gitDir, 'info'), { recursive: true });
  writeFileSync(join(scratch.gitDir, 'info', 'exclude'), '.git\n/.icode/\n.icode-restore-*\n');
  store = SessionStore.open(join(root, 'state', 'sessions.db'));
  cp = await SessionCheckpointer.open(ws, store, { baseDir: join(root, 'state', 'checkpoints') });
  pipeline = await createPipeline({ workspace: ws, policy: 'builtin:workspace-write', audit: join(root, 'state', 'audit.db'), ask: 'allow', session: SESSION, checkpoints: cp });
});
afterAll(async () => {
  await pipeline?.close();
  cp?.close();
  store?.close();
});

async function gitTree(): Promise<string> {
  await git(scratch, ['add', '-A']);
  return (await git(scratch, ['write-tree'])).stdout.toString().trim();
}

describe('checkpoints fed by change sets', () => {
  it('each checkpoint before a call takes the fast path and equals the real workspace tree; each restores exactly', async () => {
    await cp.start(SESSION);
    expect(cp.store.lastTakeMode).toBe('scan');
    let before = await gitTree();
    const taken: Array<{ tree: string; expected: string; call: string }> = [];
    const call = async (id: string, tool: string, input: Record<string, unknown>) => {
      const r = await pipeline.call({ tool, input, callId: id, session: SESSION });
      expect(r.status, `${id}: ${r.output ?? ''}`).toBe('ok');
      const list = cp.store.list([SESSION]);
      const last = list[list.length - 1]!;
      expect(last.callId).toBe(id);
      expect(cp.store.lastTakeMode, id).toBe('paths');
      expect(last.tree, id).toBe(before);
      taken.push({ tree: last.tree, expected: before, call: id });
      before = await gitTree();
    };
    await call('s1', 'shell', { command: "mkdir -p src/deep && echo one > src/a.txt && echo x > gone.txt && echo d > src/deep/d.txt && ln -s src/a.txt link && printf '#!/bin/sh\\n' > run.sh" });
    await call('w1', 'write', { path: 'w.txt', content: 'w\n' });
    await call('s2', 'shell', { command: 'chmod +x run.sh && mv src/a.txt src/b.txt && rm gone.txt && mkdir -p node_modules/x && echo i > node_modules/x/i.js' });
    await call('s3', 'shell', { command: '(while [ ! -f go ]; do sleep 0.02; done; echo late > bg.txt) >/dev/null 2>&1 &' });
    // the background child writes bg.txt while this command runs: the gate applies and reports it here
    await call('s4', 'shell', { command: 'touch go; while [ ! -f bg.txt ]; do sleep 0.02; done; rm go' });
    expect(readFileSync(join(ws, 'bg.txt'), 'utf8')).toBe('late\n');
    await call('e1', 'edit', { path: 'w.txt', old_string: 'w', new_string: 'W' });
    await call('s5', 'shell', { command: 'rm -rf src/deep && ln -sfn run.sh link && echo t > src/deep' });
    await call('s6', 'shell', { command: 'true' });
    const end = await cp.turnEnd(SESSION);
    expect(cp.store.lastTakeMode).toBe('paths');
    expect(end.tree).toBe(before);
    taken.push({ tree: end.tree, expected: before, call: 'turn_end' });

    // A new turn: the user may have edited files meanwhile, so the first checkpoint scans.
    writeFileSync(join(ws, 'README'), 'edited by the user\n');
    const user = await gitTree();
    const r = await pipeline.call({ tool: 'shell', input: { command: 'echo next > next.txt' }, callId: 's7', session: SESSION });
    expect(r.status).toBe('ok');
    expect(cp.store.lastTakeMode).toBe('scan');
    const list = cp.store.list([SESSION]);
    expect(list[list.length - 1]!.tree).toBe(user);

    // Every checkpoint restores to exactly the workspace of its moment.
    for (const t of taken) {
      await cp.store.restore(t.tree, { sessionId: SESSION });
      expect(await cp.store.snapshot(), t.call).toBe(t.expected);
      expect(await gitTree(), t.call).toBe(t.expected);
    }
  }, 120_000);

  it('an unknown change set (a call without one, calls that overlap) makes the next checkpoint a full scan', async () => {
    const registry = new ToolRegistry();
    // What the pipeline passes: the registry definition's flag (an MCP tool here: a writable server's).
    const info = (callId: string, tool: string, kind: string) => ({ session: SESSION, callId, tool, kind, auditId: 1, mutates: registry.get(tool)?.mutates ?? true });
    await cp.start(SESSION);
    await cp.beforeCall(info('k1', 'write', 'fs'));
    cp.afterCall(info('k1', 'write', 'fs'), { ok: true }); // no path given: unknown
    await cp.beforeCall(info('k2', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('scan');
    cp.afterCall(info('k2', 'shell', 'shell'), { ok: true, changes: [] });
    await cp.beforeCall(info('k3', 'mcp__srv__do', 'mcp'));
    expect(cp.store.lastTakeMode).toBe('paths');
    cp.afterCall(info('k3', 'mcp__srv__do', 'mcp'), { ok: true }); // an MCP tool reports nothing
    await cp.beforeCall(info('k5', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('scan');
    // k5 still running when k6 is checkpointed: both unknown
    await cp.beforeCall(info('k6', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('scan');
    cp.afterCall(info('k5', 'shell', 'shell'), { ok: true, changes: [] });
    cp.afterCall(info('k6', 'shell', 'shell'), { ok: true, changes: [] });
    await cp.beforeCall(info('k7', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('scan');
    cp.afterCall(info('k7', 'shell', 'shell'), { ok: true, changes: [] });
    // a guarded agent's own tool run (outside the pipeline)
    cp.afterCall(info('k8', 'Write', 'fs'), null);
    await cp.beforeCall(info('k9', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('scan');
    cp.afterCall(info('k9', 'shell', 'shell'), { ok: true, changes: [] });
    // a read-only call in between keeps the set
    cp.afterCall(info('k10', 'read', 'fs'), { ok: true });
    await cp.beforeCall(info('k11', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('paths');
    cp.afterCall(info('k11', 'shell', 'shell'), { ok: true, changes: [] });
    // a shell command without a change gate (jail mode none) may leave background processes that
    // write at any time: from then on every checkpoint scans
    await cp.beforeCall(info('k12', 'shell', 'shell'));
    expect(cp.store.lastTakeMode).toBe('paths');
    cp.afterCall(info('k12', 'shell', 'shell'), { ok: true });
    for (const id of ['k13', 'k14']) {
      await cp.beforeCall(info(id, 'shell', 'shell'));
      expect(cp.store.lastTakeMode, id).toBe('scan');
      cp.afterCall(info(id, 'shell', 'shell'), { ok: true, changes: [] });
    }
    await cp.turnEnd(SESSION);
    expect(cp.store.lastTakeMode).toBe('scan');
  });

  it('a command hook that writes files makes the next checkpoint scan (its changes are in no change set of a call)', async () => {
    const ws2 = join(root, 'ws2');
    mkdirSync(ws2, { recursive: true });
    writeFileSync(join(ws2, 'README'), 'r\n');
    const scratch2: ShadowGitPaths = { gitDir: join(root, 'scratch2.git'), workTree: ws2, home: scratch.home };
    await git(scratch2, ['init', '-q', '--template=', scratch2.gitDir]);
    mkdirSync(join(scratch2.gitDir, 'info'), { recursive: true });
    writeFileSync(join(scratch2.gitDir, 'info', 'exclude'), '.git\n/.icode/\n.icode-restore-*\n');
    const policy = join(root, 'hook-policy.yaml');
    writeFileSync(policy, ['version: 1', 'extends: builtin:workspace-write', 'hooks:', '  post_tool:', '    - match: {tool: write}', '      command: ["sh", "-c", "cat >/dev/null; echo formatted >> fmt.txt"]', ''].join('\n'));
    const cp2 = await SessionCheckpointer.open(ws2, store, { baseDir: join(root, 'state2', 'checkpoints') });
    const p2 = await createPipeline({ workspace: ws2, policy, audit: join(root, 'state2', 'audit.db'), ask: 'allow', session: 'hooked', checkpoints: cp2 });
    try {
      await cp2.start('hooked');
      const w = await p2.call({ tool: 'write', input: { path: 'a.txt', content: 'a\n' }, callId: 'h1', session: 'hooked' });
      expect(w.status, w.output ?? '').toBe('ok');
      expect(readFileSync(join(ws2, 'fmt.txt'), 'utf8')).toBe('formatted\n');
      await git(scratch2, ['add', '-A']);
      const expected = (await git(scratch2, ['write-tree'])).stdout.toString().trim();
      const r = await p2.call({ tool: 'shell', input: { command: 'true' }, callId: 'h2', session: 'hooked' });
      expect(r.status, r.output ?? '').toBe('ok');
      expect(cp2.store.lastTakeMode).toBe('scan');
      const list = cp2.store.list(['hooked']);
      expect(list[list.length - 1]!.tree).toBe(expected);
    } finally {
      await p2.close();
      cp2.close();
    }
  }, 120_000);
});
