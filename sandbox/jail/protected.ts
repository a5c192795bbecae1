/**
 * Read-only protected paths inside the workspace (.git/hooks, .git/config, .icode, the policy's own).
 *
 * For each protected path, walking from the workspace root:
 * - every existing ancestor directory is bound onto itself (read-write): a mount point cannot be
 *   renamed or removed inside the jail (EBUSY), so `mv .git x && mkdir -p .git/hooks` cannot swap
 *   the protected directory for a writable one;
 * - the path itself, when it exists, is bound onto itself read-only; a non-directory ancestor (a
 *   `.git` file of a worktree) is bound read-only instead, as it decides where the real hooks are;
 * - when it (or an ancestor) does not exist, an empty placeholder (directory, or an empty file for
 *   file-like names) is created on the host at the first missing component and an empty read-only
 *   directory or file is bound over it, so the jail cannot create it. Placeholders are left in place
 *   when the jail closes: removing a mount point from the host detaches it in every other mount
 *   namespace, which would unprotect a concurrent session on the same workspace.
 * - a symbolic link anywhere on the way refuses the jail (fail closed): a link cannot be pinned, and
 *   the jail could replace it by a directory of its own.
 * A relative `core.hooksPath` of .git/config is protected as well.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, type Stats } from 'node:fs';
import { isAbsolute, join, posix, relative } from 'node:path';
import { AGENT_CONFIG_PATHS, ALWAYS_PROTECTED, JailError } from './types.js';

export interface ProtectionPlan {
  /** bwrap arguments, in mount order. */
  args: string[];
  /** Host paths of placeholders this plan created. */
  created: string[];
}

const FILE_NAMES = new Set(['config', '.env', '.envrc', '.npmrc', '.yarnrc', '.yarnrc.yml', '.gitmodules', '.gitattributes', '.gitignore', 'makefile', 'dockerfile', '.profile', '.bashrc']);

function fileLike(rel: string): boolean {
  const base = posix.basename(rel).toLowerCase();
  if (FILE_NAMES.has(base) || base.startsWith('.env')) return true;
  // An extension after the first character: settings.json, Makefile.am; not .icode or hooks.
  return base.lastIndexOf('.') > 0;
}

/** Validates and normalises workspace-relative protected paths; adds the ones every jail has. */
export function normaliseProtected(list: readonly string[] | undefined, workspace: string): string[] {
  const out = new Set<string>();
  for (const raw of [...ALWAYS_PROTECTED, ...presentAgentConfig(workspace), ...(list ?? []), ...hooksPathOf(workspace)]) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.includes('\0')) throw new JailError(`protected path ${JSON.stringify(raw)}: not a path`);
    if (isAbsolute(raw)) throw new JailError(`protected path ${raw}: must be relative to the workspace`);
    const norm = posix.normalize(raw.replace(/\/+$/, ''));
    if (norm === '.' || norm === '..' || norm.startsWith('../') || norm.split('/').includes('..')) {
      throw new JailError(`protected path ${raw}: must name something inside the workspace`);
    }
    out.add(norm);
  }
  // Shallow first; a path under another protected path is covered by it.
  const sorted = [...out].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  return sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(q + '/')));
}

/** The agent configuration paths that exist, through real folders only (a linked `.claude` is left to the gate). */
function presentAgentConfig(workspace: string): string[] {
  return AGENT_CONFIG_PATHS.filter((rel) => {
    let p = workspace;
    for (const part of rel.split('/')) {
      p = join(p, part);
      const st = lstatOrNull(p);
      if (st === null || st.isSymbolicLink()) return false;
    }
    return true;
  });
}

/** A relative (workspace-internal) core.hooksPath from .git/config, as a workspace-relative path. */
function hooksPathOf(workspace: string): string[] {
  let text: string;
  try {
    const st = lstatSync(join(workspace, '.git', 'config'));
    if (!st.isFile() || st.size > 1024 * 1024) return [];
    text = readFileSync(join(workspace, '.git', 'config'), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*hookspath\s*=\s*(.*?)\s*$/gim)) {
    let v = m[1]!.replace(/^"(.*)"$/, '$1');
    if (v.startsWith('~')) continue;
    if (isAbsolute(v)) {
      const rel = relative(workspace, v);
      if (rel.startsWith('..') || isAbsolute(rel) || rel === '') continue;
      v = rel;
    }
    if (v && !v.split('/').includes('..')) out.push(v);
  }
  return out;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Creates a placeholder; false if something appeared there meanwhile. */
function createPlaceholder(path: string, dir: boolean): boolean {
  try {
    if (dir) mkdirSync(path, { mode: 0o755 });
    else closeSync(openSync(path, 'wx', 0o644)); // O_CREAT|O_EXCL: never follows a link
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new JailError(`cannot create the placeholder ${path} for a protected path: ${(e as Error).message}`);
  }
}

/**
 * Plans (and creates placeholders for) the protection of `paths` in `workspace` (a real path).
 * `emptyDir`/`emptyFile` are read-only host objects bound over missing paths.
 */
export function planProtection(workspace: string, paths: readonly string[], emptyDir: string, emptyFile: string): ProtectionPlan {
  const pins = new Set<string>();
  const ops: { depth: number; args: string[] }[] = [];
  const created: string[] = [];
  /** Paths now under a read-only bind (a placeholder or a protected non-directory): nothing to add below. */
  const covered: string[] = [];
  for (const rel of paths) {
    if (covered.some((c) => rel === c || rel.startsWith(c + '/'))) continue;
    const parts = rel.split('/');
    for (let i = 0, attempts = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const abs = join(workspace, sub);
      const st = lstatOrNull(abs);
      const last = i === parts.length - 1;
      if (st === null) {
        const dir = !last || !fileLike(rel);
        if (!createPlaceholder(abs, dir)) {
          if (++attempts > 3) throw new JailError(`protected path ${rel}: ${sub} keeps changing`);
          i--; // appeared meanwhile: look again
          continue;
        }
        created.push(abs);
        covered.push(sub);
        ops.push({ depth: i + 1, args: ['--ro-bind', dir ? emptyDir : emptyFile, abs] });
        break;
      }
      if (st.isSymbolicLink()) {
        throw new JailError(
          `protected path ${rel}: ${sub} is a symbolic link; refusing to start the jail (a link cannot be kept read-only)`,
          `replace ${abs} with the directory or file it points to, or remove it`,
        );
      }
      if (last || !st.isDirectory()) {
        covered.push(sub);
        ops.push({ depth: i + 1, args: ['--ro-bind', abs, abs] });
        break;
      }
      if (!pins.has(abs)) {
        pins.add(abs);
        ops.push({ depth: i + 1, args: ['--bind', abs, abs] });
      }
    }
  }
  ops.sort((a, b) => a.depth - b.depth);
  return { args: ops.flatMap((o) => o.args), created };
}

/**
 * With the change gate: a protected path reached through a symbolic link refuses the jail (fail closed),
 * as the gate judges paths by name and a write through the link would land under another name.
 */
export function refuseLinkedProtected(workspace: string, paths: readonly string[]): void {
  for (const rel of paths) {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const st = lstatOrNull(join(workspace, sub));
      if (st === null) break;
      if (st.isSymbolicLink()) {
        throw new JailError(
          `protected path ${rel}: ${sub} is a symbolic link; refusing to start the jail (a link cannot be kept read-only)`,
          `replace ${join(workspace, sub)} with the directory or file it points to, or remove it`,
        );
      }
      if (!st.isDirectory()) break;
    }
  }
}
