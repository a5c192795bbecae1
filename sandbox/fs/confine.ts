/**
 * Path confinement, run inside the fs worker. The string an agent gives is never trusted:
 *
 *  1. lexical: NUL bytes, length, `/proc` `/dev` `/sys`, `..` and absolute paths are normalised and the
 *     result must lie inside the root, compared component by component (`/ws` never contains `/ws-evil`);
 *  2. physical: the path is walked one component at a time from a descriptor of the real root. Every
 *     step is an `openat`-style lookup relative to the previous directory's descriptor (through
 *     `/proc/self/fd/N/name`) with O_NOFOLLOW, so a directory swapped for a symlink between the check and
 *     the open is never followed. A symlink met at any depth is read, resolved, and must stay inside the
 *     root; then the walk starts again from the root with the new path (at most MAX_SYMLINK_HOPS times);
 *  3. after the open: `fstat` (regular file or directory only; FIFOs, sockets, devices refused; link
 *     count for hard links) and the real path of the descriptor (`readlink /proc/self/fd/N`) must be
 *     inside the root.
 *
 * Writes go to a temp file created with O_CREAT|O_EXCL|O_NOFOLLOW in the verified parent directory and
 * are renamed over the target, so a symlink planted at the temp name or the target is never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { compileGlobs } from '../../policies/pure/glob-match.js';
import { DEFAULT_PROTECTED_PATHS, FsError, type FsOptions } from './types.js';

const C = fs.constants;
export const O_FILE_READ = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;
export const O_DIR_READ = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const O_TEMP_CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NOCTTY;

/** Kernel pseudo file systems: never a workspace, never reachable. */
export const FORBIDDEN_TREES: readonly string[] = ['/proc', '/dev', '/sys'];
export const MAX_SYMLINK_HOPS = 40;
const MAX_PATH_LENGTH = 4096;
const MAX_NAME_BYTES = 255;

/** `openat(dirfd, name)` spelled for Node: the kernel resolves the magic link to the open directory. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** True when `p` is `root` or below it. Both must be normalised absolute paths; compares whole components. */
export function isInside(root: string, p: string): boolean {
  if (root === '/') return p.startsWith('/');
  if (p === root) return true;
  // `root + '/'` as prefix: the character after the root must be a separator, so /ws never contains /ws-evil.
  return p.length > root.length && p.startsWith(root) && p.charCodeAt(root.length) === 47; /* '/' */
}

