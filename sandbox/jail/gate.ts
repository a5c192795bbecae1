/**
 * The change gate: what a command wrote into its overlay upper layer (overlay.ts) is read, judged and
 * applied to the real workspace by icode on the host while the jail is frozen (freeze.ts). Nothing a
 * jailed process writes reaches the workspace any other way.
 *
 * Read: the upper directory lists exactly what changed (overlayfs copies a file up before any write):
 * files, directories, symbolic links, whiteouts (0/0 character devices: deletions) and, for the live
 * layer, directories whose lower entries vanished from the merged view (opaque directories: `rm -rf d;
 * mkdir d`). Judged (refusals, each with the path and reason): special files (devices, FIFOs, sockets);
 * set-id bits (stripped); the session's own control files and their parent folders; repository metadata
 * the host's git would obey (see gitRule); policy-protected paths. Applied: a file is copied to a
 * temporary name in its folder, given its mode (no set-id, no sticky) and times, and renamed over the
 * target; links likewise; folders created; deletions done. No path is followed through a symbolic link
 * of the workspace: every parent is checked to be a real folder right before the write.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, constants, copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import picomatch from 'picomatch';
import { gitConfigProblem } from './git-config.js';

export type ChangeKind = 'created' | 'modified' | 'deleted';
export interface Change {
  /** Workspace-relative path. */
  path: string;
  kind: ChangeKind;
  type: 'file' | 'dir' | 'symlink' | 'gone';
  /** sha256 of a file's content, or of a link's target. */
  sha256?: string;
}
export interface Refusal {
  path: string;
  reason: string;
}
export interface GateResult {
  changes: Change[];
  refusals: Refusal[];
}

export interface GateRules {
  /** Workspace-relative control files (policy, hooks, config, databases): never changed, nor their parents replaced. */
  controlPaths: readonly string[];
  /** Workspace-relative globs no change may touch (the policy's protected paths, less the git ones gitRule decides). */
  protectedGlobs: readonly string[];
}

export interface LayerScan {
  /** Host path of the layer's upper directory. */
  upper: string;
  /** Host path of the merged view of this layer (only for the layer mounted now), for opaque folders. */
  merged: string | null;
  /** Entries already applied or refused, by path → ino:ctime (a background process may write them again). */
  seen: Map<string, string>;
}

/** Repositories (`x/.git`) the gate created during the session: their config is checked, not frozen. */
export class GateState {
  readonly createdRepos = new Set<string>();
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * As root, what the gate writes keeps the workspace's ownership: a replaced entry its old owner, a new
 * one its folder's (the jail's files are owned by an unprivileged uid that means nothing here, userns.ts).
 */
const AS_ROOT = process.getuid?.() === 0;
function ownLike(p: string, ref: Stats | null): void {
  if (AS_ROOT && ref) lchownSync(p, ref.uid, ref.gid);
}

function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

export class Gate {
  private readonly isProtected: (p: string) => boolean;
  /** The folders a protected path lies in (`.claude` of `.claude/settings.json`, at any depth for `**\/…`). */
  private readonly isProtectedFolder: (p: string) => boolean;

  constructor(
    private readonly workspace: string,
    private readonly rules: GateRules,
    private readonly state: GateState = new GateState(),
  ) {
    const globs = rules.protectedGlobs.filter((g) => !g.split('/').includes('.git'));
    this.isProtected = globs.length ? picomatch(globs, { dot: true }) : () => false;
    const folders = [...new Set(globs.flatMap((g) => g.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))].filter((f) => !f.endsWith('**'));
    this.isProtectedFolder = folders.length ? picomatch(folders, { dot: true }) : () => false;
  }

  /** Workspace folders checked (or made) during this apply: real folders, not links (the jail is frozen). */
  private okDirs = new Set<string>();

  /** Judges and applies one layer. */
  apply(layer: LayerScan): GateResult {
    const out: GateResult = { changes: [], refusals: [] };
    this.okDirs = new Set();
    this.walk(layer, '', out, true);
    return out;
  }

