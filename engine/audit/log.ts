/**
 * The append-only, tamper-evident audit log (SQLite through better-sqlite3): `AuditLog`, the one
 * object callers use, over the modules that each own one part of it:
 *
 *   types.ts        records, rows, filters, results, options, AuditError
 *   schema.ts       the table, its columns, migrations, the schema check
 *   chain.ts        the hash chain: canonical JSON, row hash / HMAC, input hash
 *   cells.ts        a record → its row's cells (validated, redacted, cut)
 *   writer.ts       the append path: group commit, head read under the write lock
 *   checkpointer.ts the WAL checkpoint thread of a busy log
 *   queries.ts      list, get, findCall, stats
 *   export.ts       JSONL / CSV export
 *   verify.ts       verify(): the chain, the rows' shapes, orphans, the schema
 *
 * One table, one row per event of a tool call (`decision`, `hook`, `outcome`) or of a session
 * (`event`). Every row carries `prev_hash` and
 *
 *     hash = sha256_hex(prev_hash + canonicalJson(fields))
 *
 * where `fields` are all the other columns (seq included) that are not null, keys sorted, booleans as
 * 0/1 — exactly the values SQLite stores, so anyone can recompute the chain from the file.
 * prev_hash of row 1 is GENESIS_HASH (64 zeros).
 * Since schema 2 rows are KEYED: `mac_key` holds the id of the installation's audit key (key.ts) and
 *
 *     hash = hmac_sha256_hex(key, prev_hash + canonicalJson(fields))
 *
 * so rewriting the chain needs the key, which lives outside every workspace and jail. Rows written
 * before the key existed (mac_key null) keep the plain hash and are reported as unkeyed by verify().
 * A decision row also keeps `input_hash`: the HMAC (keyed) or sha256 of the UNREDACTED input's JSON,
 * so a redacted input can still be matched against what really ran.
 * The database is recognised as icode's by its application_id and user_version (sqlite-file.ts).
 * Triggers refuse UPDATE and DELETE, and refuse an outcome (or a hook result) for a call that has no
 * decision. `verify()` recomputes everything: hashes, links, gaps, orphans, the schema itself.
 *
 * Writes use group commit (writer.ts): each promise resolves with the row's `seq` only after its
 * transaction committed. WAL + synchronous=NORMAL: a committed row survives a crash of the process
 * (kill -9); the last commits can be lost on power loss.
 */
import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { describeDbError, openIcodeDb } from '../sqlite-file.js';
import { decisionCells, DEFAULT_MAX_INPUT, eventCells, hookCells, outcomeCells, type CellContext } from './cells.js';
import { BACKSTOP_PAGES } from './checkpointer.js';
import { exportRows } from './export.js';
import { auditKeyPath, loadAuditKey, loadOrCreateAuditKey, type AuditKey } from './key.js';
import { AuditQueries } from './queries.js';
import { AUDIT_DB_SPEC, migrate, type Cell } from './schema.js';
import {
  AuditError,
  type AuditStats,
  type AuditRow,
  type CallDetail,
  type DecisionRecord,
  type HookRecord,
  type ListFilters,
  type OpenOptions,
  type OutcomeRecord,
  type VerifyOptions,
  type VerifyResult,
} from './types.js';
import { verifyChain } from './verify.js';
import { ChainWriter } from './writer.js';

export * from './types.js';
export { auditKeyPath } from './key.js';
export { AUDIT_COLUMNS, SCHEMA_VERSION } from './schema.js';
export { canonicalJson, GENESIS_HASH, inputHash, rowHash, rowMac } from './chain.js';
export { CHECKPOINTER_AFTER_ROWS } from './checkpointer.js';

export class AuditLog {
  readonly path: string;
  readonly readonly: boolean;
  private readonly db: Database.Database;
  private closed = false;
  /** The append path (null for a read-only open). */
  private readonly writer: ChainWriter | null;
  private readonly queries: AuditQueries;
  private readonly cellContext: CellContext;
  /** The chain's key (null: unkeyed rows, plain-hash verification only). */
  private readonly key: AuditKey | null;
  /** Columns the table has (a read-only schema-1 log lacks schema 2's). */
  private readonly present: ReadonlySet<string>;

  private constructor(path: string, db: Database.Database, opts: OpenOptions, key: AuditKey | null) {
    this.path = path;
    this.db = db;
    this.key = key;
    this.present = new Set(db.prepare("SELECT name FROM pragma_table_info('audit')").pluck().all() as string[]);
    this.readonly = opts.readonly === true;
    this.cellContext = {
      key,
      maxInputChars: Math.max(1024, opts.maxInputChars ?? DEFAULT_MAX_INPUT),
      assertWritable: () => {
        if (this.closed) throw new AuditError('CLOSED', 'audit log is closed');
        if (this.readonly) throw new AuditError('READONLY', 'audit log was opened read-only');
      },
    };
    this.writer = this.readonly
      ? null
      : new ChainWriter(db, path, key, { maxBatch: Math.max(1, opts.maxBatch ?? 1000), backgroundCheckpoint: opts.checkpoint !== 'inline' });
    this.queries = new AuditQueries(db);
  }