function inForbiddenTree(p: string): boolean {
  return FORBIDDEN_TREES.some((t) => isInside(t, p));
}

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** Maps an errno error to an FsError; FsErrors pass through. */
export function toFsError(e: unknown, what: string): FsError {
  if (e instanceof FsError) return e;
  const code = errnoOf(e);
  switch (code) {
    case 'ENOENT':
      return new FsError('NOT_FOUND', `${what}: no such file or directory`);
    case 'ENOTDIR':
      return new FsError('NOT_A_DIRECTORY', `${what}: a component of the path is not a directory`);
    case 'EISDIR':
      return new FsError('NOT_A_FILE', `${what}: is a directory`);
    case 'EACCES':
    case 'EPERM':
      return new FsError('PERMISSION', `${what}: permission denied`);
    case 'ELOOP':
      return new FsError('SYMLINK_LOOP', `${what}: too many levels of symbolic links`);
    case 'ENXIO':
    case 'ENODEV':
      return new FsError('SPECIAL_FILE', `${what}: is a socket or device`);
    case 'ENAMETOOLONG':
      return new FsError('INVALID', `${what}: name too long`);
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
    case 'EIO':
    case 'EFBIG':
      return new FsError('IO', `${what}: ${code}`);
    default:
      return new FsError('INTERNAL', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Root

export interface RootCtx {
  /** The root as given (normalised). Absolute paths inside it are accepted too. */
  given: string;
  /** realpath of the root: what every opened descriptor is checked against. */
  real: string;
}

const rootCache = new Map<string, string>();

/** Validates the workspace root and resolves its real path (cached per worker). */
export function prepareRoot(root: unknown): RootCtx {
  if (typeof root !== 'string' || root.length === 0 || root.includes('\0') || !path.isAbsolute(root)) {
    throw new FsError('INVALID', 'workspace root must be an absolute path');
  }
  const given = path.resolve(root);
  let real = rootCache.get(given);
  if (real === undefined) {
    try {
      real = fs.realpathSync.native(given);
    } catch (e) {
      throw toFsError(e, 'workspace root');
    }
    if (rootCache.size > 64) rootCache.clear();
    rootCache.set(given, real);
  }
  for (const p of [given, real]) {
    if (p === '/' || inForbiddenTree(p)) throw new FsError('INVALID', `refusing workspace root ${p}`);
  }
  return { given, real };
}

/**
 * Descriptors of recently used roots, kept open per thread (an open + readlink + close saved per call).
 * Re-validated (the root path still names the same directory) at most ROOT_RECHECK_MS apart.
 */
const ROOT_RECHECK_MS = 1000;
const MAX_CACHED_ROOTS = 8;
const rootFds = new Map<string, { fd: number; dev: number; ino: number; checkedAt: number }>();

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** A descriptor of the real root, checked to really be it. Owned by the cache: never close it. */
function rootFd(ctx: RootCtx): number {
  const now = Date.now();
  const cached = rootFds.get(ctx.real);
  if (cached) {
    if (now - cached.checkedAt < ROOT_RECHECK_MS) return cached.fd;
    try {
      const st = fs.statSync(ctx.real);
      if (st.dev === cached.dev && st.ino === cached.ino && st.isDirectory()) {
        cached.checkedAt = now;
        return cached.fd;
      }
    } catch {
      /* gone: reopen below, which reports the error */
    }
    rootFds.delete(ctx.real);
    closeQuietly(cached.fd);
  }
  let fd: number;
  try {
    fd = fs.openSync(ctx.real, O_DIR_READ);
  } catch (e) {
    rootCache.delete(ctx.given);
    throw toFsError(e, 'workspace root');
  }
  let actual: string;
  try {
    actual = fs.readlinkSync(fdPath(fd));
  } catch (e) {
    closeQuietly(fd);
    throw new FsError('INTERNAL', 'cannot read /proc/self/fd (is /proc mounted?): ' + String(e));
  }
  if (actual !== ctx.real) {
    closeQuietly(fd);
    rootCache.delete(ctx.given);
    throw new FsError('INTERNAL', 'the workspace root moved while it was being opened');
  }
  const st = fs.fstatSync(fd);
  if (rootFds.size >= MAX_CACHED_ROOTS) {
    for (const [k, v] of rootFds) {
      closeQuietly(v.fd);
      rootFds.delete(k);
      break;
    }
  }
  rootFds.set(ctx.real, { fd, dev: st.dev, ino: st.ino, checkedAt: now });
  return fd;
}

/** A new descriptor of the directory `fd` is open on (for handing the cached root fd to a caller). */
function reopenDir(fd: number): number {
  return fs.openSync(fdPath(fd), C.O_RDONLY | C.O_DIRECTORY);
}

// ---------------------------------------------------------------------------------------------------
// Lexical stage

/** Workspace-relative components of an absolute, normalised path inside the root ([] = the root). */
function componentsUnder(ctx: RootCtx, abs: string): string[] | null {
  for (const r of [ctx.real, ctx.given]) {
    if (isInside(r, abs)) {
      const rest = abs.slice(r.length);
      return rest.split('/').filter((c) => c.length > 0);
    }
  }
  return null;
}

/** Checks the agent's string and returns its components under the root. */
export function lexicalComponents(ctx: RootCtx, input: unknown, what = 'path'): string[] {
  if (typeof input !== 'string') throw new FsError('INVALID', `${what} must be a string`);
  if (input.includes('\0')) throw new FsError('INVALID', `${what} contains a NUL byte`);
  if (input.length > MAX_PATH_LENGTH) throw new FsError('INVALID', `${what} is longer than ${MAX_PATH_LENGTH}`);
  const abs = path.isAbsolute(input) ? path.resolve(input) : path.resolve(ctx.given, input);
  if (inForbiddenTree(abs)) throw new FsError('OUTSIDE_ROOT', `${show(input)} is in ${abs.split('/')[1] ?? ''}, outside the workspace`);
  const comps = componentsUnder(ctx, abs);
  if (comps === null) throw new FsError('OUTSIDE_ROOT', `${show(input)} is outside the workspace`);
  for (const c of comps) {
    if (Buffer.byteLength(c) > MAX_NAME_BYTES) throw new FsError('INVALID', `${what}: a name is longer than 255 bytes`);
  }
  return comps;
}

function show(p: string): string {
  return JSON.stringify(p.length > 200 ? p.slice(0, 200) + '…' : p);
}

// ---------------------------------------------------------------------------------------------------
// Protected paths

const matcherCache = new Map<string, (rel: string) => boolean>();

/** Matcher for the protected globs (the defaults are always included). Case-insensitive on purpose. */
export function protectedMatcher(options: Pick<FsOptions, 'protectedPaths'>): (rel: string) => boolean {
  const extra = Array.isArray(options.protectedPaths) ? options.protectedPaths.filter((p) => typeof p === 'string') : [];
  const globs = [...new Set([...DEFAULT_PROTECTED_PATHS, ...extra])];
  const key = JSON.stringify(globs);
  let m = matcherCache.get(key);
  if (!m) {
    // Linear-time matching: rel is model-chosen (glob-match.ts).
    const pm = compileGlobs(globs, { nocase: true });
    // A directory is protected too when the glob covers its contents (`.git/hooks` for `.git/hooks/**`):
    // replacing or creating it would give control over what lies below.
    m = (rel: string) => rel.length > 0 && (pm(rel) || pm(rel + '/x'));
    if (matcherCache.size > 32) matcherCache.clear();
    matcherCache.set(key, m);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Physical stage

export interface Opened {
  fd: number;
  /** Real absolute path of the descriptor, read back from /proc/self/fd. */
  real: string;
  /** Workspace-relative path ('' for the root), from the real path. */
  rel: string;
  stat: fs.Stats;
}

export interface ParentRef {
  /** Descriptor of the verified parent directory (caller closes it). */
  dirfd: number;
  dirReal: string;
  /** Final component, inside dirfd. */
  name: string;
  /** Workspace-relative path of the target. */
  rel: string;
  /** lstat of the existing target (a regular file), or null when it does not exist yet. */
  existing: fs.Stats | null;
}

export interface WalkOptions {
  allowHardlinks: boolean;
  /** For 'parent' walks: create missing parent directories (each one checked as it is made). */
  create?: boolean;
  /** For 'parent' walks: refuse protected targets and never create protected directories. */
  isProtected?: (rel: string) => boolean;
  /** For 'parent' walks: refuse a final symlink (edit, write) instead of resolving it. */
  refuseFinalLink?: boolean;
}

function relOf(ctx: RootCtx, real: string): string {
  return real === ctx.real ? '' : real.slice(ctx.real.length + 1);
}

function lstatOrNull(p: string, what: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw toFsError(e, what);
  }
}

/** Real path of an open descriptor; must be inside the root. */
export function verifyFd(ctx: RootCtx, fd: number, what: string): string {
  let real: string;
  try {
    real = fs.readlinkSync(fdPath(fd));
  } catch (e) {
    throw new FsError('INTERNAL', 'cannot read /proc/self/fd (is /proc mounted?): ' + String(e));
  }
  // Pipes, sockets and anonymous files read back as `pipe:[N]` and the like: never inside.
  if (!real.startsWith('/') || !isInside(ctx.real, real) || inForbiddenTree(real)) {
    throw new FsError('OUTSIDE_ROOT', `${what} resolved outside the workspace when opened`);
  }
  return real;
}

/**
 * Reads the symlink `name` in `dirfd` and returns the components, under the root, of where it points
 * followed by `rest`. A target outside the root, or in /proc, /dev, /sys, is refused.
 */
function followLink(ctx: RootCtx, dirfd: number, dirReal: string, name: string, rest: string[], shown: string): string[] {
  let target: string;
  try {
    target = fs.readlinkSync(fdPath(dirfd, name));
  } catch (e) {
    throw toFsError(e, shown);
  }
  const abs = path.resolve(dirReal, target);
  const comps = inForbiddenTree(abs) ? null : componentsUnder(ctx, abs);
  if (comps === null) {
    throw new FsError('OUTSIDE_ROOT', `${shown} is a symlink to ${JSON.stringify(target)}, outside the workspace`);
  }
  return [...comps, ...rest];
}

type WalkResult<M> = M extends 'open' ? Opened : ParentRef;

/**
 * Walks `inputPath` from the root. mode 'open': opens the final object (regular file or directory) and
 * returns it verified. mode 'parent': returns the verified parent directory and the final name, the
 * final object being absent or a regular file (for writes). Symlinks at any depth are resolved inside the
 * root; a final symlink is resolved too (so a write through a link inside the root writes its target)
 * unless `refuseFinalLink` (edit and write set it: docs/parity.md).
 * The caller owns (closes) the returned descriptor.
 */
export function walk<M extends 'open' | 'parent'>(ctx: RootCtx, inputPath: unknown, mode: M, opts: WalkOptions, what = 'path'): WalkResult<M> {
  let comps = lexicalComponents(ctx, inputPath, what);
  const shownInput = typeof inputPath === 'string' ? show(inputPath) : what;
  if (mode === 'parent' && opts.isProtected) {
    const lexRel = comps.join('/');
    if (opts.isProtected(lexRel)) throw new FsError('PROTECTED', `${shownInput} is a protected path (${lexRel}); it is never written`);
  }
  let hops = 0;
  const hop = (): void => {
    if (++hops > MAX_SYMLINK_HOPS) throw new FsError('SYMLINK_LOOP', `${shownInput}: too many levels of symbolic links`);
  };
  const shownPrefix = (n: number): string => JSON.stringify(comps.slice(0, n).join('/'));

  restart: for (;;) {
    const top = rootFd(ctx);
    let dirfd = top;
    let dirReal = ctx.real;
    let keep = false; // dirfd handed to the caller
    try {
      // Intermediate components: directories only, each opened relative to its parent, never followed.
      for (let i = 0; i < comps.length - 1; i++) {
        const name = comps[i]!;
        const p = fdPath(dirfd, name);
        let next = -1;
        for (let attempt = 0; next < 0; attempt++) {
          try {
            next = fs.openSync(p, O_DIR_READ);
            break;
          } catch (e) {
            const code = errnoOf(e);
            if (code === 'ENOENT' && mode === 'parent' && opts.create && attempt === 0) {
              const dirRel = relOf(ctx, dirReal);
              const newRel = dirRel ? `${dirRel}/${name}` : name;
              if (opts.isProtected?.(newRel)) throw new FsError('PROTECTED', `${shownInput}: would create protected directory ${newRel}`);
              try {
                fs.mkdirSync(p, 0o777); // never follows a symlink at `p` (EEXIST, then looked at below)
              } catch (e2) {
                if (errnoOf(e2) !== 'EEXIST') throw toFsError(e2, shownPrefix(i + 1));
              }
              continue;
            }
            if (code === 'ENOENT') throw new FsError('NOT_FOUND', `${shownInput}: ${shownPrefix(i + 1)} does not exist`);
            if (code !== 'ENOTDIR' && code !== 'ELOOP') throw toFsError(e, shownPrefix(i + 1));
            // Not a directory: a symlink (O_NOFOLLOW refused it), or a file.
            const st = lstatOrNull(p, shownPrefix(i + 1));
            if (st?.isSymbolicLink()) {
              hop();
              comps = followLink(ctx, dirfd, dirReal, name, comps.slice(i + 1), shownPrefix(i + 1));
              continue restart;
            }
            if (st && !st.isDirectory()) throw new FsError('NOT_A_DIRECTORY', `${shownInput}: ${shownPrefix(i + 1)} is not a directory`);
            hop(); // changed under us: look again from the root
            continue restart;
          }
        }
        if (dirfd !== top) closeQuietly(dirfd);
        dirfd = next;
        dirReal = `${dirReal}/${name}`;
      }

      if (comps.length === 0) {
        if (mode === 'parent') throw new FsError('NOT_A_FILE', `${shownInput} is the workspace root, a directory`);
        const fd = reopenDir(top);
        return { fd, real: ctx.real, rel: '', stat: fs.fstatSync(fd) } as WalkResult<M>;
      }

      const name = comps[comps.length - 1]!;
      const p = fdPath(dirfd, name);
      const shown = shownPrefix(comps.length);

      if (mode === 'parent') {
        const st = lstatOrNull(p, shown);
        if (st?.isSymbolicLink()) {
          if (opts.refuseFinalLink) {
            let target = '?';
            try {
              target = fs.readlinkSync(p);
            } catch {
              /* vanished */
            }
            throw new FsError('SYMLINK', `${shown} is a symlink (to ${JSON.stringify(target)}); edit and write refuse links: name the target file instead`);
          }
          hop();
          comps = followLink(ctx, dirfd, dirReal, name, [], shown);
          continue restart;
        }
        if (st?.isDirectory()) throw new FsError('NOT_A_FILE', `${shown} is a directory`);
        if (st && !st.isFile()) throw new FsError('SPECIAL_FILE', `${shown} is ${kindOf(st)}, not a regular file`);
        if (st && st.nlink > 1 && !opts.allowHardlinks) {
          throw new FsError('HARDLINK', `${shown} has ${st.nlink} hard links; refusing to write it (allowHardlinks is off)`);
        }
        const verifiedDir = verifyFd(ctx, dirfd, shown);
        const dirRel = relOf(ctx, verifiedDir);
        const rel = dirRel ? `${dirRel}/${name}` : name;
        if (opts.isProtected?.(rel)) throw new FsError('PROTECTED', `${shownInput} resolves to protected path ${rel}; it is never written`);
        const own = dirfd === top ? reopenDir(top) : dirfd;
        keep = own === dirfd;
        return { dirfd: own, dirReal: verifiedDir, name, rel, existing: st } as WalkResult<M>;
      }

      // Open first (O_NOFOLLOW: a symlink fails with ELOOP; O_NONBLOCK: a FIFO cannot block; O_NOCTTY),
      // then decide on the descriptor's own fstat.
      let fd: number;
      try {
        fd = fs.openSync(p, O_FILE_READ);
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'ELOOP') {
          hop();
          let st: fs.Stats | null = null;
          try {
            st = fs.lstatSync(p);
          } catch {
            /* vanished: look again */
          }
          if (st?.isSymbolicLink()) comps = followLink(ctx, dirfd, dirReal, name, [], shown);
          continue restart;
        }
        if (code === 'ENOENT') throw new FsError('NOT_FOUND', `${shownInput}: no such file or directory`);
        if (code === 'ENXIO') throw new FsError('SPECIAL_FILE', `${shown} is a socket, not a regular file`);
        throw toFsError(e, shown);
      }
      try {
        const stat = fs.fstatSync(fd);
        if (!stat.isFile() && !stat.isDirectory()) throw new FsError('SPECIAL_FILE', `${shown} is ${kindOf(stat)}, not a regular file`);
        if (stat.isFile() && stat.nlink > 1 && !opts.allowHardlinks) {
          throw new FsError('HARDLINK', `${shown} has ${stat.nlink} hard links; refusing to open it (allowHardlinks is off)`);
        }
        const real = verifyFd(ctx, fd, shown);
        return { fd, real, rel: relOf(ctx, real), stat } as WalkResult<M>;
      } catch (e) {
        closeQuietly(fd);
        throw e;
      }
    } finally {
      if (!keep && dirfd !== top) closeQuietly(dirfd);
    }
  }
}

export function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  return 'a regular file';
}

/**
 * Opens the entry `name` of the already verified directory `dirfd` without following links: used by the
 * tree walkers (glob, grep). Returns null for anything that is not a directory or regular file (as
 * asked), or that vanished or was swapped for a link.
 */
export function openEntry(ctx: RootCtx, dirfd: number, name: string, kind: 'dir' | 'file', allowHardlinks: boolean): Opened | null {
  let fd: number;
  try {
    fd = fs.openSync(fdPath(dirfd, name), kind === 'dir' ? O_DIR_READ : O_FILE_READ);
  } catch {
    return null;
  }
  try {
    const stat = fs.fstatSync(fd);
    const okKind = kind === 'dir' ? stat.isDirectory() : stat.isFile();
    if (!okKind || (kind === 'file' && stat.nlink > 1 && !allowHardlinks)) {
      fs.closeSync(fd);
      return null;
    }
    const real = verifyFd(ctx, fd, JSON.stringify(name));
    return { fd, real, rel: relOf(ctx, real), stat };
  } catch (e) {
    fs.closeSync(fd);
    if (e instanceof FsError && e.code === 'OUTSIDE_ROOT') throw e; // never silently: a real escape attempt
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Atomic write

/**
 * Writes `data` to `parent.name` atomically: temp file in the same verified directory (O_EXCL|O_NOFOLLOW,
 * so a planted symlink at the temp name fails the create), then rename over the target. Keeps the mode
 * of an existing file (without set-id bits).
 */
export function atomicWrite(ctx: RootCtx, parent: ParentRef, data: Uint8Array, opts: { fsync?: boolean }): void {
  let tmpName = '';
  let fd = -1;
  for (let attempt = 0; attempt < 8 && fd < 0; attempt++) {
    tmpName = `.icode-tmp-${randomBytes(8).toString('hex')}`;
    try {
      fd = fs.openSync(fdPath(parent.dirfd, tmpName), O_TEMP_CREATE, 0o666);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw toFsError(e, `temp file in ${JSON.stringify(parent.rel)}`);
    }
  }
  if (fd < 0) throw new FsError('INTERNAL', 'could not create a unique temp file');
  const tmpPath = fdPath(parent.dirfd, tmpName);
  let renamed = false;
  try {
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      if (parent.existing) fs.fchmodSync(fd, parent.existing.mode & 0o777);
      if (opts.fsync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // The directory descriptor must still be inside the root at the moment of the rename.
    verifyFd(ctx, parent.dirfd, JSON.stringify(parent.rel));
    try {
      fs.renameSync(tmpPath, fdPath(parent.dirfd, parent.name));
    } catch (e) {
      throw toFsError(e, JSON.stringify(parent.rel));
    }
    renamed = true;
    if (opts.fsync) fs.fsyncSync(parent.dirfd);
  } finally {
    if (!renamed) {
      try {
        fs.unlinkSync(tmpPath);
      } catch {
        /* already gone */
      }
    }
  }
}
