/**
 * Workspace checkpoints: a shadow git repository per workspace, kept OUTSIDE the workspace and the
 * user's `.git`, under icode's state directory:
 *
 *   <state>/checkpoints/<sha256(real workspace path)[:24]>/
 *     git/                 GIT_DIR (GIT_WORK_TREE = the workspace); its own index, info/exclude, config
 *     home/                an empty HOME for git (no user config is ever read)
 *     index.db             one row per checkpoint: tree id, session, turn, message, call id, audit row
 *     restore-journal.json present only while a restore runs (see restore.ts)
 *
 * A checkpoint is a git TREE (no commit, no ref): an unchanged workspace yields the same tree id and
 * costs no new object. `take()` re-hashes only what git's stat cache says changed (`ls-files
 * --modified --deleted --others`), or only the paths a caller names (a jail's change set), then
 * `update-index` + `write-tree`. `.gitignore`d paths are skipped unless `includeIgnored`; files over
 * `maxFileBytes` and nested repositories are left out of the tree and listed as not restorable.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { InputError } from '../errors.js';
import { ABSENT, applyJournaled, isProtectedPath, recoverJournal, type RestoreOp } from './restore.js';
import { EMPTY_TREE, git, zsplit, type ShadowGitPaths } from './shadow-git.js';

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export type CheckpointKind = 'start' | 'call' | 'turn_end' | 'restore';

export interface NotRestorable {
  path: string;
  reason: string;
  bytes?: number;
}

export interface Checkpoint {
  id: number;
  sessionId: string;
  kind: CheckpointKind;
  turn: number | null;
  /** The session's newest message when it was taken (for a call: the assistant message that asked for it). */
  messageId: number | null;
  callId: string | null;
  auditId: number | null;
  /** The tool of the call it precedes; null for start / end-of-turn / restore checkpoints. */
  tool: string | null;
  tree: string;
  notRestorable: NotRestorable[];
  createdAt: string;
}

export interface TakeOptions {
  sessionId: string;
  kind: CheckpointKind;
  turn?: number | null;
  messageId?: number | null;
  callId?: string | null;
  auditId?: number | null;
  tool?: string | null;
  /**
   * The paths that changed since the last checkpoint, when the caller knows them exactly (e.g. a
   * jail's change set): only these are re-hashed. Without it the whole workspace is scanned.
   */
  paths?: string[];
}

export interface StoreOptions {
  /** Where the per-workspace stores live (default `<dirname(sessions db)>/checkpoints`). */
  baseDir: string;
  includeIgnored?: boolean;
  maxFileBytes?: number;
}

export interface FileChange {
  status: 'A' | 'M' | 'D' | 'T';
  path: string;
}

