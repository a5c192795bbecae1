/**
 * The in-process git objects of the checkpoint store are real git: `git fsck --full --strict` is clean,
 * and a checkpoint's tree is byte-for-byte the tree `git add -A && git write-tree` makes of the same
 * workspace in a scratch repository (same excludes). A checkpoint taken on the paths-only fast path
 * equals that tree too, after every kind of change, and restoring it gives that tree back.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { writtenPaths } from '../../engine/state/checkpointer.js';
import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { hashObject, treeBody, zlibStored } from '../../engine/state/objects.js';
import { git, type ShadowGitPaths } from '../../engine/state/shadow-git.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-cp-objects-');
let n = 0;
let ws: string;
let base: string;
let scratch: ShadowGitPaths;

beforeEach(async () => {
  n++;
  ws = join(root, `ws${n}`);
  base = join(root, `state${n}`);
  mkdirSync(ws, { recursive: true });
  mkdirSync(join(root, `home${n}`));
  scratch = { gitDir: join(root, `scratch${n}.git`), workTree: ws, home: join(root, `home${n}`) };
  await git(scratch, ['init', '-q', '--template=', scratch.gitDir]);
  await git(scratch, ['config', 'core.autocrlf', 'false']);
  mkdirSync(join(scratch.gitDir, 'info'), { recursive: true });
  // the same excludes as the shadow repository
  writeFileSync(join(scratch.gitDir, 'info', 'exclude'), '.git\n/.icode/\n.icode-restore-*\n');
});

/** What git itself makes of the workspace now: `git add -A && git write-tree` in a scratch repository. */
async function gitTree(): Promise<string> {
  await git(scratch, ['add', '-A']);
  return (await git(scratch, ['write-tree'])).stdout.toString().trim();
}

async function catTree(p: ShadowGitPaths, id: string): Promise<string> {
  return (await git(p, ['-c', 'core.quotePath=true', 'cat-file', '-p', id])).stdout.toString();
}

/**
 * `git fsck --full --strict` of the shadow: exit 0, nothing on stderr but the notices of a repository
 * without refs, and `tree` among the objects it checked (checkpoints are unreachable by design).
 */
async function expectFsckClean(p: ShadowGitPaths, tree: string): Promise<void> {
  const fsck = await git(p, ['fsck', '--full', '--strict'], { allowFail: true });
  const problems = fsck.stderr.split('\n').filter((l) => l && !l.startsWith('notice:'));
  expect({ code: fsck.code, problems }).toEqual({ code: 0, problems: [] });
  expect(fsck.stdout.toString()).toContain(`dangling tree ${tree}`);
}

function fillWorkspace(): void {
  const w = (rel: string, text: string | Buffer, mode?: number) => {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), text, mode !== undefined ? { mode } : {});
  };
  // names whose order differs between "as written", UTF-16 and git's (bytewise, directories as "name/")
  w('a.txt', 'a\n');
  w('a-b', 'dash\n');
  w('a.b', 'dot\n');
  w('a0', 'zero\n');
  w('a/x', 'in a\n');
  w('ab/y', 'in ab\n');
  w('é.txt', 'accent\n');
  w('ｆ.txt', 'fullwidth (U+FF46)\n');
  w('😀.txt', 'astral\n');
  w('empty', '');
  w('bin.dat', Buffer.from([0, 1, 2, 255, 254, 0, 10]));
  w('tools/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  w('deep/er/still/deeper/file.md', '# deep\n');
  symlinkSync('a.txt', join(ws, 'link-file'));
  symlinkSync('tools', join(ws, 'link-dir'));
  symlinkSync('does/not/exist', join(ws, 'dangling'));
  mkdirSync(join(ws, 'empty-dir'));
  // ignore rules: root, nested with a negation, an ignored directory, a directory with only ignored files
  w('.gitignore', '*.log\nbuild/\n/only-root.tmp\n');
  w('x.log', 'ignored\n');
  w('build/out.js', 'ignored\n');
  w('only-root.tmp', 'ignored\n');
  w('sub/only-root.tmp', 'not ignored (anchored pattern)\n');
  w('sub/.gitignore', '!keep.log\n');
  w('sub/keep.log', 'kept by the negation\n');
  w('sub/drop.log', 'still ignored\n');
  w('logs/a.log', 'ignored\n');
  // never recorded
  w('.icode/secret', 'x');
}

