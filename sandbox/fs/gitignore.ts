/** .gitignore rules for the tree walks: the frames that apply to a directory, and whether a path is ignored. */
import ignore, { type Ignore } from 'ignore';
import { openEntry, type Opened, type RootCtx } from './confine.js';
import { closeQuietly, readAt } from './bytes.js';
import { openStart } from './tree.js';
import type { FsOptions } from './types.js';

const MAX_GITIGNORE_BYTES = 1024 * 1024;

export interface IgnoreFrame {
  /** Workspace-relative directory of the .gitignore. */
  dir: string;
  ig: Ignore;
}

export function loadGitignore(ctx: RootCtx, dirfd: number, dirRel: string, o: FsOptions): IgnoreFrame | null {
  const f = openEntry(ctx, dirfd, '.gitignore', 'file', o.allowHardlinks);
  if (!f) return null;
  try {
    if (f.stat.size > MAX_GITIGNORE_BYTES) return null;
    const text = readAt(f.fd, f.stat.size, 0).toString('utf8');
    return { dir: dirRel, ig: ignore().add(text) };
  } catch {
    return null;
  } finally {
    closeQuietly(f.fd);
  }
}

/** The .gitignore frames that apply below `dirRel` (open as `dirFd`): its ancestors' files and its own. */
export function ignoreFramesFor(ctx: RootCtx, dirRel: string, dirFd: number, o: FsOptions): IgnoreFrame[] {
  const frames: IgnoreFrame[] = [];
  const ancestors = dirRel ? dirRel.split('/') : [];
  let cur: Opened | null = null;
  const rootOpen = openStart(ctx, '.', o);
  let curFd = rootOpen.fd;
  try {
    for (let i = 0; i <= ancestors.length - 1; i++) {
      const fr = loadGitignore(ctx, curFd, ancestors.slice(0, i).join('/'), o);
      if (fr) frames.push(fr);
      const next = openEntry(ctx, curFd, ancestors[i]!, 'dir', o.allowHardlinks);
      if (cur) closeQuietly(cur.fd);
      cur = next;
      if (!next) break;
      curFd = next.fd;
    }
  } finally {
    if (cur) closeQuietly(cur.fd);
    closeQuietly(rootOpen.fd);
  }
  const own = loadGitignore(ctx, dirFd, dirRel, o);
  if (own) frames.push(own);
  return frames;
}

/** Whether a directory, or any directory above it up to the root, is ignored. */
export function isIgnoredPath(frames: IgnoreFrame[], dirRel: string): boolean {
  const parts = dirRel.split('/');
  for (let i = 1; i <= parts.length; i++) if (isIgnored(frames, parts.slice(0, i).join('/'), true)) return true;
  return false;
}

export function isIgnored(frames: IgnoreFrame[], rel: string, isDir: boolean): boolean {
  for (const fr of frames) {
    const sub = fr.dir ? (rel.startsWith(fr.dir + '/') ? rel.slice(fr.dir.length + 1) : null) : rel;
    if (!sub) continue;
    try {
      if (fr.ig.ignores(isDir ? sub + '/' : sub)) return true;
    } catch {
      /* a path `ignore` refuses to judge: not ignored */
    }
  }
  return false;
}
