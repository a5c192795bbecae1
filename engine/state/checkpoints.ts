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
 *     stat-cache.json      the stat cache (path → stat data → blob id), saved now and then and at close
 *
 * A checkpoint is a git TREE (no commit, no ref): an unchanged workspace yields the same tree id and
 * costs no new object. Trees and blobs are written in-process (objects.ts, worktree.ts): no git
 * process runs on the hot path. `take()` walks the workspace and re-hashes only files whose stat
 * data changed, or looks only at the paths a caller names (a jail's change set, the file a `write`
 * wrote) on top of this process's model of the previous checkpoint. `.gitignore`d paths are skipped
 * unless `includeIgnored`; files over `maxFileBytes` and nested repositories are left out of the tree
 * and listed as not restorable. Diff, changes and restore still run git (not on the hot path).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { InputError } from '../errors.js';
import { ABSENT, applyJournaled, isProtectedPath, recoverJournal, type RestoreOp } from './restore.js';
import { ObjectWriter } from './objects.js';
import { EMPTY_TREE, git, zsplit, type ShadowGitPaths } from './shadow-git.js';
import { WorkTree, type NotRestorable } from './worktree.js';

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export type CheckpointKind = 'start' | 'call' | 'turn_end' | 'restore';

export type { NotRestorable };

