/**
 * Paths the policy denies reading, at any depth (`**\/.env`, `secrets/**`, `**\/*.pem`), found in the
 * workspace so the jail can mask them (an empty read-only file or folder mounted over each): no alias —
 * a symbolic link, `..`, a renamed parent — reaches a masked inode, because the mount covers the inode's
 * path in the jail's own view.
 *
 * Cost: one walk of the workspace when the jail starts; before each command only a stat of every folder
 * already known (a folder whose entries changed has a new mtime — files created, renamed or deleted in
 * it, by the person between commands or by the gate applying the jail's changes) and a re-read of the
 * folders that changed (new sub-folders are walked). No budget and no skipped folder: node_modules and
 * ignored folders are walked like any other. A folder that is denied as a whole is masked whole and not
 * walked below.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';

const GLOB_CHARS = /[*?[\]{}()!+@]/;
/** A name no real file has: a folder is denied as a whole when a file of this name inside it would be. */
const PROBE = '\u0001icode-any';

interface Dir {
  /** ino:mtime:ctime when last read. */
  sig: string;
  /** Sub-folders (not links) walked below it. */
  subdirs: Set<string>;
  /** Denied entries directly in it. */
  denied: Set<string>;
}

/**
 * `globs`: workspace-relative path patterns of the policy's deny-read rules (a pattern without glob
 * characters also covers what lies below it, as the policy matches); `check`, when given, confirms a
 * candidate with the policy itself (so an allow rule that wins over the deny keeps the path visible).
 */
export class MaskIndex {
  private readonly dirs = new Map<string, Dir>();
  private readonly match: (rel: string) => boolean;

  constructor(
    private readonly workspace: string,
    globs: readonly string[],
    private readonly check: (rel: string) => boolean = () => true,
  ) {
    const pats: string[] = [];
    for (const raw of globs) {
      const p = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (!p || p.startsWith('/') || p.split('/').includes('..')) continue;
      pats.push(p);
      if (!GLOB_CHARS.test(p)) pats.push(`${p}/**`);
    }
    const m = pats.length ? picomatch(pats, { dot: true }) : null;
    this.match = m ? (rel) => m(rel) : () => false;
    if (pats.length) this.scan('');
  }

  get empty(): boolean {
    return [...this.dirs.values()].every((d) => d.denied.size === 0);
  }

  /** Workspace-relative denied paths (a masked folder's contents are not listed). */
  list(): string[] {
    const out: string[] = [];
    for (const [rel, d] of this.dirs) for (const n of d.denied) out.push(rel ? `${rel}/${n}` : n);
    return out.sort();
  }

  /** Re-reads the folders that changed since the last look; true when the denied set changed. */
  update(): boolean {
    if (this.dirs.size === 0) return false;
    let before: string | null = null;
    for (const [rel, d] of [...this.dirs]) {
      if (!this.dirs.has(rel)) continue; // dropped with a parent meanwhile
      const sig = this.signature(rel);
      if (sig === d.sig) continue;
      before ??= this.list().join('\0');
      if (sig === null) this.drop(rel);
      else this.reread(rel, d, sig);
    }
    return before !== null && before !== this.list().join('\0');
  }

  private signature(rel: string): string | null {
    try {
      const st = statSync(rel ? join(this.workspace, rel) : this.workspace, { bigint: true });
      return st.isDirectory() ? `${st.ino}:${st.mtimeNs}:${st.ctimeNs}` : null;
    } catch {
      return null;
    }
  }

  /** A file that matches; a folder that matches or everything in which would (`secrets/**`): masked whole. */
  private denied(rel: string, dir: boolean): boolean {
    if (!this.match(rel) && !(dir && this.match(`${rel}/${PROBE}`))) return false;
    return this.check(rel);
  }

  /** Forgets `rel` and every folder below it. */
  private drop(rel: string): void {
    const d = this.dirs.get(rel);
    if (!d) return;
    this.dirs.delete(rel);
    for (const s of d.subdirs) this.drop(rel ? `${rel}/${s}` : s);
  }

  /** A known folder whose entries changed: its own entries again; known sub-folders keep their state. */
  private reread(rel: string, d: Dir, sig: string): void {
    const old = d.subdirs;
    d.sig = sig;
    d.subdirs = new Set();
    d.denied = new Set();
    this.entries(rel, d, old);
    for (const s of old) if (!d.subdirs.has(s)) this.drop(rel ? `${rel}/${s}` : s);
  }

  private scan(rel: string): void {
    const sig = this.signature(rel);
    if (sig === null) return;
    const d: Dir = { sig, subdirs: new Set(), denied: new Set() };
    this.dirs.set(rel, d);
    this.entries(rel, d, new Set());
  }

  /** Reads `rel`'s entries into `d`; sub-folders in `known` are not walked again. */
  private entries(rel: string, d: Dir, known: ReadonlySet<string>): void {
    let entries;
    try {
      entries = readdirSync(rel ? join(this.workspace, rel) : this.workspace, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      const isDir = e.isDirectory();
      if (this.denied(child, isDir)) d.denied.add(e.name);
      else if (isDir) {
        d.subdirs.add(e.name);
        if (!known.has(e.name) || !this.dirs.has(child)) this.scan(child);
      }
    }
  }
}
