/**
 * Crash-safe restore of workspace files from the checkpoint store, through a journal:
 *
 *   1. the plan (every path with its old and new mode/blob) is written to `restore-journal.json`
 *      (temp file, fsync, rename, fsync of the directory);
 *   2. each path is applied: new content is written to a temp file beside it and renamed over it
 *      (deletions first, deepest first; then writes, shallowest first);
 *   3. the journal is marked done, then removed.
 *
 * A journal found unfinished (kill -9 mid-way) is rolled BACK: the old side of every op is applied
 * the same way (idempotent), so the workspace is the old state or the new one, never a mix. Both
 * sides' blobs are in the shadow repository before the journal is written.
 *
 * Safety: every parent directory is checked with lstat on the way down and must be a real directory
 * inside the workspace (a symlink is never followed; it is refused unless the plan itself removes
 * it first); protected paths (`.git` anywhere, `.icode` at the root) are never written.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeSync, chmodSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { InputError } from '../errors.js';
import { readBlobs, type ShadowGitPaths } from './shadow-git.js';

export interface Side {
  /** Git mode: 100644, 100755, 120000, or 000000 for "absent". */
  mode: string;
  id: string;
}

export interface RestoreOp {
  path: string;
  from: Side;
  to: Side;
}

export interface Journal {
  id: string;
  state: 'applying' | 'done';
  workspace: string;
  fromTree: string;
  toTree: string;
  ops: RestoreOp[];
}

/** A restore that would write through a symlink or over a directory: nothing is changed (exit 1). */
export class RestoreRefused extends InputError {
  override readonly name = 'RestoreRefused';
  override readonly exitCode: number = 1;
}

export const ABSENT = '000000';

/** `.git` anywhere, `.icode` at the root: never recorded, never written. */
export function isProtectedPath(rel: string): boolean {
  const parts = rel.split('/');
  return parts[0] === '.icode' || parts.some((c) => c.toLowerCase() === '.git' || c === '' || c === '.' || c === '..');
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; rename is still atomic there.
  }
}