/** A scan saves the stat cache at most this often (and close() always does). */
const SAVE_EVERY_MS = 10_000;

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
CREATE TABLE IF NOT EXISTS invalidations (id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, pid INTEGER NOT NULL, at TEXT NOT NULL);
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
  private readonly worktree: WorkTree;
  /** The worktree model is the last checkpoint this process took (a paths-only take may build on it). */
  private baseValid = false;
  /** `PRAGMA data_version` after this process's last take: another connection's write changes it. */
  private dataVersion: number | null = null;
  private savedAt = 0;

  private constructor(workspace: string, dir: string, db: Database.Database, opts: StoreOptions) {
    this.workspace = workspace;
    this.dir = dir;
    this.db = db;
    this.git = { gitDir: join(dir, 'git'), workTree: workspace, home: join(dir, 'home') };
    this.includeIgnored = opts.includeIgnored ?? false;
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.worktree = new WorkTree(workspace, new ObjectWriter(this.git.gitDir), { includeIgnored: this.includeIgnored, maxFileBytes: this.maxFileBytes });
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
    // No fsync per checkpoint row (WAL stays consistent; a power loss may drop the newest rows, as it
    // may the loose objects git itself does not fsync). The restore journal is fsynced on its own.
    db.pragma('synchronous = NORMAL');
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
    this.loadCache();
  }

  /** Roll back a restore that a crash interrupted (no-op when there is none). */
  recover(): Promise<'none' | 'rolled_back' | 'completed'> {
    return this.serial(async () => {
      const r = await recoverJournal(this.git, this.journalPath);
      if (r !== 'none') this.invalidate(`restore ${r}`);
      return r;
    });
  }

  close(): void {
    if (!this.db.open) return;
    if (this.baseValid) this.saveCache();
    this.db.close();
  }

  /** One worktree model: takes and restores of this process run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Record the workspace as it is now. With `paths` (the exact change set since the previous
   * checkpoint of this store), only those are looked at; without it, or when this process's model of
   * the last checkpoint cannot be trusted (first take, a restore, another process took one since),
   * the whole workspace is scanned.
   */
  take(opts: TakeOptions): Promise<Checkpoint> {
    return this.serial(async () => {
      const { tree, notRestorable } = this.snapshotTree(opts.paths);
      this.insertRow ??= this.db.prepare(
        `INSERT INTO checkpoints (session_id, kind, turn, message_id, call_id, audit_id, tool, tree, not_restorable, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const info = this.insertRow.run(opts.sessionId, opts.kind, opts.turn ?? null, opts.messageId ?? null, opts.callId ?? null, opts.auditId ?? null, opts.tool ?? null, tree, JSON.stringify(notRestorable), new Date().toISOString());
      return this.get(Number(info.lastInsertRowid))!;
    });
  }

  private insertRow: Database.Statement | undefined;
  private getRow: Database.Statement | undefined;

  /** The tree of the workspace now (always a full scan), without recording a checkpoint. */
  snapshot(): Promise<string> {
    return this.serial(async () => this.snapshotTree().tree);
  }

  /** How the last take went (for the bench and tests): 'paths' or 'scan'. */
  lastTakeMode: 'paths' | 'scan' | null = null;

  /** Workspace-relative form of a change-set path: '' for the workspace itself, null outside it. */
  private relative(p: string): string | null {
    const rel = isAbsolute(p) ? relative(this.workspace, p) : p;
    const norm = posix.normalize(rel.split(sep).join('/')).replace(/\/+$/, '');
    if (!norm || norm === '.') return '';
    if (norm.startsWith('../') || norm === '..' || isAbsolute(norm)) return null;
    return norm;
  }

  /**
   * The model is the last checkpoint of this workspace: this process took it and no other connection
   * wrote to index.db since (another process's take, a restore's invalidation row).
   */
  private baseIsCurrent(): boolean {
    return this.baseValid && this.dataVersion !== null && this.db.pragma('data_version', { simple: true }) === this.dataVersion;
  }

  private snapshotTree(paths?: string[]): { tree: string; notRestorable: NotRestorable[] } {
    const wt = this.worktree;
    // Read before looking at the workspace: a write by another process from now on is seen next time.
    const dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    const rels: string[] = [];
    let whole = false;
    for (const p of paths ?? []) {
      const r = this.relative(p);
      if (r === '') whole = true; // the workspace itself changed (e.g. an opaque root): scan
      else if (r !== null && !isProtectedPath(r)) rels.push(r);
    }
    if (paths && !whole && this.baseIsCurrent()) {
      this.lastTakeMode = wt.update(rels);
    } else {
      this.lastTakeMode = wt.scanAll();
    }
    const tree = wt.writeTrees();
    this.baseValid = true;
    this.dataVersion = dataVersion;
    if (this.lastTakeMode === 'scan' && Date.now() - this.savedAt > SAVE_EVERY_MS) this.saveCache();
    return { tree, notRestorable: wt.sortedNotRestorable() };
  }

  /** The workspace changed under the model (a restore, a recovered one): every process's next take scans. */
  private invalidate(reason: string): void {
    this.baseValid = false;
    this.db.prepare('INSERT INTO invalidations (reason, pid, at) VALUES (?, ?, ?)').run(reason, process.pid, new Date().toISOString());
  }

  private get cachePath(): string {
    return join(this.dir, 'stat-cache.json');
  }

  /** Persist the stat cache (temp + rename; a lost or stale cache only costs re-hashing). */
  private saveCache(): void {
    try {
      const tmp = `${this.cachePath}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: 1, rows: this.worktree.serialize() }));
      renameSync(tmp, this.cachePath);
      this.savedAt = Date.now();
    } catch {
      // best effort
    }
  }

  private loadCache(): void {
    try {
      const data = JSON.parse(readFileSync(this.cachePath, 'utf8')) as { version?: number; rows?: unknown };
      if (data.version === 1 && Array.isArray(data.rows)) this.worktree.load(data.rows);
    } catch {
      // none yet, or unreadable: the first scan hashes everything
    }
  }

  get(id: number): Checkpoint | null {
    this.getRow ??= this.db.prepare('SELECT * FROM checkpoints WHERE id = ?');
    const row = this.getRow.get(id) as Row | undefined;
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
      if (ops.length) {
        // The files change under every process's model: their next take scans (told before and after).
        this.invalidate('restore begins');
        try {
          await applyJournaled(this.git, this.journalPath, { workspace: this.workspace, fromTree: before.tree, toTree: tree, ops });
        } finally {
          this.invalidate('restore ended');
        }
      }
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
