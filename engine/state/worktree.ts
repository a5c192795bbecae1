/**
 * The workspace as git trees, built in-process: a directory-by-directory model of the last checkpoint
 * (file → mode, blob id and the stat data it was hashed from, like git's index; directory → its tree
 * id while unchanged), so that
 *
 *  - a full scan walks the workspace and re-hashes only files whose stat data (size, mtime, ctime,
 *    inode, mode) differ from the cache, and re-writes only the trees of directories that changed;
 *  - an update with a known change set (`update(paths)`) looks at those paths only: one file changed
 *    rewrites that blob and the trees on its path, nothing else.
 *
 * What is left out, as `git add -A` would with the shadow's `info/exclude`: `.git` anywhere (the
 * user's repository and nested ones), `.icode` at the root, restore temp files, and (unless
 * `includeIgnored`) what `.gitignore` files exclude. Nested repositories, files over the size limit,
 * unreadable files and special files are listed as not restorable. Racy entries (stat data newer
 * than `RACY_MS` before the scan began: a write in the same timestamp tick could go unseen) are
 * re-hashed at the next scan, as git re-checks racily clean index entries.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import ignore, { type Ignore } from 'ignore';
import { isProtectedPath } from './restore.js';
import type { ObjectWriter, TreeEntry } from './objects.js';

export interface NotRestorable {
  path: string;
  reason: string;
  bytes?: number;
}

export type FileMode = '100644' | '100755' | '120000';

export interface FileRec {
  mode: FileMode;
  id: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Stat data too fresh to vouch for the content: re-hash next time. */
  racy: boolean;
}

export class DirNode {
  readonly files = new Map<string, FileRec>();
  readonly dirs = new Map<string, DirNode>();
  /** Tree id while nothing below changed; null: to be computed. */
  id: string | null = null;
}

/** The id of the empty tree (git's well-known constant for sha1 repositories). */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Stat data this close to the scan's start (or later) is racy: 2 s covers 1 s-granularity filesystems. */
const RACY_MS = 2000;

/** Above this many changed paths, one walk of the workspace is cheaper than refreshing each. */
const MAX_UPDATE_PATHS = 2000;

interface Level {
  /** Workspace-relative directory of the .gitignore ('' for the root). */
  base: string;
  ig: Ignore;
}

export interface WorkTreeOptions {
  includeIgnored: boolean;
  maxFileBytes: number;
}

function modeOf(st: Stats): FileMode | null {
  if (st.isSymbolicLink()) return '120000';
  if (st.isFile()) return st.mode & 0o100 ? '100755' : '100644';
  return null;
}

/** Never recorded, whatever the ignore rules say (the shadow's info/exclude, and isProtectedPath). */
function builtinExcluded(name: string, atRoot: boolean): boolean {
  if (name.charCodeAt(0) !== 0x2e) return false; // '.'
  return name.toLowerCase() === '.git' || (atRoot && name === '.icode') || name.startsWith('.icode-restore-');
}

export class WorkTree {
  root = new DirNode();
  notRestorable = new Map<string, NotRestorable>();
  private scanStart = 0;

  constructor(
    private readonly workspace: string,
    private readonly objects: ObjectWriter,
    private readonly opts: WorkTreeOptions,
  ) {}

  /** Workspace-relative paths here are already normal (no '.', '..', '//'): concatenation suffices. */
  private abs(rel: string): string {
    return rel ? `${this.workspace}/${rel}` : this.workspace;
  }

  /** The rules of `dirRel/.gitignore` (a symbolic link named .gitignore is not read, as in git ≥ 2.32). */
  private loadLevel(dirRel: string): Level | null {
    if (this.opts.includeIgnored) return null;
    const p = `${this.abs(dirRel)}/.gitignore`;
    let text: string;
    try {
      if (!lstatSync(p).isFile()) return null;
      text = readFileSync(p, 'utf8');
    } catch {
      return null;
    }
    return { base: dirRel, ig: ignore({ ignorecase: false, allowRelativePaths: true }).add(text) };
  }