export function writeFileDurable(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

function kindOf(path: string): 'missing' | 'dir' | 'link' | 'file' | 'other' {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Make sure every parent of `rel` is a real directory inside the workspace (creating missing ones
 * when `create`); returns false when a parent is missing and `create` is off.
 */
function checkParents(workspace: string, rel: string, create: boolean): boolean {
  const parts = rel.split('/');
  let cur = workspace;
  for (const part of parts.slice(0, -1)) {
    cur = join(cur, part);
    const k = kindOf(cur);
    if (k === 'dir') continue;
    // For a deletion, a path below a symlink or a file is not in the workspace: nothing to delete.
    if (!create) return false;
    if (k === 'missing') {
      mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    throw new RestoreRefused(`refusing to restore ${rel}: ${cur.slice(workspace.length + 1)} is ${k === 'link' ? 'a symbolic link' : 'not a directory'}`);
  }
  return true;
}

function tempName(journal: Journal, index: number, rel: string): string {
  return join(dirname(rel), `.icode-restore-${journal.id}-${index}`);
}

/** Remove temp files an interrupted apply may have left. */
function cleanTemps(workspace: string, journal: Journal): void {
  journal.ops.forEach((op, i) => {
    const tmp = join(workspace, tempName(journal, i, op.path));
    if (kindOf(tmp) === 'file' || kindOf(tmp) === 'link') {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  });
}

/** Test seam: pause (forever) after this many ops, so a test can kill -9 mid-restore. */
function pauseAfter(): number | null {
  const v = process.env.ICODE_RESTORE_PAUSE_AFTER_OPS;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

async function pauseForever(marker: string): Promise<never> {
  writeFileDurable(marker, String(process.pid));
  return new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });
}

/** Apply one side ('to' forward, 'from' to roll back) of every op. Idempotent. */
export async function applySide(git: ShadowGitPaths, journal: Journal, side: 'from' | 'to', opts: { pauseMarker?: string } = {}): Promise<void> {
  const ws = journal.workspace;
  const target = (op: RestoreOp): Side => (side === 'to' ? op.to : op.from);
  const ops = journal.ops.map((op, i) => ({ op, i })).filter(({ op }) => !isProtectedPath(op.path));
  const blobs = await readBlobs(git, ops.filter(({ op }) => target(op).mode !== ABSENT && target(op).mode !== '160000').map(({ op }) => target(op).id));
  const deletes = ops.filter(({ op }) => target(op).mode === ABSENT).sort((a, b) => b.op.path.split('/').length - a.op.path.split('/').length);
  const writes = ops.filter(({ op }) => target(op).mode !== ABSENT && target(op).mode !== '160000').sort((a, b) => a.op.path.split('/').length - b.op.path.split('/').length);
  const pause = opts.pauseMarker ? pauseAfter() : null;
  let done = 0;
  const step = async (): Promise<void> => {
    done++;
    if (pause !== null && done === pause && opts.pauseMarker) await pauseForever(opts.pauseMarker);
  };
  const emptied = new Set<string>();
  for (const { op } of deletes) {
    if (!checkParents(ws, op.path, false)) {
      await step();
      continue;
    }
    const abs = join(ws, op.path);
    const k = kindOf(abs);
    if (k === 'file' || k === 'link') unlinkSync(abs);
    else if (k === 'dir') throw new RestoreRefused(`refusing to delete ${op.path}: it is now a directory`);
    emptied.add(dirname(op.path));
    await step();
  }
  // Directories left empty by deletions go too (git does not record empty directories).
  for (const d of [...emptied].sort((a, b) => b.length - a.length)) {
    let cur = d;
    while (cur !== '.' && cur !== '') {
      try {
        if (kindOf(join(ws, cur)) !== 'dir' || readdirSync(join(ws, cur)).length) break;
        rmdirSync(join(ws, cur));
      } catch {
        break;
      }
      cur = dirname(cur);
    }
  }
  for (const { op, i } of writes) {
    const t = target(op);
    checkParents(ws, op.path, true);
    const abs = join(ws, op.path);
    if (kindOf(abs) === 'dir') throw new RestoreRefused(`refusing to restore ${op.path}: it is now a directory`);
    const tmp = join(ws, tempName(journal, i, op.path));
    if (kindOf(tmp) !== 'missing') unlinkSync(tmp);
    const data = blobs.get(t.id)!;
    if (t.mode === '120000') {
      symlinkSync(data.toString('utf8'), tmp);
    } else {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      chmodSync(tmp, t.mode === '100755' ? 0o755 : 0o644);
    }
    renameSync(tmp, abs); // rename replaces a symlink at `abs` itself, never what it points to
    await step();
  }
  const dirs = new Set(writes.map(({ op }) => dirname(join(ws, op.path))));
  for (const d of dirs) fsyncDir(d);
}

/** Apply a plan through the journal at `journalPath`. */
export async function applyJournaled(git: ShadowGitPaths, journalPath: string, plan: Omit<Journal, 'id' | 'state'>): Promise<void> {
  const journal: Journal = { id: randomUUID().slice(0, 8), state: 'applying', ...plan };
  writeFileDurable(journalPath, JSON.stringify(journal));
  try {
    await applySide(git, journal, 'to', { pauseMarker: `${journalPath}.paused` });
  } catch (e) {
    // A refused or failed apply is rolled back at once: the workspace stays as it was.
    await applySide(git, journal, 'from');
    cleanTemps(journal.workspace, journal);
    unlinkSync(journalPath);
    throw e;
  }
  cleanTemps(journal.workspace, journal);
  writeFileDurable(journalPath, JSON.stringify({ ...journal, state: 'done' }));
  unlinkSync(journalPath);
  fsyncDir(dirname(journalPath));
}

/** Finish what a killed restore left: roll an unfinished journal back. Returns what was done. */
export async function recoverJournal(git: ShadowGitPaths, journalPath: string): Promise<'none' | 'rolled_back' | 'completed'> {
  if (!existsSync(journalPath)) return 'none';
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal;
  if (journal.state === 'done') {
    cleanTemps(journal.workspace, journal);
    unlinkSync(journalPath);
    return 'completed';
  }
  await applySide(git, journal, 'from');
  cleanTemps(journal.workspace, journal);
  unlinkSync(journalPath);
  fsyncDir(dirname(journalPath));
  return 'rolled_back';
}

export const PATH_SEP = sep;
