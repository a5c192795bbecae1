/**
 * Tree walking for glob and grep: directories opened relative to their verified parent, links never
 * followed, the walk bounded in depth and in entries looked at.
 */
import fs from 'node:fs';
import { fdPath, openEntry, walk, type Opened, type RootCtx } from './confine.js';
import { closeQuietly } from './bytes.js';
import type { FsOptions } from './types.js';

export const MAX_WALK_ENTRIES = 500_000;
const MAX_WALK_DEPTH = 128;

export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';
export interface Entry {
  name: string;
  kind: EntryKind;
}

export function kindOfDirent(dirfd: number, d: fs.Dirent): EntryKind {
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'other';
  // DT_UNKNOWN on some file systems: ask lstat.
  try {
    const st = fs.lstatSync(fdPath(dirfd, d.name));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * Entries of an open directory, sorted so that a depth-first walk yields paths in plain sorted order:
 * directories compare as `name/`.
 */
function readEntries(dirfd: number): Entry[] {
  const list = fs.readdirSync(fdPath(dirfd), { withFileTypes: true }).map((d) => ({ name: d.name, kind: kindOfDirent(dirfd, d) }));
  const key = (e: Entry): string => (e.kind === 'dir' ? e.name + '/' : e.name);
  return list.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export interface WalkBudget {
  entries: number;
  exhausted: boolean;
}

export interface TreeVisitor {
  /** Return false to skip the directory (and not descend). `rel` extends the rel the walk started with. */
  dir(rel: string, name: string): boolean;
  /** Called with the directory opened (verified, not followed), before its entries are visited. */
  enter?(rel: string, fd: number): void;
  /** Called for regular files and symlinks (never followed); return false to stop the whole walk. */
  entry(rel: string, e: Entry, dirfd: number): boolean;
  /** Called after a directory's entries were visited. */
  leave?(rel: string): void;
}

/** Depth-first walk below the open directory `dirfd`. Returns false when the visitor stopped it. */
export function walkTree(ctx: RootCtx, dirfd: number, rel: string, depth: number, v: TreeVisitor, budget: WalkBudget, o: FsOptions): boolean {
  if (depth > MAX_WALK_DEPTH) return true;
  let entries: Entry[];
  try {
    entries = readEntries(dirfd);
  } catch {
    return true; // vanished or unreadable: skip
  }
  for (const e of entries) {
    if (--budget.entries < 0) {
      budget.exhausted = true;
      return false;
    }
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    if (e.kind === 'dir') {
      if (!v.dir(childRel, e.name)) continue;
      const sub = openEntry(ctx, dirfd, e.name, 'dir', o.allowHardlinks);
      if (!sub) continue; // swapped for a link or vanished: never followed
      let go: boolean;
      try {
        v.enter?.(childRel, sub.fd);
        go = walkTree(ctx, sub.fd, childRel, depth + 1, v, budget, o);
      } finally {
        closeQuietly(sub.fd);
      }
      v.leave?.(childRel);
      if (!go) return false;
    } else if (e.kind === 'file' || e.kind === 'symlink') {
      if (!v.entry(childRel, e, dirfd)) return false;
    }
  }
  return true;
}


/** Resolves the search start (the tool's `path`, default the root) to an open directory or file. */
export function openStart(ctx: RootCtx, p: string | undefined, o: FsOptions): Opened {
  return walk(ctx, p === undefined || p === '' ? '.' : p, 'open', { allowHardlinks: o.allowHardlinks });
}

export function joinRel(a: string, b: string): string {
  return a ? (b ? `${a}/${b}` : a) : b;
}
