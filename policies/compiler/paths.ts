/**
 * Path conditions of rules. The policy decides lexically (the fs worker re-checks the real path when it
 * opens it): `~` is expanded, the path is resolved against the workspace root with `.`/`..` folded, and
 * globs are matched against the workspace-relative path (relative patterns) or the absolute path.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { compileGlobs } from '../pure/glob-match.js';

export interface ResolvedPath {
  abs: string;
  /** Workspace-relative path with `/` separators; '' for the root itself. Only meaningful when inside. */
  rel: string;
  inside: boolean;
  /** The directory part of a shell glob (`src` for `src/*.ts`): what lies below it may match. */
  glob?: boolean;
}

/** Lexically resolve a path as a tool would see it. A NUL byte makes it unresolvable: treated as outside. */
/** A path with nothing to fold: no `.`/`..` segment, no `//`, no trailing `/`, no NUL, not `~`. */
const NEEDS_FOLDING = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|\/$|\0|^~/;

const PROC_SELF_ROOT = /^\/proc\/(?:self|thread-self)\/root(?=\/|$)/;

export function resolvePath(p: string, workspace: string, home: string): ResolvedPath {
  // Fast path for the common clean relative path (`src/a.ts`): same result as resolve(), without it.
  if (p !== '' && p.charCodeAt(0) !== 47 /* / */ && !NEEDS_FOLDING.test(p)) {
    return { abs: workspace === '/' ? '/' + p : workspace + '/' + p, rel: p, inside: true };
  }
  if (p.includes('\0')) return { abs: p, rel: '', inside: false };
  let expanded = p;
  if (p === '~' || p.startsWith('~/')) expanded = home + p.slice(1);
  let abs = resolve(workspace, expanded);
  // `/proc/self/root` is the process's own root directory: `/proc/self/root/home/u/.ssh` is ~/.ssh, and a
  // rule on the one must hold for the other. (Another process's root, `/proc/PID/root`, may differ: it
  // stays an outside path.)
  for (let m = PROC_SELF_ROOT.exec(abs); m; m = PROC_SELF_ROOT.exec(abs)) abs = resolve('/', abs.slice(m[0].length));
  if (abs === workspace) return { abs, rel: '', inside: true };
  const inside = abs.startsWith(workspace.endsWith(sep) ? workspace : workspace + sep);
  const rel = inside ? relative(workspace, abs).split(sep).join('/') : '';
  return { abs, rel, inside };
}

/** Paths that are never a file access worth deciding on when a shell redirects to them. */
export const NEUTRAL_DEVICE_PATHS: ReadonlySet<string> = new Set(['/dev/null', '/dev/tty']);

/**
 * Paths that reopen a descriptor the shell already holds (`/dev/fd/N`, `/dev/stdin`, `/dev/stdout`,
 * `/dev/stderr`, `/proc/self/fd/N`…): opening one for writing opens *whatever that descriptor is* anew,
 * with write access — `exec 3<notes.txt; echo x > /dev/fd/3` writes notes.txt, though the script only
 * ever opened it for reading. They are neutral only while every descriptor is one the script did not
 * point at a file (the jail's /dev/null stdin, its terminal, pipes): see `shellSubjects`.
 */
export function reopensDescriptor(abs: string): boolean {
  return /^\/dev\/(?:std(?:in|out|err)|fd\/[0-9]+)$/.test(abs) || /^\/proc\/(?:self|thread-self|[0-9]+)\/fd\/[0-9]+$/.test(abs);
}

/**
 * `descriptorsSafe`: the script opens no file on any descriptor (shellSubjects decides), so a path that
 * reopens a descriptor reaches only the terminal, /dev/null or a pipe. Another process's descriptors
 * (`/proc/PID/fd/N`) are never neutral.
 */
export function isNeutralDevice(abs: string, descriptorsSafe = false): boolean {
  if (NEUTRAL_DEVICE_PATHS.has(abs)) return true;
  return descriptorsSafe && reopensDescriptor(abs) && !/^\/proc\/[0-9]+\//.test(abs);
}

export interface PathMatcher {
  /** Pattern sources, for traces and the policy hash. */
  sources: string[];
  test(p: ResolvedPath): boolean;
}

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/**
 * Compile path globs. Relative patterns are workspace-relative; `~/…` and absolute ones are absolute.
 * A pattern without glob characters (or ending in `/`) also matches everything beneath it, like gitignore.
 * Throws an Error with a human message for a pattern that cannot be compiled.
 */
export function compilePathMatcher(patterns: string[], home: string): PathMatcher {
  const rel: string[] = [];
  const abs: string[] = [];
  for (const raw of patterns) {
    let p = raw;
    if (p.includes('\0')) throw new Error(`path pattern ${JSON.stringify(raw)} contains a NUL byte`);
    if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
    const target = isAbsolute(p) ? abs : rel;
    if (!isAbsolute(p)) {
      p = p.replace(/^(\.\/)+/, '');
      if (p === '.' || p === '') p = '**';
      if (p.split('/').includes('..')) {
        throw new Error(`path pattern ${JSON.stringify(raw)} uses "..": write an absolute path or use outside_workspace`);
      }
    }
    const dirLike = p.endsWith('/');
    p = p.replace(/\/+$/, '') || '/';
    target.push(p);
    if (dirLike || !GLOB_CHARS.test(p)) target.push(p === '/' ? '/**' : `${p}/**`);
  }
  // Linear-time matching (glob-match.ts): these meet model-chosen paths.
  const relTest = rel.length ? compileGlobs(rel) : null;
  // The workspace root itself (rel '') is matched by "everything" patterns only.
  const matchesRoot = rel.includes('**');
  const absTest = abs.length ? compileGlobs(abs) : null;
  return {
    sources: patterns,
    test(p: ResolvedPath): boolean {
      if (relTest && p.inside && (p.rel === '' ? matchesRoot : relTest(p.rel))) return true;
      return absTest !== null && absTest(p.abs);
    },
  };
}

/** A matcher of names (tools, agents, hosts) by glob; `*` alone matches everything. */
export function compileNameMatcher(patterns: string[]): (name: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !GLOB_CHARS.test(p)));
  const globs = patterns.filter((p) => GLOB_CHARS.test(p));
  const globTest = globs.length ? compileGlobs(globs) : null;
  return (name) => exact.has(name) || (globTest !== null && globTest(name));
}
