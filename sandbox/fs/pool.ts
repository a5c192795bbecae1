/**
 * FsPool: the file tools on a piscina worker pool.
 *
 * - Backpressure: an async semaphore in front of piscina admits at most `maxThreads + maxQueue` calls;
 *   the rest wait in FIFO order (one small record each) instead of overflowing piscina's queue, so a
 *   flood of calls neither crashes nor grows piscina's memory.
 * - Failure isolation: each call has its own deadline (`taskTimeoutMs`, counted from admission); on
 *   expiry piscina terminates the thread running it and the call fails with TIMEOUT. A thread that dies
 *   (process.exit, uncaught error, out of memory) fails only the call it ran, with WORKER_CRASHED;
 *   piscina starts a replacement and the pool goes on.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { distPath } from '../dist-path.js';
import type { FsErrorCode, FsRequest, FsResult } from './types.js';
import type { TestHook, TestHookRequest } from './worker.js';

export interface FsPoolOptions {
  /** Worker threads (default: min(4, available cores)). */
  maxThreads?: number;
  /** Threads kept alive when idle (default: maxThreads, so a burst never waits for thread start-up). */
  minThreads?: number;
  /**
   * Calls admitted beyond the running ones, waiting inside piscina (default maxThreads). Kept small: a
   * call's deadline runs from admission, so a queued call can wait behind at most ~maxQueue/maxThreads
   * calls per thread; everything beyond waits in the admission queue, where no deadline runs.
   */
  maxQueue?: number;
  /** Deadline of one call from admission, in ms (default 30 000). */
  taskTimeoutMs?: number;
  /** How long an idle thread above minThreads lives (default 60 000 ms; piscina's default churns). */
  idleTimeoutMs?: number;
  /** V8 heap cap of each worker thread, in MB (default 512). A thread over it dies: WORKER_CRASHED. */
  maxOldGenerationSizeMb?: number;
  /**
   * Enables the crash/hang test hooks in the workers. For tests only: never set in the product.
   * @internal
   */
  unsafeTestHooks?: boolean;
}

export interface FsPoolStats {
  threads: number;
  /** Calls inside piscina (running or in its queue). */
  inFlight: number;
  /** Calls waiting for admission. */
  waiting: number;
  peakInFlight: number;
  peakWaiting: number;
  /** Admission limit: maxThreads + maxQueue. */
  admissionLimit: number;
  completed: number;
  failed: number;
  timeouts: number;
  crashes: number;
  utilization: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  /** Settled (granted, aborted or rejected): skipped by release(). */
  done: boolean;
}

/** FIFO async semaphore. Waiters are kept in an array with a moving head (no O(n) shift). */
class Semaphore {
  private queue: Waiter[] = [];
  private head = 0;
  active = 0;
  constructor(readonly limit: number) {}

  acquire(signal?: AbortSignal): Promise<void> {
    this.skipSettled();
    if (this.active < this.limit && this.head === this.queue.length) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (w.done) return;
        w.done = true;
        reject(signal?.reason ?? new Error('aborted'));
      };
      const w: Waiter = {
        done: false,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.queue.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.skipSettled();
    if (this.head < this.queue.length) {
      const w = this.queue[this.head++]!;
      w.done = true;
      this.compact();
      w.resolve(); // the slot passes straight to the waiter: `active` is unchanged
      return;
    }
    this.active--;
  }

  rejectAll(e: unknown): void {
    const ws = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const w of ws) {
      if (w.done) continue;
      w.done = true;
      w.reject(e);
    }
  }

  private skipSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

const TIMEOUT = Symbol('icode.fs.timeout');
const CALLER_ABORT = Symbol('icode.fs.callerAbort');

function fail(code: FsErrorCode, error: string): FsResult {
  return { ok: false, code, error };
}

function isFsResult(v: unknown): v is FsResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return r.ok === true
    ? typeof r.output === 'string' && typeof r.truncated === 'boolean' && typeof r.bytes === 'number'
    : r.ok === false && typeof r.error === 'string' && typeof r.code === 'string';
}

export class FsPool {
  private readonly piscina: Piscina<FsRequest | TestHookRequest, FsResult>;
  private readonly sem: Semaphore;
  private readonly taskTimeoutMs: number;
  private closed = false;
  private inFlight = 0;
  private peakInFlight = 0;
  private peakWaiting = 0;
  private waitingNow = 0;
  private completed = 0;
  private failed = 0;
  private timeouts = 0;
  private crashes = 0;

