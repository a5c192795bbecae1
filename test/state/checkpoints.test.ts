/** The shadow-git checkpoint store: trees, cost of an unchanged workspace, ignores, large files, path mode, restore safety. */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { RestoreRefused } from '../../engine/state/restore.js';
import { ToolRegistry } from '../../engine/tools/registry.js';
import { git } from '../../engine/state/shadow-git.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-cp-');
let n = 0;
let ws: string;
let base: string;
let cs: CheckpointStore;

beforeEach(async () => {
  n++;
  ws = join(root, `ws${n}`);
  base = join(root, `state${n}`, 'checkpoints');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'a\n');
  cs = await CheckpointStore.open(ws, { baseDir: base, maxFileBytes: 1024 });
});
afterEach(() => cs.close());

async function objectCount(): Promise<number> {
  const r = await git(cs.git, ['count-objects', '-v']);
  const m = /^count: (\d+)$/m.exec(r.stdout.toString()) ?? ['', '0'];
  const p = /^in-pack: (\d+)$/m.exec(r.stdout.toString()) ?? ['', '0'];
  return Number(m[1]) + Number(p[1]);
}

describe('CheckpointStore', () => {
  it('lives outside the workspace, writes nothing into it, and records changes, creations and deletions', async () => {
    const c1 = await cs.take({ sessionId: 's', kind: 'start' });
    expect(readdirSync(ws)).toEqual(['a.txt']);
    expect(cs.dir.startsWith(ws)).toBe(false);
    writeFileSync(join(ws, 'a.txt'), 'A\n');
    mkdirSync(join(ws, 'd'));
    writeFileSync(join(ws, 'd', 'b.txt'), 'b\n');
    const c2 = await cs.take({ sessionId: 's', kind: 'call', callId: 'c1', auditId: 7, tool: 'shell' });
    rmSync(join(ws, 'd', 'b.txt'));
    const c3 = await cs.take({ sessionId: 's', kind: 'turn_end' });
    expect(await cs.changes(c1.tree, c2.tree)).toEqual([
      { status: 'M', path: 'a.txt' },
      { status: 'A', path: 'd/b.txt' },
    ]);
    expect(await cs.changes(c2.tree, c3.tree)).toEqual([{ status: 'D', path: 'd/b.txt' }]);
    expect(c2).toMatchObject({ callId: 'c1', auditId: 7, tool: 'shell', kind: 'call' });
    expect(cs.list(['s']).map((c) => c.id)).toEqual([c1.id, c2.id, c3.id]);
  });

  it('an unchanged workspace gives the same tree and costs no new object', async () => {
    const c1 = await cs.take({ sessionId: 's', kind: 'start' });
    const before = await objectCount();
    const c2 = await cs.take({ sessionId: 's', kind: 'call' });
    const c3 = await cs.take({ sessionId: 's', kind: 'turn_end' });
    expect(c2.tree).toBe(c1.tree);
    expect(c3.tree).toBe(c1.tree);
    expect(await objectCount()).toBe(before);
    writeFileSync(join(ws, 'a.txt'), 'changed\n');
    await cs.take({ sessionId: 's', kind: 'call' });
    expect(await objectCount()).toBeGreaterThan(before);
  });

  it('skips .gitignored paths and the protected ones; lists files over the size limit as not restorable', async () => {
    writeFileSync(join(ws, '.gitignore'), 'build/\n');
    mkdirSync(join(ws, 'build'));
    writeFileSync(join(ws, 'build', 'out.js'), 'x');
    mkdirSync(join(ws, '.icode'));
    writeFileSync(join(ws, '.icode', 'secret'), 'x');
    writeFileSync(join(ws, 'big.bin'), Buffer.alloc(4096, 1));
    const c = await cs.take({ sessionId: 's', kind: 'start' });
    const files = (await cs.changes(null, c.tree)).map((f) => f.path);
    expect(files).toEqual(['.gitignore', 'a.txt']);
    expect(c.notRestorable).toEqual([{ path: 'big.bin', reason: 'larger than 1024 bytes', bytes: 4096 }]);
  });

  it('includeIgnored records ignored paths too', async () => {
    cs.close();
    writeFileSync(join(ws, '.gitignore'), 'build/\n');
    mkdirSync(join(ws, 'build'));
    writeFileSync(join(ws, 'build', 'out.js'), 'x');
    cs = await CheckpointStore.open(ws, { baseDir: base + '-all', includeIgnored: true });
    const c = await cs.take({ sessionId: 's', kind: 'start' });
    expect((await cs.changes(null, c.tree)).map((f) => f.path)).toEqual(['.gitignore', 'a.txt', 'build/out.js']);
  });

  it('with a change set, only those paths are re-hashed', async () => {
    const c1 = await cs.take({ sessionId: 's', kind: 'start' });
    writeFileSync(join(ws, 'x.txt'), 'x');
    writeFileSync(join(ws, 'y.txt'), 'y');
    const c2 = await cs.take({ sessionId: 's', kind: 'call', paths: ['x.txt', join(ws, 'a.txt'), '../escape'] });
    expect(await cs.changes(c1.tree, c2.tree)).toEqual([{ status: 'A', path: 'x.txt' }]);
    const c3 = await cs.take({ sessionId: 's', kind: 'call' });
    expect(await cs.changes(c2.tree, c3.tree)).toEqual([{ status: 'A', path: 'y.txt' }]);
  });

  it('restores a tree exactly (content, modes, symlinks, deletions, empty directories)', async () => {
    mkdirSync(join(ws, 'd', 'e'), { recursive: true });
    writeFileSync(join(ws, 'd', 'e', 'f.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('a.txt', join(ws, 'link'));
    const c1 = await cs.take({ sessionId: 's', kind: 'call' });
    rmSync(join(ws, 'd'), { recursive: true });
    rmSync(join(ws, 'link'));
    writeFileSync(join(ws, 'link'), 'now a file');
    writeFileSync(join(ws, 'new.txt'), 'new');
    writeFileSync(join(ws, 'a.txt'), 'changed');
    const r = await cs.restore(c1.tree, { sessionId: 's' });
    expect(r.restored.sort()).toEqual(['a.txt', 'd/e/f.sh', 'link', 'new.txt']);
    expect(await cs.snapshot()).toBe(c1.tree);
    expect(existsSync(join(ws, 'new.txt'))).toBe(false);
    expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('a\n');
    // and back again, through the undo checkpoint
    await cs.restore(r.before.tree, { sessionId: 's' });
    expect(await cs.snapshot()).toBe(r.before.tree);
    expect(cs.pendingRestore).toBe(false);
  });

  it('never writes through a symlinked directory: the restore is refused and nothing changes', async () => {
    const outside = join(root, `outside${n}`);
    mkdirSync(outside);
    mkdirSync(join(ws, 'sub'));
    writeFileSync(join(ws, 'sub', 'x.txt'), 'x');
    const c1 = await cs.take({ sessionId: 's', kind: 'call' });
    rmSync(join(ws, 'sub'), { recursive: true });
    symlinkSync(outside, join(ws, 'sub'));
    writeFileSync(join(ws, 'a.txt'), 'changed');
    const now = await cs.snapshot();
    // the symlink itself is kept (not the session's), so sub/x.txt would have to go through it
    await expect(cs.restore(c1.tree, { sessionId: 's', filter: (p) => p !== 'sub' })).rejects.toBeInstanceOf(RestoreRefused);
    expect(readdirSync(outside)).toEqual([]);
    expect(await cs.snapshot()).toBe(now);
    expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('changed');
    expect(cs.pendingRestore).toBe(false);
  });

  it("checkpoints every call that may change the workspace: the registry's mutates flag is the one source", () => {
    const registry = new ToolRegistry();
    const mutates = (tool: string) => registry.get(tool)?.mutates;
    for (const t of ['read', 'glob', 'grep', 'list', 'todo_write', 'web_fetch']) expect(mutates(t), t).toBe(false);
    for (const t of ['write', 'edit', 'shell']) expect(mutates(t), t).toBe(true);
    // Aliases resolve to the same definition.
    expect(mutates('Write')).toBe(true);
    expect(mutates('Read')).toBe(false);
  });
});
