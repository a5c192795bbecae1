/**
 * The append path, with group commit: rows queued in the same tick are written in one transaction on
 * `setImmediate` (or as soon as `maxBatch` rows wait), and each promise resolves with the row's `seq`
 * only after that transaction committed. The transaction is BEGIN IMMEDIATE and reads the chain's head
 * under the write lock, so several processes can append to one log and the chain stays linear.
 */
import type Database from 'better-sqlite3';
import { describeDbError } from '../sqlite-file.js';
import { GENESIS_HASH, rowHash, rowMac } from './chain.js';
import { CHECKPOINTER_AFTER_ROWS, WalCheckpointer } from './checkpointer.js';
import type { AuditKey } from './key.js';
import { COL, KIND_COLUMNS, type Cell } from './schema.js';
import { AuditError, type AuditKind } from './types.js';

interface InsertStmt {
  stmt: Database.Statement;
  /** Positions in the cells array of the statement's parameters (before prev_hash, hash). */
  idx: number[];
  /** Scratch parameter array. */
  values: Cell[];
}

interface Pending {
  cells: Cell[];
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

export interface WriterOptions {
  /** Flush as soon as this many rows are queued. */
  maxBatch: number;
  /** Start a checkpoint thread once CHECKPOINTER_AFTER_ROWS rows were written. */
  backgroundCheckpoint: boolean;
}

export class ChainWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private stopped = false;
  private rowsWritten = 0;
  private readonly insert: Readonly<Record<AuditKind, InsertStmt>>;
  private readonly head: Database.Statement;
  private readonly hasDecision: Database.Statement;
  private readonly writeBatch: (batch: Pending[]) => Array<number | Error>;
  private readonly checkpointer: WalCheckpointer | null;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly key: AuditKey | null,
    private readonly opts: WriterOptions,
  ) {
    const insert = (kind: AuditKind): InsertStmt => {
      const cols = KIND_COLUMNS[kind];
      const sql = `INSERT INTO audit (${cols.join(', ')}, prev_hash, hash) VALUES (${[...cols, 0, 0].map(() => '?').join(', ')})`;
      return { stmt: db.prepare(sql), idx: cols.map((c) => COL[c]), values: new Array<Cell>(cols.length + 2).fill(null) };
    };
    this.insert = { decision: insert('decision'), outcome: insert('outcome'), hook: insert('hook'), event: insert('event') };
    this.head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').raw();
    this.hasDecision = db.prepare("SELECT 1 FROM audit WHERE kind = 'decision' AND session = ? AND call_id = ?").pluck();
    this.writeBatch = db.transaction((batch: Pending[]) => this.insertBatch(batch)).immediate;
    this.checkpointer = opts.backgroundCheckpoint ? new WalCheckpointer(db, path) : null;
  }

  /** Queue a row; resolves with its seq once its transaction committed. */
  enqueue(cells: Cell[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ cells, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.onImmediate);
      }
    });
  }

  private readonly onImmediate = (): void => {
    this.scheduled = false;
    if (!this.stopped) this.flush();
  };

  /** Commit everything queued now, synchronously. */
  flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    let results: Array<number | Error>;
    try {
      results = this.writeBatch(batch);
    } catch (e) {
      const err = new AuditError('WRITE', `audit log write failed: ${describeDbError(this.path, 'audit log', e).message}`);
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (typeof r === 'number') batch[i].resolve(r);
      else batch[i].reject(r);
    }
    this.rowsWritten += batch.length;
    if (this.checkpointer && !this.checkpointer.running && this.rowsWritten >= CHECKPOINTER_AFTER_ROWS) this.checkpointer.start();
  }

  /** True while a background checkpoint thread serves this log. */
  get checkpointing(): boolean {
    return this.checkpointer?.running ?? false;
  }

  /** Flush, then stop the checkpoint thread (the caller closes the connection). */
  close(): void {
    this.flush();
    this.stopped = true;
    this.checkpointer?.stop();
  }

  /** Runs inside BEGIN IMMEDIATE: the head is read under the write lock, so several processes can share a log. */
  private insertBatch(batch: Pending[]): Array<number | Error> {
    const head = this.head.get() as [number, string] | undefined;
    let seq = head ? head[0] : 0;
    let prev = head ? head[1] : GENESIS_HASH;
    const results: Array<number | Error> = new Array<number | Error>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const cells = batch[i].cells;
      const kind = cells[COL.kind] as AuditKind;
      if ((kind === 'outcome' || kind === 'hook') && this.hasDecision.get(cells[COL.session], cells[COL.call_id]) === undefined) {
        results[i] = new AuditError(
          'NO_DECISION',
          `refused: ${kind} for call ${String(cells[COL.call_id])} (session ${String(cells[COL.session])}) has no recorded decision`,
        );
        continue;
      }
      cells[COL.seq] = seq + 1;
      const hash = this.key ? rowMac(this.key.key, prev, cells) : rowHash(prev, cells);
      // better-sqlite3 copies bound values: one scratch array per statement is enough.
      const { stmt, idx, values } = this.insert[kind];
      for (let j = 0; j < idx.length; j++) values[j] = cells[idx[j]];
      values[idx.length] = prev;
      values[idx.length + 1] = hash;
      try {
        stmt.run(values);
      } catch (e) {
        // A constraint or trigger aborts only this statement; anything that ended the transaction fails the batch.
        if (!this.db.inTransaction) throw e;
        const msg = (e as Error).message;
        const code = /needs an earlier decision/.test(msg) ? 'NO_DECISION' : /UNIQUE/.test(msg) ? 'DUPLICATE' : 'INVALID';
        results[i] = new AuditError(code, `audit row refused: ${msg}`);
        continue;
      }
      seq += 1;
      prev = hash;
      results[i] = seq;
    }
    return results;
  }
}