  /** Deepest rules first; the first that matches (positively or with `!`) decides, as in git. */
  private ignored(levels: readonly Level[], rel: string, isDir: boolean): boolean {
    for (let i = levels.length - 1; i >= 0; i--) {
      const { base, ig } = levels[i]!;
      const sub = base ? rel.slice(base.length + 1) : rel;
      try {
        const r = ig.test(isDir ? `${sub}/` : sub);
        if (r.ignored) return true;
        if (r.unignored) return false;
      } catch {
        // a path `ignore` refuses to judge: not ignored by this file
      }
    }
    return false;
  }

  private dropNotRestorable(rel: string): void {
    for (const k of this.notRestorable.keys()) if (k === rel || k === `${rel}/` || k.startsWith(`${rel}/`)) this.notRestorable.delete(k);
  }

  /** A file or symbolic link's record: the cached one when its stat data match, else hashed and stored. */
  private fileRec(rel: string, st: Stats, old: FileRec | undefined): FileRec | null {
    const mode = modeOf(st);
    if (mode === null) {
      this.notRestorable.set(rel, { path: rel, reason: 'not a regular file or symbolic link' });
      return null;
    }
    if (mode !== '120000' && st.size > this.opts.maxFileBytes) {
      this.notRestorable.set(rel, { path: rel, reason: `larger than ${this.opts.maxFileBytes} bytes`, bytes: st.size });
      return null;
    }
    if (old && !old.racy && old.mode === mode && old.size === st.size && old.mtimeMs === st.mtimeMs && old.ctimeMs === st.ctimeMs && old.ino === st.ino) return old;
    let body: Buffer;
    try {
      body = mode === '120000' ? readlinkSync(this.abs(rel), { encoding: 'buffer' }) : readFileSync(this.abs(rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null; // gone since the stat
      this.notRestorable.set(rel, { path: rel, reason: `not readable (${code ?? 'error'})` });
      return null;
    }
    if (mode !== '120000' && body.length > this.opts.maxFileBytes) {
      this.notRestorable.set(rel, { path: rel, reason: `larger than ${this.opts.maxFileBytes} bytes`, bytes: body.length });
      return null;
    }
    const newest = Math.max(st.mtimeMs, st.ctimeMs);
    return { mode, id: this.objects.write('blob', body), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, racy: newest >= this.scanStart - RACY_MS };
  }

  /** A directory, walked: its own .gitignore applies to its entries. */
  private walkDir(rel: string, parentLevels: readonly Level[], old: DirNode | undefined): DirNode {
    const node = new DirNode();
    let ents: Dirent[];
    try {
      ents = readdirSync(this.abs(rel), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // gone or replaced since it was listed: the next take sees what it is now
      if (rel && code !== 'ENOENT' && code !== 'ENOTDIR') this.notRestorable.set(`${rel}/`, { path: `${rel}/`, reason: `directory not readable (${code ?? 'error'})` });
      return node;
    }
    const own = ents.some((e) => e.name === '.gitignore') ? this.loadLevel(rel) : null;
    const levels = own ? [...parentLevels, own] : parentLevels;
    const honour = !this.opts.includeIgnored && levels.length > 0;
    for (const e of ents) {
      const name = e.name;
      if (builtinExcluded(name, rel === '')) continue;
      const childRel = rel ? `${rel}/${name}` : name;
      let isDir = e.isDirectory();
      let st: Stats | undefined;
      if (!isDir && !e.isFile() && !e.isSymbolicLink()) {
        // DT_UNKNOWN on some filesystems, or a special file
        st = lstatSync(this.abs(childRel), { throwIfNoEntry: false });
        if (!st) continue;
        isDir = st.isDirectory();
      }
      if (honour && this.ignored(levels, childRel, isDir)) continue;
      if (isDir) {
        if (existsSync(`${this.abs(childRel)}/.git`)) {
          this.notRestorable.set(`${childRel}/`, { path: `${childRel}/`, reason: 'nested git repository' });
          continue;
        }
        const sub = this.walkDir(childRel, levels, old?.dirs.get(name));
        if (sub.files.size || sub.dirs.size) node.dirs.set(name, sub);
        continue;
      }
      st ??= lstatSync(this.abs(childRel), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) continue; // replaced by a directory since readdir: the next scan sees it
      const rec = this.fileRec(childRel, st, old?.files.get(name));
      if (rec) node.files.set(name, rec);
    }
    if (old && old.id !== null && sameAs(node, old)) node.id = old.id;
    return node;
  }

  /** Walk the whole workspace (stat cache: unchanged files are not read). */
  scanAll(): 'scan' {
    this.scanStart = Date.now();
    this.notRestorable = new Map();
    const own = this.loadLevel('');
    this.root = this.walkDir('', own ? [own] : [], this.root);
    return 'scan';
  }

  /**
   * Refresh only these workspace-relative paths (files, links, directories — a directory is walked —
   * or paths that no longer exist); everything else is taken as unchanged since the last scan.
   */
  update(paths: Iterable<string>): 'paths' | 'scan' {
    this.scanStart = Date.now();
    const targets = new Set<string>();
    for (const p of paths) {
      if (!p || isProtectedPath(p)) continue;
      // New ignore rules change what is recorded below their directory: walk it again.
      const slash = p.lastIndexOf('/');
      if (p.slice(slash + 1) === '.gitignore') {
        if (slash < 0) return this.scanAll();
        targets.add(p.slice(0, slash));
      } else targets.add(p);
    }
    // A change set this large (an install, a checkout) is cheaper as one walk than path by path.
    if (targets.size > MAX_UPDATE_PATHS) return this.scanAll();
    // Shallow first: a directory walked again already covers the paths below it.
    const sorted = [...targets].sort((a, b) => a.split('/').length - b.split('/').length);
    const done = new Set<string>();
    for (const p of sorted) {
      const parts = p.split('/');
      if (parts.some((_, i) => i < parts.length - 1 && done.has(parts.slice(0, i + 1).join('/')))) continue;
      done.add(this.refresh(p));
    }
    return 'paths';
  }

  /** Refresh one path; returns the path actually refreshed (an ancestor when that one changed kind). */
  private refresh(p: string): string {
    const parts = p.split('/');
    let levels: Level[] = [];
    const rootLevel = this.loadLevel('');
    if (rootLevel) levels.push(rootLevel);
    const chain: DirNode[] = [this.root];
    let node = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const rel = parts.slice(0, i + 1).join('/');
      const st = lstatSync(this.abs(rel), { throwIfNoEntry: false });
      // An ancestor that is no longer a real directory, is ignored or became a repository: refresh it instead.
      if (!st || !st.isDirectory() || builtinExcluded(parts[i]!, i === 0) || (!this.opts.includeIgnored && this.ignored(levels, rel, true)) || existsSync(`${this.abs(rel)}/.git`)) {
        return this.refresh(rel);
      }
      const own = this.loadLevel(rel);
      if (own) levels = [...levels, own];
      // It was a file (or a file not restorable) at the last checkpoint: it is a directory now.
      if (node.files.delete(parts[i]!) || this.notRestorable.has(rel)) this.notRestorable.delete(rel);
      let next = node.dirs.get(parts[i]!);
      if (!next) {
        next = new DirNode();
        node.dirs.set(parts[i]!, next);
      }
      chain.push(next);
      node = next;
    }
    for (const n of chain) n.id = null;
    const name = parts[parts.length - 1]!;
    const oldFile = node.files.get(name);
    const oldDir = node.dirs.get(name);
    node.files.delete(name);
    node.dirs.delete(name);
    this.dropNotRestorable(p);
    const st = lstatSync(this.abs(p), { throwIfNoEntry: false });
    if (!st || builtinExcluded(name, parts.length === 1)) return p;
    if (!this.opts.includeIgnored && this.ignored(levels, p, st.isDirectory())) return p;
    if (st.isDirectory()) {
      if (existsSync(`${this.abs(p)}/.git`)) {
        this.notRestorable.set(`${p}/`, { path: `${p}/`, reason: 'nested git repository' });
        return p;
      }
      const sub = this.walkDir(p, levels, oldDir);
      if (sub.files.size || sub.dirs.size) node.dirs.set(name, sub);
      return p;
    }
    const rec = this.fileRec(p, st, oldFile);
    if (rec) node.files.set(name, rec);
    return p;
  }

  /** Write the trees of changed directories (bottom-up); returns the root tree id. */
  writeTrees(node: DirNode = this.root): string {
    if (node.id !== null) return node.id;
    const entries: TreeEntry[] = [];
    for (const [name, f] of node.files) entries.push({ name, mode: f.mode, id: f.id });
    for (const [name, d] of node.dirs) {
      const id = this.writeTrees(d);
      if (id === EMPTY_TREE) node.dirs.delete(name);
      else entries.push({ name, mode: '40000', id });
    }
    node.id = this.objects.writeTree(entries);
    return node.id;
  }

  sortedNotRestorable(): NotRestorable[] {
    return [...this.notRestorable.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The stat cache as JSON-able rows (persisted so that a new process does not re-hash everything). */
  serialize(): unknown[] {
    const rows: unknown[] = [];
    const walk = (n: DirNode, rel: string): void => {
      rows.push(['d', rel, n.id]);
      for (const [name, f] of n.files) rows.push(['f', rel ? `${rel}/${name}` : name, f.mode, f.id, f.size, f.mtimeMs, f.ctimeMs, f.ino, f.racy ? 1 : 0]);
      for (const [name, d] of n.dirs) walk(d, rel ? `${rel}/${name}` : name);
    };
    walk(this.root, '');
    return rows;
  }

  /** Load rows written by serialize() (unknown shapes are skipped: the cache only saves work). */
  load(rows: unknown[]): void {
    const root = new DirNode();
    const dirs = new Map<string, DirNode>([['', root]]);
    const dirOf = (rel: string): DirNode => {
      let d = dirs.get(rel);
      if (d) return d;
      const slash = rel.lastIndexOf('/');
      const parent = dirOf(slash < 0 ? '' : rel.slice(0, slash));
      d = new DirNode();
      parent.dirs.set(rel.slice(slash + 1), d);
      dirs.set(rel, d);
      return d;
    };
    for (const r of rows) {
      if (!Array.isArray(r)) continue;
      if (r[0] === 'd' && typeof r[1] === 'string') {
        dirOf(r[1]).id = typeof r[2] === 'string' && /^[0-9a-f]{40}$/.test(r[2]) ? r[2] : null;
      } else if (r[0] === 'f' && typeof r[1] === 'string' && r.length === 9 && /^[0-9a-f]{40}$/.test(String(r[3])) && ['100644', '100755', '120000'].includes(String(r[2]))) {
        const slash = r[1].lastIndexOf('/');
        dirOf(slash < 0 ? '' : r[1].slice(0, slash)).files.set(r[1].slice(slash + 1), {
          mode: r[2] as FileMode,
          id: String(r[3]),
          size: Number(r[4]),
          mtimeMs: Number(r[5]),
          ctimeMs: Number(r[6]),
          ino: Number(r[7]),
          racy: r[8] !== 0,
        });
      }
    }
    this.root = root;
  }
}

/** Same entries (files by record, directories by tree id) as `old`. */
function sameAs(node: DirNode, old: DirNode): boolean {
  if (node.files.size !== old.files.size || node.dirs.size !== old.dirs.size) return false;
  for (const [name, f] of node.files) {
    const o = old.files.get(name);
    if (!o || o.id !== f.id || o.mode !== f.mode) return false;
  }
  for (const [name, d] of node.dirs) {
    const o = old.dirs.get(name);
    if (!o || d.id === null || o.id !== d.id) return false;
  }
  return true;
}
