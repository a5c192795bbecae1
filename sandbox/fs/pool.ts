/**
 * FsPool: the file tools on a piscina worker pool.
 *
 * - Backpressure: at most `lanes` piscina tasks are in flight (one per thread plus `maxQueue`), each
 *   carrying at most `maxBatch` calls; every other call waits in the pool's own FIFO (one small record
 *   per caller). A flood of calls neither crashes nor grows piscina's queue.
 * - Batching: read and list calls that are waiting together travel to a worker in one task, which
 *   amortises the per-message cost (structured clone, thread wake-up): about twice the throughput under
 *   load. Under light load batches hold one call, so latency is unchanged. write, edit, glob and grep
 *   always travel alone.
 * - Failure isolation: the worker publishes which call of its batch it is running (and since when) in
 *   a SharedArrayBuffer. Each call gets its own deadline (`taskTimeoutMs` from the moment it starts);
 *   on expiry piscina terminates the thread. A thread that dies (process.exit, uncaught error, out of
 *   memory) or is stopped fails only the call it was running, with WORKER_CRASHED or TIMEOUT; the other
 *   calls of its batch are read-only and are simply run again. piscina replaces the thread.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { distPath } from '../dist-path.js';
import type { FsErrorCode, FsRequest, FsResult, FsTool } from './types.js';
import type { BatchTask, TestHook, TestHookRequest } from './worker.js';

export interface FsPoolOptions {
  /** Worker threads (default: min(4, available cores)). */
  maxThreads?: number;
  /** Threads kept alive when idle (default: maxThreads, so a burst never waits for thread start-up). */
  minThreads?: number;
  /**
   * Tasks (batches) admitted to piscina beyond one per thread, waiting in its queue (default 0: a batch
   * is handed over only when a thread can take it, so deadlines measure running time).
   */
  maxQueue?: number;
  /** Most calls in one batch (default 16; 1 disables batching). */
  maxBatch?: number;
  /** Deadline of one call, in ms from the moment a worker starts it (default 30 000). */
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
  /** Calls inside piscina (in running or queued batches). */
  inFlight: number;
  /** Calls waiting in the pool's FIFO. */
  waiting: number;
  peakInFlight: number;
  peakWaiting: number;
  /** Most calls that can be inside piscina at once: lanes × maxBatch. */
  admissionLimit: number;
  lanes: number;
  maxBatch: number;
  batches: number;
  completed: number;
  failed: number;
  timeouts: number;
  crashes: number;
  /** Calls run again because their batch's thread died while running another call. */
  retried: number;
  utilization: number;
}

/**
 * Calls that may share a batch: read-only, so they can be run again after a crash, and cheap, so that a
 * call queued behind them in the same batch is not held up (glob and grep walk trees: they go alone).
 */
const BATCHABLE: ReadonlySet<string> = new Set<FsTool>(['read', 'list']);
const MAX_ATTEMPTS = 3;
const TIMEOUT = Symbol('icode.fs.timeout');
const CALLER_ABORT = Symbol('icode.fs.callerAbort');

interface Call {
  task: FsRequest | TestHookRequest;
  label: string;
  /** read/list (or a test hook): may share a batch, and may be run again after a crash. */
  batchable: boolean;
  /** Must travel alone (after a DataCloneError in a batch). */
  solo: boolean;
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve: (r: FsResult) => void;
  settled: boolean;
  attempts: number;
  batch: Batch | null;
  index: number;
}