  /** `existed`: the folder was in the workspace before this apply (else nothing of it can have been deleted). */
  private walk(layer: LayerScan, dirRel: string, out: GateResult, existed: boolean): void {
    const upperDir = dirRel ? join(layer.upper, dirRel) : layer.upper;
    let names: string[];
    try {
      names = readdirSync(upperDir).sort();
    } catch {
      return;
    }
    // Opaque folder of the live layer: what the workspace has and the merged view no longer shows is gone.
    // (The layer's root is the mount's root: never opaque; its deletions are whiteouts.)
    if (layer.merged !== null && existed && dirRel !== '') {
      const wsDir = join(this.workspace, dirRel);
      const wsSt = lstatOrNull(wsDir);
      if (wsSt?.isDirectory()) {
        let merged: Set<string> | null = null;
        try {
          merged = new Set(readdirSync(join(layer.merged, dirRel)));
        } catch {
          merged = null;
        }
        if (merged) {
          const inUpper = new Set(names);
          for (const n of readdirSync(wsDir)) if (!merged.has(n) && !inUpper.has(n)) this.remove(dirRel ? `${dirRel}/${n}` : n, out);
        }
      }
    }
    for (const name of names) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const up = join(upperDir, name);
      const st = lstatOrNull(up);
      if (!st) continue;
      const sig = `${st.ino}:${st.ctimeMs}`;
      if (!st.isDirectory() && layer.seen.get(rel) === sig) continue;
      layer.seen.set(rel, sig);
      if (isWhiteout(st)) this.remove(rel, out);
      else if (st.isDirectory()) {
        const made = this.dir(rel, st, out);
        if (made !== 'refused') this.walk(layer, rel, out, made === 'existed');
      } else if (st.isFile()) this.file(rel, up, st, out);
      else if (st.isSymbolicLink()) this.link(rel, up, out);
      else out.refusals.push({ path: rel, reason: 'special file (device, FIFO or socket): never copied into the workspace' });
    }
  }

  /** Why `rel` (changed into `type`, or deleted) may not change, or null. */
  private refusal(rel: string, type: Change['type'], upperFile?: string): string | null {
    for (const c of this.rules.controlPaths) {
      if (rel === c || rel.startsWith(c + '/')) return "one of the session's own control files (policy, hooks, configuration, audit or sessions database)";
      if (c.startsWith(rel + '/') && type !== 'dir') return "a parent folder of the session's own control files";
    }
    if (this.isProtected(rel) || this.isProtected(rel + '/')) return 'a path the policy protects';
    // A link (or a file) where a protected path's folder belongs: `ln -s elsewhere .claude` would put
    // whatever `elsewhere/settings.json` holds at `.claude/settings.json`.
    if (type !== 'dir' && type !== 'gone' && this.isProtectedFolder(rel)) return 'a link or file in place of a folder that holds protected paths';
    return this.gitRule(rel, type, upperFile);
  }

  /**
   * Repository metadata the host's git would obey. A repository the session creates may exist only as a
   * plain `.git` folder whose config holds allowlisted keys only, without hooks, alternates, commondir or
   * worktree redirections; a `.git` file (gitdir:) or link is refused anywhere; a repository that existed
   * before keeps its config, hooks, worktrees and modules unchanged. A bare-repository layout (HEAD and
   * config side by side) outside `.git` gets the same config check.
   */
  private gitRule(rel: string, type: Change['type'], upperFile?: string): string | null {
    const parts = rel.split('/');
    const at = parts.indexOf('.git');
    if (at < 0) {
      const base = parts[parts.length - 1]!;
      // Hooks of a bare-repository layout (a folder with HEAD): the host's git would run them there.
      const hooksAt = parts.lastIndexOf('hooks');
      if (hooksAt >= 0 && hooksAt < parts.length - 1 && type !== 'dir' && !(type !== 'gone' && base.endsWith('.sample'))) {
        if (lstatOrNull(join(this.workspace, ...parts.slice(0, hooksAt), 'HEAD')) !== null) return 'git hooks of a repository layout (a folder with HEAD): the host would run them';
      }
      if ((base === 'config' || base === 'HEAD') && type === 'file') {
        const dir = parts.slice(0, -1).join('/');
        const head = base === 'HEAD' ? true : lstatOrNull(join(this.workspace, dir, 'HEAD')) !== null;
        const cfg = base === 'config' ? upperFile! : join(this.workspace, dir, 'config');
        if (head && lstatOrNull(cfg)?.isFile()) {
          const p = gitConfigProblem(cfg);
          if (p) return `a repository layout (HEAD beside config) whose config ${p}`;
        }
      }
      return null;
    }
    const repo = parts.slice(0, at + 1).join('/');
    const sub = parts.slice(at + 1);
    const before = lstatOrNull(join(this.workspace, repo));
    const existed = before?.isDirectory() === true && !this.state.createdRepos.has(repo);
    if (sub.length === 0) {
      if (type === 'file' || type === 'symlink') return 'a .git file or link (gitdir: redirection) is never accepted';
      if (type === 'gone' && before !== null && !this.state.createdRepos.has(repo)) return 'a repository that existed before the session';
      if (type === 'dir' && !existed) this.state.createdRepos.add(repo);
      return null;
    }
    const first = sub[0]!;
    const last = sub[sub.length - 1]!;
    if (first === 'hooks' && sub.length > 1 && !(type !== 'gone' && last.endsWith('.sample') && !existed)) return 'git hooks: the host would run them';
    if (first === 'commondir' || first === 'gitdir' || first === 'worktrees') return 'a git redirection (commondir, gitdir, worktrees)';
    if (sub.join('/') === 'objects/info/alternates' || sub.join('/') === 'objects/info/http-alternates') return 'git alternates: the host would read objects elsewhere';
    if (first === 'modules' && existed) return "the submodules of a repository that existed before the session";
    if (sub.includes('hooks') && first === 'modules') return 'git hooks: the host would run them';
    if (last === 'config.worktree') return 'a per-worktree git config';
    if (last === 'config' && (sub.length === 1 || first === 'modules')) {
      if (existed && sub.length === 1) return 'the config of a repository that existed before the session';
      if (type === 'gone' || type === 'dir' || type === 'symlink') return 'a git config that is not a plain file';
      const p = gitConfigProblem(upperFile!);
      if (p) return `a git config: ${p}`;
    }
    return null;
  }

  private refuse(rel: string, reason: string, out: GateResult): void {
    out.refusals.push({ path: rel, reason });
  }

  /** Parent folders of `rel` in the workspace are real folders (not links): writes never leave it. */
  private parentsOk(rel: string): boolean {
    const parts = rel.split('/');
    let p = this.workspace;
    for (const part of parts.slice(0, -1)) {
      p = join(p, part);
      if (this.okDirs.has(p)) continue;
      const st = lstatOrNull(p);
      if (!st || !st.isDirectory()) return false;
      this.okDirs.add(p);
    }
    return true;
  }

  private remove(rel: string, out: GateResult): void {
    const target = join(this.workspace, rel);
    const st = lstatOrNull(target);
    if (!st) return;
    const why = this.refusal(rel, 'gone') ?? (st.isDirectory() ? this.treeRefusal(rel) : null);
    if (why) return this.refuse(rel, `deleting ${why}`, out);
    if (!this.parentsOk(rel)) return this.refuse(rel, 'a parent folder is not a folder in the workspace', out);
    rmSync(target, { recursive: true, force: true });
    out.changes.push({ path: rel, kind: 'deleted', type: 'gone' });
  }

  /** A folder removed whole: refused when something protected is inside (only control paths and .git can be). */
  private treeRefusal(rel: string): string | null {
    for (const c of this.rules.controlPaths) if (c.startsWith(rel + '/')) return "a folder holding the session's own control files";
    const git = join(this.workspace, rel, '.git');
    if (lstatOrNull(git) && !this.state.createdRepos.has(`${rel}/.git`)) return 'a folder holding a repository that existed before the session';
    if (rel === '.git' || rel.endsWith('/.git')) return null;
    return null;
  }

  /** Whether to descend, and whether the folder was there before. */
  private dir(rel: string, st: Stats, out: GateResult): 'existed' | 'made' | 'refused' {
    const target = join(this.workspace, rel);
    const cur = lstatOrNull(target);
    if (cur?.isDirectory()) {
      const mode = st.mode & 0o777;
      if ((cur.mode & 0o7777) !== mode) chmodSync(target, mode | 0o700);
      return 'existed';
    }
    const why = this.refusal(rel, 'dir');
    if (why) {
      this.refuse(rel, why, out);
      return 'refused';
    }
    if (!this.parentsOk(rel)) {
      this.refuse(rel, 'a parent folder is not a folder in the workspace', out);
      return 'refused';
    }
    if (cur) rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { mode: (st.mode & 0o777) | 0o700 });
    ownLike(target, cur ?? lstatOrNull(join(this.workspace, posix.dirname(rel))));
    this.okDirs.add(target);
    out.changes.push({ path: rel, kind: cur ? 'modified' : 'created', type: 'dir' });
    return 'made';
  }

  private file(rel: string, up: string, st: Stats, out: GateResult): void {
    const why = this.refusal(rel, 'file', up);
    if (why) return this.refuse(rel, why, out);
    if (!this.parentsOk(rel)) return this.refuse(rel, 'a parent folder is not a folder in the workspace', out);
    if (st.mode & 0o7000) this.refuse(rel, 'set-id or sticky bit removed', out);
    const target = join(this.workspace, rel);
    const cur = lstatOrNull(target);
    const sha = sha256File(up);
    const mode = st.mode & 0o777;
    if (cur?.isFile() && cur.size === st.size && (cur.mode & 0o7777) === mode && cur.mtimeMs === st.mtimeMs && sha256File(target) === sha) return;
    const tmp = join(this.workspace, posix.dirname(rel), `.icode-gate-${randomBytes(6).toString('hex')}`);
    copyFileSync(up, tmp, constants.COPYFILE_EXCL);
    ownLike(tmp, cur ?? lstatOrNull(join(this.workspace, posix.dirname(rel))));
    chmodSync(tmp, mode);
    utimesSync(tmp, st.atime, st.mtime);
    if (cur?.isDirectory()) rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
    out.changes.push({ path: rel, kind: cur ? 'modified' : 'created', type: 'file', sha256: sha });
  }

  private link(rel: string, up: string, out: GateResult): void {
    const why = this.refusal(rel, 'symlink');
    if (why) return this.refuse(rel, why, out);
    if (!this.parentsOk(rel)) return this.refuse(rel, 'a parent folder is not a folder in the workspace', out);
    const dest = readlinkSync(up);
    const target = join(this.workspace, rel);
    const cur = lstatOrNull(target);
    if (cur?.isSymbolicLink() && readlinkSync(target) === dest) return;
    const tmp = join(this.workspace, posix.dirname(rel), `.icode-gate-${randomBytes(6).toString('hex')}`);
    symlinkSync(dest, tmp);
    ownLike(tmp, cur ?? lstatOrNull(join(this.workspace, posix.dirname(rel))));
    if (cur?.isDirectory()) rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
    out.changes.push({ path: rel, kind: cur ? 'modified' : 'created', type: 'symlink', sha256: createHash('sha256').update(dest).digest('hex') });
  }
}

/** Removes a layer directory tree the host owns (after its overlay is gone). */
export function removeLayer(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