  /**
   * Open (creating it and its parent directories if needed) the audit log at `path`. Anything that is
   * not icode's audit log (another application's database, a non-SQLite file, a directory, a device,
   * a newer schema), a read-only, locked or full one, is refused with a DbFileError (one line, exit 2).
   */
  static open(path: string, opts: OpenOptions = {}): AuditLog {
    const file = resolve(path);
    const readonly = opts.readonly === true;
    // The key first: a refused key file must not leave a half-made log behind.
    const key = opts.key !== undefined ? opts.key : readonly ? loadAuditKey(auditKeyPath()) : loadOrCreateAuditKey(auditKeyPath());
    const { db } = openIcodeDb(file, AUDIT_DB_SPEC, { readonly, timeoutMs: opts.busyTimeoutMs ?? 5000 });
    try {
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        // Once a WAL restarts, do not keep more than this much of it on disk.
        db.pragma(`journal_size_limit = ${BACKSTOP_PAGES * 4096}`);
      }
      migrate(db, readonly, file);
      return new AuditLog(file, db, opts, key);
    } catch (e) {
      db.close();
      throw e instanceof AuditError ? e : describeDbError(file, 'audit log', e);
    }
  }

  /** Id of the key this log signs and checks rows with, or null. */
  get keyId(): string | null {
    return this.key?.id ?? null;
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  /** Record a policy decision. Resolves with the row's seq once it is committed. */
  recordDecision(rec: DecisionRecord): Promise<number> {
    return this.append(decisionCells, rec);
  }

  /** Record a call's outcome. Refused unless the call's decision was recorded before. */
  recordOutcome(rec: OutcomeRecord): Promise<number> {
    return this.append(outcomeCells, rec);
  }

  /** Record a hook's result beside the call it touched (which must have a decision). */
  recordHook(rec: HookRecord): Promise<number> {
    return this.append(hookCells, rec);
  }

  /** Record a session-level event (`session.start`, `session.end`, `policy.loaded`…). */
  recordEvent(kind: string, session: string, data?: unknown): Promise<number> {
    let cells: Cell[];
    try {
      cells = eventCells(this.cellContext, kind, session, data);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.writer!.enqueue(cells);
  }

  /** A record's cells, queued; a record that cannot be stored rejects (never throws). */
  private append<R>(toCells: (ctx: CellContext, rec: R) => Cell[], rec: R): Promise<number> {
    let cells: Cell[];
    try {
      cells = toCells(this.cellContext, rec);
    } catch (e) {
      return Promise.reject(e);
    }
    // Not null: cells() refuses a read-only log.
    return this.writer!.enqueue(cells);
  }

  /** Commit everything queued now, synchronously. */
  flush(): void {
    this.writer?.flush();
  }

  /** True while a background checkpoint thread serves this log. */
  get checkpointing(): boolean {
    return this.writer?.checkpointing ?? false;
  }

  /** Flush and close. Later record* calls reject. */
  close(): void {
    if (this.closed) return;
    this.writer?.close();
    this.closed = true;
    // The last connection to close checkpoints the WAL and removes it.
    this.db.close();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  // -------------------------------------------------------------------------------------------
  // Reading (each flushes the queue first, so a reader sees the rows it wrote)

  /** Rows matching the filters, in log order (or newest first with order: 'desc'). */
  list(filters: ListFilters = {}): AuditRow[] {
    this.flushIfOpen();
    return this.queries.list(filters);
  }

  /** The row `seq` with its call: decision, outcome and hook rows. Null when there is no such row. */
  get(seq: number): CallDetail | null {
    this.flushIfOpen();
    return this.queries.get(seq);
  }

  /** Seqs of the decisions recorded for a call id (in any session unless one is given). */
  findCall(callId: string, session?: string): number[] {
    this.flushIfOpen();
    return this.queries.findCall(callId, session);
  }

  /** Counts by kind, decision, tool, rule and status; decisions without an outcome. */
  stats(filters: Pick<ListFilters, 'session' | 'since'> = {}): AuditStats {
    this.flushIfOpen();
    return this.queries.stats(filters);
  }

  /** Recompute the whole chain (verify.ts). */
  verify(opts: VerifyOptions = {}): VerifyResult {
    this.flushIfOpen();
    return verifyChain({ db: this.db, key: this.key, present: this.present }, opts);
  }

  /**
   * Stream rows (filtered like list) to `write`, 1000 rows per query so a huge log never sits in
   * memory. JSONL: one AuditRow per line. CSV: a header, then the stored columns. Resolves with the
   * number of rows written.
   */
  exportRows(format: 'jsonl' | 'csv', write: (chunk: string) => unknown, filters: Omit<ListFilters, 'order' | 'afterSeq'> = {}): Promise<number> {
    return exportRows(this.db, format, write, filters, () => this.flushIfOpen());
  }

  private flushIfOpen(): void {
    if (this.closed) throw new AuditError('CLOSED', 'audit log is closed');
    this.flush();
  }
}