describe('in-process git objects', () => {
  it('hash and tree encoding match git (empty tree, blob)', () => {
    expect(hashObject('tree', treeBody([])).id).toBe('4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    expect(hashObject('blob', Buffer.from('hello\n')).id).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('stored zlib blocks inflate back (zlib checks the Adler-32 trailer) at block boundaries', () => {
    for (const n of [0, 1, 3800, 3801, 65535, 65536, 200_001]) {
      const raw = n % 2 ? randomBytes(n) : Buffer.alloc(n, 0xff); // 0xff bytes push the Adler sums hardest
      expect(inflateSync(zlibStored(raw)).equals(raw), String(n)).toBe(true);
    }
  });

  it('a full scan writes exactly the tree git add -A && git write-tree writes, and the shadow passes git fsck --full --strict', async () => {
    fillWorkspace();
    const cs = await CheckpointStore.open(ws, { baseDir: base });
    try {
      const cp = await cs.take({ sessionId: 's', kind: 'start' });
      const expected = await gitTree();
      expect(cp.tree).toBe(expected);
      expect(await catTree(cs.git, cp.tree)).toBe(await catTree(scratch, expected));
      const files = (await cs.changes(null, cp.tree)).map((f) => f.path);
      expect(files).toContain('sub/keep.log');
      expect(files).not.toContain('sub/drop.log');
      expect(files).not.toContain('build/out.js');
      expect(files.some((f) => f.startsWith('.icode'))).toBe(false);
      await expectFsckClean(cs.git, cp.tree);
      // a second store on the same state directory (another process): the saved stat cache gives the same tree
      cs.close();
      const again = await CheckpointStore.open(ws, { baseDir: base });
      try {
        expect(await again.snapshot()).toBe(expected);
      } finally {
        again.close();
      }
    } finally {
      cs.close();
    }
  });

  it('paths-only checkpoints equal the real tree after every kind of change, and restore to it', async () => {
    fillWorkspace();
    const cs = await CheckpointStore.open(ws, { baseDir: base });
    const taken: Array<{ tree: string; expected: string; step: string }> = [];
    try {
      await cs.take({ sessionId: 's', kind: 'start' });
      const step = async (name: string, change: () => void, paths: string[], mode: 'paths' | 'scan' = 'paths') => {
        change();
        const cp = await cs.take({ sessionId: 's', kind: 'call', paths });
        expect(cs.lastTakeMode, name).toBe(mode);
        const expected = await gitTree();
        expect(cp.tree, name).toBe(expected);
        taken.push({ tree: cp.tree, expected, step: name });
      };
      await step('modify', () => writeFileSync(join(ws, 'a.txt'), 'changed\n'), ['a.txt']);
      await step('create in new directories', () => {
        mkdirSync(join(ws, 'new/dir/here'), { recursive: true });
        writeFileSync(join(ws, 'new/dir/here/f.txt'), 'f\n');
      }, ['new/dir/here/f.txt']);
      await step('delete', () => rmSync(join(ws, 'a-b')), ['a-b']);
      await step('rename', () => renameSync(join(ws, 'a/x'), join(ws, 'a/y')), ['a/x', 'a/y']);
      await step('symlink', () => symlinkSync('a0', join(ws, 'ln')), ['ln']);
      await step('exec bit', () => chmodSync(join(ws, 'a.b'), 0o755), ['a.b']);
      await step('exec bit off', () => chmodSync(join(ws, 'tools/run.sh'), 0o644), ['tools/run.sh']);
      await step('directory replaced by a file', () => {
        rmSync(join(ws, 'a'), { recursive: true });
        writeFileSync(join(ws, 'a'), 'now a file\n');
      }, ['a']);
      await step('file replaced by a directory', () => {
        rmSync(join(ws, 'a0'));
        mkdirSync(join(ws, 'a0'));
        writeFileSync(join(ws, 'a0/inner'), 'inner\n');
      }, ['a0', 'a0/inner']);
      await step('file replaced by a directory, told only the path below it', () => {
        rmSync(join(ws, 'a.b'));
        mkdirSync(join(ws, 'a.b'));
        writeFileSync(join(ws, 'a.b/c'), 'c\n');
      }, ['a.b/c']);
      await step('symlink retargeted, dangling', () => {
        rmSync(join(ws, 'ln'));
        symlinkSync('nowhere', join(ws, 'ln'));
      }, ['ln']);
      await step('ignored paths are not recorded', () => {
        writeFileSync(join(ws, 'build/new.js'), 'x');
        writeFileSync(join(ws, 'y.log'), 'x');
      }, ['build/new.js', 'y.log']);
      await step('a nested .gitignore changes: its directory is walked again', () => writeFileSync(join(ws, 'sub/.gitignore'), '!drop.log\n!keep.log\n'), ['sub/.gitignore']);
      await step('the root .gitignore changes: a full scan', () => writeFileSync(join(ws, '.gitignore'), 'build/\n'), ['.gitignore'], 'scan');
      await step('a directory removed with everything below', () => rmSync(join(ws, 'deep'), { recursive: true }), ['deep']);
      await step('a whole new tree named by its top directory', () => {
        mkdirSync(join(ws, 'pkg/src/lib'), { recursive: true });
        writeFileSync(join(ws, 'pkg/src/lib/m.ts'), 'export {}\n');
        writeFileSync(join(ws, 'pkg/README'), 'r\n');
      }, ['pkg']);
      await step('written through a symlinked directory: the real path is recorded', () => writeFileSync(join(ws, 'link-dir/via-link.txt'), 'v\n'), writtenPaths(ws, 'link-dir/via-link.txt')!);
      await step('the path as an absolute one', () => writeFileSync(join(ws, 'empty'), 'not empty\n'), [join(ws, 'empty')]);
      // a full scan agrees with the fast path's model
      expect(await cs.snapshot()).toBe(taken[taken.length - 1]!.tree);

      // restoring each one gives exactly the workspace of that moment
      for (const t of taken) {
        await cs.restore(t.tree, { sessionId: 's' });
        expect(await cs.snapshot(), t.step).toBe(t.expected);
        expect(await gitTree(), t.step).toBe(t.expected);
      }
      expect(readFileSync(join(ws, 'empty'), 'utf8')).toBe('not empty\n');
      await expectFsckClean(cs.git, taken[taken.length - 1]!.tree);
    } finally {
      cs.close();
    }
  });

  it('another process taking a checkpoint or a restore in between makes the next paths-only take a full scan', async () => {
    writeFileSync(join(ws, 'a.txt'), 'a\n');
    const one = await CheckpointStore.open(ws, { baseDir: base });
    const two = await CheckpointStore.open(ws, { baseDir: base });
    try {
      await one.take({ sessionId: 's', kind: 'start' });
      writeFileSync(join(ws, 'b.txt'), 'b\n');
      await two.take({ sessionId: 't', kind: 'start' });
      writeFileSync(join(ws, 'c.txt'), 'c\n');
      // `one` is told only about c.txt; b.txt changed behind its back
      const cp = await one.take({ sessionId: 's', kind: 'call', paths: ['c.txt'] });
      expect(one.lastTakeMode).toBe('scan');
      expect(cp.tree).toBe(await gitTree());
      // told nothing, `one` stays on the fast path…
      await one.take({ sessionId: 's', kind: 'call', paths: [] });
      expect(one.lastTakeMode).toBe('paths');
      // …until another process restores files under it
      const start = two.list(['t'])[0]!;
      await two.restore(start.tree, { sessionId: 't' });
      const after = await one.take({ sessionId: 's', kind: 'call', paths: [] });
      expect(one.lastTakeMode).toBe('scan');
      expect(after.tree).toBe(await gitTree());
      expect(after.tree).toBe(start.tree);
      // a change set naming the workspace itself is no change set: scan
      await one.take({ sessionId: 's', kind: 'call', paths: ['.'] });
      expect(one.lastTakeMode).toBe('scan');
      await one.take({ sessionId: 's', kind: 'call', paths: [join(ws, 'c.txt'), '../elsewhere'] });
      expect(one.lastTakeMode).toBe('paths');
    } finally {
      one.close();
      two.close();
    }
  });
});