export interface RestoreResult {
  /** The checkpoint of the state just before the restore (an undo point). */
  before: Checkpoint;
  restored: string[];
  /** Paths that differ from the target but were left alone (the filter said so). */
  kept: string[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  turn INTEGER,
  message_id INTEGER,
  call_id TEXT,
  audit_id INTEGER,
  tool TEXT,
  tree TEXT NOT NULL,
  not_restorable TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_session ON checkpoints(session_id);
`;

interface Row {
  id: number;
  session_id: string;
  kind: CheckpointKind;
  turn: number | null;
  message_id: number | null;
  call_id: string | null;
  audit_id: number | null;
  tool: string | null;
  tree: string;
  not_restorable: string;
  created_at: string;
}

const EXCLUDES = ['# written by icode: never recorded in checkpoints', '.git', '/.icode/', '.icode-restore-*', ''].join('\n');

export function storeDirFor(baseDir: string, workspace: string): string {
  return join(baseDir, createHash('sha256').update(workspace).digest('hex').slice(0, 24));
}

export class CheckpointStore {
  readonly workspace: string;
  readonly dir: string;
  readonly git: ShadowGitPaths;
  private readonly db: Database.Database;
  private readonly includeIgnored: boolean;
  private readonly maxFileBytes: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(workspace: string, dir: string, db: Database.Database, opts: StoreOptions) {
    this.workspace = workspace;
    this.dir = dir;
    this.db = db;
    this.git = { gitDir: join(dir, 'git'), workTree: workspace, home: join(dir, 'home') };
    this.includeIgnored = opts.includeIgnored ?? false;
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  get journalPath(): string {
    return join(this.dir, 'restore-journal.json');
  }

  /** Open (creating) the store of `workspace`, and finish any restore a crash interrupted. */
  static async open(workspace: string, opts: StoreOptions): Promise<CheckpointStore> {
    let ws: string;
    try {
      ws = realpathSync(workspace);
    } catch {
      throw new InputError(`workspace ${workspace} does not exist`);
    }
    if (!statSync(ws).isDirectory()) throw new InputError(`workspace ${ws} is not a directory`);
    const dir = storeDirFor(opts.baseDir, ws);
    if (dir === ws || dir.startsWith(ws + sep)) throw new InputError('the checkpoint store must live outside the workspace');
    mkdirSync(join(dir, 'home'), { recursive: true, mode: 0o700 });
    const db = new Database(join(dir, 'index.db'), { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    const store = new CheckpointStore(ws, dir, db, opts);
    try {
      await store.init();
      await store.recover();
    } catch (e) {
      db.close();
      throw e;
    }
    return store;
  }

  private async init(): Promise<void> {
    const g = this.git;
    if (!existsSync(join(g.gitDir, 'HEAD'))) {
      await git(g, ['init', '--quiet', '--template=', g.gitDir]);
      const config: Array<[string, string]> = [
        ['core.hooksPath', '/dev/null'],
        ['core.autocrlf', 'false'],
        ['core.fsmonitor', 'false'],
        ['core.symlinks', 'true'],
        ['core.filemode', 'true'],
        ['core.quotePath', 'false'],
        ['core.untrackedCache', 'true'],
        ['index.version', '4'],
        ['gc.auto', '0'],
        ['commit.gpgsign', 'false'],
      ];
      for (const [k, v] of config) await git(g, ['config', k, v]);
      writeFileSync(join(this.dir, 'workspace'), this.workspace + '\n');
    }
    mkdirSync(join(g.gitDir, 'info'), { recursive: true });
    writeFileSync(join(g.gitDir, 'info', 'exclude'), EXCLUDES);
  }

  /** Roll back a restore that a crash interrupted (no-op when there is none). */
  recover(): Promise<'none' | 'rolled_back' | 'completed'> {
    return this.serial(() => recoverJournal(this.git, this.journalPath));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** One git index: takes and restores of this process run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Record the workspace as it is now. */
  take(opts: TakeOptions): Promise<Checkpoint> {
    return this.serial(async () => {
      const { tree, notRestorable } = await this.retryLocked(() => this.snapshotTree(opts.paths));
      const info = this.db
        .prepare(
          `INSERT INTO checkpoints (session_id, kind, turn, message_id, call_id, audit_id, tool, tree, not_restorable, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(opts.sessionId, opts.kind, opts.turn ?? null, opts.messageId ?? null, opts.callId ?? null, opts.auditId ?? null, opts.tool ?? null, tree, JSON.stringify(notRestorable), new Date().toISOString());
      return this.get(Number(info.lastInsertRowid))!;
    });
  }

  /** The tree of the workspace now, without recording a checkpoint. */
  snapshot(): Promise<string> {
    return this.serial(async () => (await this.retryLocked(() => this.snapshotTree())).tree);
  }

  /** Another icode process on the same workspace holds the shadow index: wait for it (bounded). */
  private async retryLocked<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= 40 || !/index\.lock/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 25 + attempt * 5));
      }
    }
  }

  private lastNotRestorable(): NotRestorable[] {
    const row = this.db.prepare('SELECT not_restorable FROM checkpoints ORDER BY id DESC LIMIT 1').get() as { not_restorable: string } | undefined;
    return row ? (JSON.parse(row.not_restorable) as NotRestorable[]) : [];
  }

  private relative(p: string): string | null {
    const rel = isAbsolute(p) ? relative(this.workspace, p) : p;
    const norm = rel.split(sep).join('/').replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (!norm || norm.startsWith('../') || norm === '..' || isAbsolute(norm)) return null;
    return norm;
  }

  private async snapshotTree(paths?: string[]): Promise<{ tree: string; notRestorable: NotRestorable[] }> {
    const g = this.git;
    const excludes = this.includeIgnored ? [`--exclude-from=${join(g.gitDir, 'info', 'exclude')}`] : ['--exclude-standard'];
    let candidates: string[];
    const large = new Map<string, NotRestorable>();
    if (paths) {
      for (const n of this.lastNotRestorable()) large.set(n.path, n);
      const rels = paths.map((p) => this.relative(p)).filter((p): p is string => p !== null && !isProtectedPath(p));
      candidates = rels.length ? zsplit((await git(g, ['ls-files', '-z', '--modified', '--deleted', '--others', ...excludes, '--', ...rels])).stdout) : [];
      for (const r of rels) large.delete(r);
    } else {
      candidates = zsplit((await git(g, ['ls-files', '-z', '--modified', '--deleted', '--others', ...excludes])).stdout);
    }
    const gone: string[] = [];
    const update: string[] = [];
    const drop: string[] = [];
    const realDir = new Map<string, boolean>();
    // A path below a symlinked directory is not the workspace's (lstat would follow the link): gone.
    const underLink = (p: string): boolean => {
      let cur = '';
      for (const part of p.split('/').slice(0, -1)) {
        cur = cur ? `${cur}/${part}` : part;
        let ok = realDir.get(cur);
        if (ok === undefined) {
          try {
            ok = lstatSync(join(this.workspace, cur)).isDirectory();
          } catch {
            ok = false;
          }
          realDir.set(cur, ok);
        }
        if (!ok) return true;
      }
      return false;
    };
    for (const p of new Set(candidates)) {
      if (p.endsWith('/')) {
        // ls-files shows an embedded repository as a directory: its files are its own git's business.
        large.set(p, { path: p, reason: 'nested git repository' });
        continue;
      }
      if (isProtectedPath(p)) continue;
      let st;
      try {
        if (underLink(p)) throw new Error('below a symlink');
        st = lstatSync(join(this.workspace, p));
      } catch {
        gone.push(p); // --remove takes it out of the tree
        continue;
      }
      if (st.isFile() && st.size > this.maxFileBytes) {
        large.set(p, { path: p, reason: `larger than ${this.maxFileBytes} bytes`, bytes: st.size });
        drop.push(p);
      } else if (st.isFile() || st.isSymbolicLink()) {
        large.delete(p);
        update.push(p);
      } else if (!st.isDirectory()) {
        large.set(p, { path: p, reason: 'not a regular file or symbolic link' });
        drop.push(p);
      }
    }
    // Removals first: a file replaced by a directory (or the reverse) must leave before it comes back.
    const remove = [...gone, ...drop];
    // `last-tree` caches the index's tree: dropped before the index changes, written after write-tree,
    // so an unchanged workspace costs one git process and a crash in between costs a write-tree.
    const lastTree = join(this.dir, 'last-tree');
    if (!remove.length && !update.length && existsSync(lastTree)) {
      const cached = readFileSync(lastTree, 'utf8').trim();
      if (/^[0-9a-f]{40}$/.test(cached)) return { tree: cached, notRestorable: [...large.values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
    }
    if (existsSync(lastTree)) unlinkSync(lastTree);
    if (remove.length) await git(g, ['update-index', '-z', '--force-remove', '--stdin'], { input: remove.join('\0') + '\0' });
    if (update.length) await git(g, ['update-index', '-z', '--add', '--remove', '--stdin'], { input: update.join('\0') + '\0' });
    const tree = (await git(g, ['write-tree'])).stdout.toString('utf8').trim();
    writeFileSync(lastTree, tree + '\n');
    return { tree, notRestorable: [...large.values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
  }

  get(id: number): Checkpoint | null {
    const row = this.db.prepare('SELECT * FROM checkpoints WHERE id = ?').get(id) as Row | undefined;
    return row ? toCheckpoint(row) : null;
  }

  /** Checkpoints of these sessions, oldest first. */
  list(sessionIds: string[]): Checkpoint[] {
    if (!sessionIds.length) return [];
    const rows = this.db.prepare(`SELECT * FROM checkpoints WHERE session_id IN (${sessionIds.map(() => '?').join(',')}) ORDER BY id`).all(...sessionIds) as Row[];
    return rows.map(toCheckpoint);
  }

  /** Paths that differ between two trees. */
  async changes(from: string | null, to: string): Promise<FileChange[]> {
    const r = await git(this.git, ['diff-tree', '-r', '-z', '--no-renames', '--name-status', from ?? EMPTY_TREE, to]);
    const parts = zsplit(r.stdout);
    const out: FileChange[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) out.push({ status: parts[i] as FileChange['status'], path: parts[i + 1]! });
    return out;
  }

  /** A unified diff between two trees. */
  async diff(from: string | null, to: string): Promise<string> {
    const r = await git(this.git, ['diff', '--no-color', '--no-ext-diff', '--no-renames', '--binary', from ?? EMPTY_TREE, to]);
    return r.stdout.toString('utf8');
  }

  private async plan(from: string, to: string): Promise<RestoreOp[]> {
    const r = await git(this.git, ['diff-tree', '-r', '-z', '--no-renames', '--raw', from, to]);
    const parts = zsplit(r.stdout);
    const ops: RestoreOp[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      // ":100644 100644 <old> <new> M"
      const [oldMode, newMode, oldId, newId] = parts[i]!.slice(1).split(' ');
      ops.push({ path: parts[i + 1]!, from: { mode: oldMode!, id: oldId! }, to: { mode: newMode!, id: newId! } });
    }
    return ops;
  }

  /**
   * Make the workspace match `tree` for the paths `filter` accepts (all by default), atomically.
   * The state before is recorded first as a `restore` checkpoint of `sessionId`.
   */
  async restore(tree: string, opts: { sessionId: string; filter?: (path: string) => boolean; messageId?: number | null }): Promise<RestoreResult> {
    await this.recover();
    const before = await this.take({ sessionId: opts.sessionId, kind: 'restore', messageId: opts.messageId ?? null });
    return this.serial(async () => {
      const all = await this.plan(before.tree, tree);
      const ops = all.filter((op) => !isProtectedPath(op.path) && (opts.filter ? opts.filter(op.path) : true));
      const kept = all.filter((op) => !ops.includes(op)).map((op) => op.path);
      if (ops.length) await applyJournaled(this.git, this.journalPath, { workspace: this.workspace, fromTree: before.tree, toTree: tree, ops });
      return { before, restored: ops.map((o) => o.path), kept };
    });
  }

  /** For tests and tools: is a restore journal pending? */
  get pendingRestore(): boolean {
    return existsSync(this.journalPath);
  }

  /** Drop a stale pause marker left by a test-paused restore. */
  clearPauseMarker(): void {
    const m = `${this.journalPath}.paused`;
    if (existsSync(m)) unlinkSync(m);
  }

  /** The workspace path recorded when the store was created (for diagnostics). */
  recordedWorkspace(): string | null {
    const f = join(this.dir, 'workspace');
    return existsSync(f) ? readFileSync(f, 'utf8').trim() : null;
  }
}

function toCheckpoint(r: Row): Checkpoint {
  return {
    id: r.id,
    sessionId: r.session_id,
    kind: r.kind,
    turn: r.turn,
    messageId: r.message_id,
    callId: r.call_id,
    auditId: r.audit_id,
    tool: r.tool,
    tree: r.tree,
    notRestorable: JSON.parse(r.not_restorable) as NotRestorable[],
    createdAt: r.created_at,
  };
}

export { ABSENT };