  constructor(opts: FsPoolOptions = {}) {
    const maxThreads = Math.max(1, Math.floor(opts.maxThreads ?? Math.min(4, availableParallelism())));
    const minThreads = Math.min(maxThreads, Math.max(0, Math.floor(opts.minThreads ?? maxThreads)));
    const maxQueue = Math.max(0, Math.floor(opts.maxQueue ?? maxThreads));
    this.taskTimeoutMs = Math.max(1, opts.taskTimeoutMs ?? 30_000);
    this.sem = new Semaphore(maxThreads + maxQueue);
    this.piscina = new Piscina<FsRequest | TestHookRequest, FsResult>({
      filename: distPath('sandbox/fs/worker.js'),
      name: 'default',
      maxThreads,
      minThreads,
      // Admission already bounds what reaches piscina; its own queue only needs to hold that much.
      maxQueue: maxThreads + maxQueue,
      concurrentTasksPerWorker: 1, // one call per thread: a terminated thread takes only its own call
      idleTimeout: opts.idleTimeoutMs ?? 60_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 512 },
      workerData: { icodeTestHooks: opts.unsafeTestHooks === true },
      recordTiming: false,
    });
    // A thread that dies while idle is reported as an 'error' event; without a listener it would
    // crash the host. The pool replaces the thread on its own.
    this.piscina.on('error', () => {
      this.crashes++;
    });
  }

  /** Runs one file tool call. Never rejects: every failure is an `{ok:false}` result. */
  run(req: FsRequest, signal?: AbortSignal): Promise<FsResult> {
    if (typeof req !== 'object' || req === null || typeof req.tool !== 'string' || typeof req.root !== 'string') {
      return Promise.resolve(fail('INVALID', 'malformed file tool request'));
    }
    return this.dispatch(req, req.tool, signal);
  }

  /**
   * Test only: makes a worker exit, throw an uncaught error, or spin forever. Refused by the worker
   * unless the pool was built with `unsafeTestHooks: true`.
   * @internal
   */
  runTestHook(kind: TestHook, signal?: AbortSignal): Promise<FsResult> {
    return this.dispatch({ __icodeTestHook: kind }, `test hook ${kind}`, signal);
  }

  private async dispatch(task: FsRequest | TestHookRequest, label: string, signal?: AbortSignal): Promise<FsResult> {
    if (this.closed) return fail('POOL_CLOSED', 'the file tool pool is closed');
    if (signal?.aborted) return fail('ABORTED', `${label} was aborted before it started`);
    this.waitingNow++;
    if (this.waitingNow > this.peakWaiting) this.peakWaiting = this.waitingNow;
    try {
      await this.sem.acquire(signal);
    } catch {
      if (this.closed) return fail('POOL_CLOSED', 'the file tool pool was closed while the call waited');
      return fail('ABORTED', `${label} was aborted while waiting for a worker`);
    } finally {
      this.waitingNow--;
    }
    if (this.closed) {
      this.sem.release();
      return fail('POOL_CLOSED', 'the file tool pool is closed');
    }
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(TIMEOUT), this.taskTimeoutMs);
    const onCallerAbort = (): void => ac.abort(CALLER_ABORT);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const res: unknown = await this.piscina.run(task, { signal: ac.signal });
      if (!isFsResult(res)) {
        this.failed++;
        return fail('INTERNAL', `${label}: the worker returned a malformed result`);
      }
      if (res.ok) this.completed++;
      else this.failed++;
      return res;
    } catch (e) {
      this.failed++;
      const reason: unknown = ac.signal.reason;
      if (ac.signal.aborted && reason === TIMEOUT) {
        this.timeouts++;
        return fail('TIMEOUT', `${label} did not finish within ${this.taskTimeoutMs} ms; its worker thread was stopped`);
      }
      if (ac.signal.aborted && reason === CALLER_ABORT) return fail('ABORTED', `${label} was aborted; its worker thread was stopped`);
      if (this.closed) return fail('POOL_CLOSED', `${label}: the file tool pool was closed`);
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof Error && e.name === 'DataCloneError') return fail('INVALID', `${label}: request cannot be sent to a worker: ${msg}`);
      this.crashes++;
      return fail('WORKER_CRASHED', `the file tool worker died while running ${label} (${msg}); the call failed, the pool goes on`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      this.inFlight--;
      this.sem.release();
    }
  }

  stats(): FsPoolStats {
    return {
      threads: this.piscina.threads.length,
      inFlight: this.inFlight,
      waiting: this.waitingNow,
      peakInFlight: this.peakInFlight,
      peakWaiting: this.peakWaiting,
      admissionLimit: this.sem.limit,
      completed: this.completed,
      failed: this.failed,
      timeouts: this.timeouts,
      crashes: this.crashes,
      utilization: this.piscina.utilization,
    };
  }

  /** Fails waiting calls with POOL_CLOSED, stops the threads (running calls fail too). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sem.rejectAll(new Error('pool closed'));
    await this.piscina.destroy();
  }
}