interface Batch {
  calls: Call[];
  ac: AbortController;
  /** [0]: how many calls the worker has started (the running one is index [0]-1). */
  started: Int32Array;
  /** [0]: Date.now() when the running call started. */
  startedAt: BigInt64Array;
  sab: SharedArrayBuffer;
  dispatchedAt: number;
  timer: NodeJS.Timeout | null;
  reason: typeof TIMEOUT | typeof CALLER_ABORT | null;
  culprit: number;
}

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
  private readonly piscina: Piscina<BatchTask, unknown>;
  private readonly taskTimeoutMs: number;
  private readonly lanes: number;
  private readonly maxBatch: number;
  private queue: Call[] = [];
  private head = 0;
  private waiting = 0; // unsettled calls in the queue
  private runningBatches = 0;
  private closed = false;
  private s = { inFlight: 0, peakInFlight: 0, peakWaiting: 0, batches: 0, completed: 0, failed: 0, timeouts: 0, crashes: 0, retried: 0 };

  constructor(opts: FsPoolOptions = {}) {
    const maxThreads = Math.max(1, Math.floor(opts.maxThreads ?? Math.min(4, availableParallelism())));
    const minThreads = Math.min(maxThreads, Math.max(0, Math.floor(opts.minThreads ?? maxThreads)));
    const maxQueue = Math.max(0, Math.floor(opts.maxQueue ?? 0));
    this.lanes = maxThreads + maxQueue;
    this.maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 16));
    this.taskTimeoutMs = Math.max(1, opts.taskTimeoutMs ?? 30_000);
    this.piscina = new Piscina<BatchTask, unknown>({
      filename: distPath('sandbox/fs/worker.js'),
      maxThreads,
      minThreads,
      // The pool never hands piscina more than `lanes` tasks; room for them all (a thread being
      // replaced has no capacity for a moment).
      maxQueue: this.lanes,
      concurrentTasksPerWorker: 1, // one batch per thread: a terminated thread takes only its own batch
      idleTimeout: opts.idleTimeoutMs ?? 60_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 512 },
      workerData: { icodeTestHooks: opts.unsafeTestHooks === true },
      recordTiming: false,
    });
    // A thread that dies while idle is reported as an 'error' event; without a listener it would
    // crash the host. piscina replaces the thread on its own.
    this.piscina.on('error', () => {
      this.s.crashes++;
    });
  }

  /** Runs one file tool call. Never rejects: every failure is an `{ok:false}` result. */
  run(req: FsRequest, signal?: AbortSignal): Promise<FsResult> {
    if (typeof req !== 'object' || req === null || typeof req.tool !== 'string' || typeof req.root !== 'string') {
      return Promise.resolve(fail('INVALID', 'malformed file tool request'));
    }
    return this.submit(req, req.tool, BATCHABLE.has(req.tool), signal);
  }

  /**
   * Test only: makes a worker exit, throw an uncaught error, or spin forever. Refused by the worker
   * unless the pool was built with `unsafeTestHooks: true`. Hooks are batched like read-only calls.
   * @internal
   */
  runTestHook(kind: TestHook, signal?: AbortSignal): Promise<FsResult> {
    return this.submit({ __icodeTestHook: kind }, `test hook ${kind}`, true, signal);
  }

  private submit(task: FsRequest | TestHookRequest, label: string, batchable: boolean, signal?: AbortSignal): Promise<FsResult> {
    if (this.closed) return Promise.resolve(fail('POOL_CLOSED', 'the file tool pool is closed'));
    if (signal?.aborted) return Promise.resolve(fail('ABORTED', `${label} was aborted before it started`));
    return new Promise<FsResult>((resolve) => {
      const call: Call = { task, label, batchable, solo: false, signal, resolve, settled: false, attempts: 0, batch: null, index: -1 };
      if (signal) {
        call.onAbort = () => this.onCallerAbort(call);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.enqueue(call, false);
      this.pump();
    });
  }

  private settle(call: Call, r: FsResult): void {
    if (call.settled) return;
    call.settled = true;
    if (call.batch === null) this.waiting--;
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (r.ok) this.s.completed++;
    else this.s.failed++;
    call.resolve(r);
  }

  private enqueue(call: Call, front: boolean): void {
    call.batch = null;
    call.index = -1;
    if (front) {
      if (this.head > 0) this.queue[--this.head] = call;
      else this.queue.unshift(call);
    } else {
      this.queue.push(call);
    }
    this.waiting++;
    if (this.waiting > this.s.peakWaiting) this.s.peakWaiting = this.waiting;
  }

  /** Next unsettled queued call, or undefined; drops settled (aborted) ones. */
  private peek(): Call | undefined {
    while (this.head < this.queue.length) {
      const c = this.queue[this.head]!;
      if (!c.settled) return c;
      this.head++;
    }
    this.queue = [];
    this.head = 0;
    return undefined;
  }

  private shift(): Call {
    const c = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.waiting--;
    return c;
  }

  /** Hands waiting calls to free lanes, in FIFO order, batching read-only neighbours. */
  private pump(): void {
    while (!this.closed && this.runningBatches < this.lanes) {
      const first = this.peek();
      if (!first) return;
      const freeLanes = this.lanes - this.runningBatches;
      // Spread the backlog over the free lanes so that every thread gets work.
      const target = Math.min(this.maxBatch, Math.max(1, Math.ceil(this.waiting / freeLanes)));
      const calls = [this.shift()];
      if (first.batchable && !first.solo) {
        for (let next = this.peek(); next && calls.length < target && next.batchable && !next.solo; next = this.peek()) {
          calls.push(this.shift());
        }
      }
      this.launch(calls);
    }
  }

  private launch(calls: Call[]): void {
    const sab = new SharedArrayBuffer(16);
    const batch: Batch = {
      calls,
      ac: new AbortController(),
      started: new Int32Array(sab, 0, 1),
      startedAt: new BigInt64Array(sab, 8, 1),
      sab,
      dispatchedAt: Date.now(),
      timer: null,
      reason: null,
      culprit: -1,
    };
    calls.forEach((c, i) => {
      c.batch = batch;
      c.index = i;
    });
    this.runningBatches++;
    this.s.batches++;
    this.s.inFlight += calls.length;
    if (this.s.inFlight > this.s.peakInFlight) this.s.peakInFlight = this.s.inFlight;
    this.arm(batch, this.taskTimeoutMs);
    let promise: Promise<unknown>;
    try {
      promise = this.piscina.run({ __icodeBatch: calls.map((c) => c.task), progress: sab }, { signal: batch.ac.signal });
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      (results) => this.onBatchDone(batch, results),
      (e: unknown) => this.onBatchFailed(batch, e),
    );
  }

  private arm(batch: Batch, ms: number): void {
    batch.timer = setTimeout(() => this.checkDeadline(batch), Math.max(1, ms));
  }

  /** Deadline check: per call, from the moment the worker started it. */
  private checkDeadline(batch: Batch): void {
    batch.timer = null;
    const started = Atomics.load(batch.started, 0);
    const now = Date.now();
    if (started === 0) {
      // Nothing started yet (a thread is being replaced): wait, but not forever.
      const waited = now - batch.dispatchedAt;
      if (waited < 2 * this.taskTimeoutMs) return this.arm(batch, 2 * this.taskTimeoutMs - waited);
      batch.reason = TIMEOUT;
      batch.culprit = -1;
      batch.ac.abort(TIMEOUT);
      return;
    }
    const since = Number(Atomics.load(batch.startedAt, 0));
    const left = since + this.taskTimeoutMs - now;
    if (left > 0) return this.arm(batch, left);
    batch.reason = TIMEOUT;
    batch.culprit = started - 1;
    batch.ac.abort(TIMEOUT);
  }

  private onCallerAbort(call: Call): void {
    if (call.settled) return;
    const batch = call.batch;
    if (batch === null) {
      this.settle(call, fail('ABORTED', `${call.label} was aborted while waiting for a worker`));
      return;
    }
    const running = Atomics.load(batch.started, 0) - 1;
    if (batch.calls.length === 1 || running === call.index || !call.batchable) {
      // Stop it where it runs (or before it starts, for a call that must not run after an abort).
      if (batch.reason === null) {
        batch.reason = CALLER_ABORT;
        batch.culprit = call.index;
        batch.ac.abort(CALLER_ABORT);
      }
      return;
    }
    // A read-only call in a batch, not running: answer now, let the batch go on (its result is dropped).
    this.settle(call, fail('ABORTED', `${call.label} was aborted`));
  }

  private finishBatch(batch: Batch): void {
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = null;
    this.runningBatches--;
    this.s.inFlight -= batch.calls.length;
  }

  private onBatchDone(batch: Batch, results: unknown): void {
    this.finishBatch(batch);
    const list = Array.isArray(results) ? results : [];
    batch.calls.forEach((c, i) => {
      const r: unknown = list[i];
      this.settle(c, isFsResult(r) ? r : fail('INTERNAL', `${c.label}: the worker returned a malformed result`));
    });
    this.pump();
  }

  private onBatchFailed(batch: Batch, e: unknown): void {
    this.finishBatch(batch);
    const msg = e instanceof Error ? e.message : String(e);
    if (this.closed) {
      for (const c of batch.calls) this.settle(c, fail('POOL_CLOSED', `${c.label}: the file tool pool was closed`));
      return;
    }
    if (e instanceof Error && e.name === 'DataCloneError') {
      // Some call's input cannot cross to a thread: alone, each call finds out for itself.
      if (batch.calls.length === 1) {
        this.settle(batch.calls[0]!, fail('INVALID', `${batch.calls[0]!.label}: request cannot be sent to a worker: ${msg}`));
      } else {
        for (const c of [...batch.calls].reverse()) {
          if (c.settled) continue;
          c.solo = true;
          this.enqueue(c, true);
        }
      }
      this.pump();
      return;
    }
    const startedCount = Atomics.load(batch.started, 0);
    const reason = batch.reason;
    const culprit = reason !== null ? batch.culprit : startedCount - 1;
    if (reason === TIMEOUT) this.s.timeouts++;
    else if (reason === null) this.s.crashes++;
    const requeue: Call[] = [];
    batch.calls.forEach((c, i) => {
      if (c.settled) return;
      if (i === culprit) {
        if (reason === TIMEOUT) this.settle(c, fail('TIMEOUT', `${c.label} did not finish within ${this.taskTimeoutMs} ms; its worker thread was stopped`));
        else if (reason === CALLER_ABORT) this.settle(c, fail('ABORTED', `${c.label} was aborted; its worker thread was stopped`));
        else this.settle(c, fail('WORKER_CRASHED', `the file tool worker died while running ${c.label} (${msg}); the call failed, the pool goes on`));
        return;
      }
      if (reason === TIMEOUT && culprit === -1) {
        this.settle(c, fail('TIMEOUT', `${c.label}: no worker thread took the call within ${2 * this.taskTimeoutMs} ms`));
        return;
      }
      // Not the call that failed. A call that may have run already is run again only if read-only.
      const mayHaveRun = i < startedCount;
      if ((mayHaveRun && !c.batchable) || c.attempts + 1 >= MAX_ATTEMPTS) {
        this.settle(c, fail('WORKER_CRASHED', `the file tool worker died while ${c.label} was in its batch (${msg})`));
        return;
      }
      c.attempts++;
      requeue.push(c);
    });
    this.s.retried += requeue.length;
    for (const c of requeue.reverse()) this.enqueue(c, true);
    this.pump();
  }

  stats(): FsPoolStats {
    return {
      threads: this.piscina.threads.length,
      inFlight: this.s.inFlight,
      waiting: this.waiting,
      peakInFlight: this.s.peakInFlight,
      peakWaiting: this.s.peakWaiting,
      admissionLimit: this.lanes * this.maxBatch,
      lanes: this.lanes,
      maxBatch: this.maxBatch,
      batches: this.s.batches,
      completed: this.s.completed,
      failed: this.s.failed,
      timeouts: this.s.timeouts,
      crashes: this.s.crashes,
      retried: this.s.retried,
      utilization: this.piscina.utilization,
    };
  }

  /** Fails waiting calls with POOL_CLOSED and stops the threads (running calls fail too). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let c = this.peek(); c; c = this.peek()) {
      this.shift();
      this.waiting++; // settle() counts it out again
      this.settle(c, fail('POOL_CLOSED', `${c.label}: the file tool pool was closed while the call waited`));
    }
    await this.piscina.destroy();
  }
}
