/**
 * The WAL checkpoint thread of a busy log: a worker with its own connection runs PASSIVE checkpoints
 * every 200 ms, so the writer never stalls on the checkpoint's fsyncs. The inline auto-checkpoint
 * stays as a backstop (BACKSTOP_PAGES); a thread that fails or exits falls back to SQLite's default.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A log that writes fewer rows than this in its lifetime never starts a checkpoint thread. */
export const CHECKPOINTER_AFTER_ROWS = 2000;
/** Inline auto-checkpoint threshold (pages) while the background checkpointer runs: a backstop. */
export const BACKSTOP_PAGES = 16384;

/**
 * The checkpoint thread (CommonJS, run with eval so that it needs no file of its own). PASSIVE never
 * waits for locks and never blocks the writer; a checkpoint that finds nothing to do costs microseconds.
 */
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { timeout: 0 });
const tick = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* locked or gone: next tick */ } };
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch { /* already closed */ }
  parentPort.close();
});
`;

export class WalCheckpointer {
  private worker: Worker | null = null;
  private stopped = false;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {}

  /** True while the thread serves the log. */
  get running(): boolean {
    return this.worker !== null;
  }

  start(): void {
    const fallBack = (): void => {
      this.worker = null;
      if (!this.stopped) this.db.pragma('wal_autocheckpoint = 1000');
    };
    try {
      const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
      const worker = new Worker(CHECKPOINTER_SOURCE, { eval: true, workerData: { sqlite, path: this.path, intervalMs: 200 } });
      worker.unref();
      worker.on('error', fallBack);
      worker.on('exit', () => {
        if (this.worker === worker) fallBack();
      });
      this.worker = worker;
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    } catch {
      fallBack();
    }
  }

  /** Before the log's connection closes: the thread closes its own connection and exits. */
  stop(): void {
    this.stopped = true;
    const worker = this.worker;
    this.worker = null;
    worker?.postMessage('close');
  }
}
