/**
 * piscina worker entry for the file tools. Never throws across the thread boundary: every failure is
 * returned as `{ok:false, code, error}`.
 *
 * A task is either one FsRequest or a batch (`{__icodeBatch, progress}`) from FsPool; for a batch the
 * worker publishes, in the shared `progress` buffer, how many calls it has started and when the current
 * one started, so that the pool can tell which call a dead or stopped thread was running.
 *
 * Test hooks (crash / hang) exist only when the pool was built with `unsafeTestHooks: true`, which
 * reaches the worker as workerData; they are requested by a message shape (`{__icodeTestHook}`) that no
 * FsRequest has, so nothing an agent controls (the tool input) can reach them.
 */
import { workerData } from 'node:worker_threads';
import { runTool } from './tools.js';
import { FsError, type FsRequest, type FsResult } from './types.js';

export type TestHook = 'exit' | 'uncaught' | 'hang';
export interface TestHookRequest {
  __icodeTestHook: TestHook;
}
export interface BatchTask {
  __icodeBatch: Array<FsRequest | TestHookRequest>;
  /** 16 bytes: Int32 [0] = calls started; BigInt64 at byte 8 = Date.now() when the current one started. */
  progress: SharedArrayBuffer;
}

const hooksEnabled =
  typeof workerData === 'object' && workerData !== null && (workerData as { icodeTestHooks?: unknown }).icodeTestHooks === true;

function runTestHook(kind: unknown): Promise<FsResult> | FsResult {
  if (!hooksEnabled) return { ok: false, code: 'INVALID', error: 'test hooks are disabled' };
  switch (kind) {
    case 'exit':
      process.exit(7); // in a worker thread this ends the thread only
    case 'uncaught':
      setImmediate(() => {
        throw new Error('icode test hook: uncaught error in fs worker');
      });
      return new Promise<FsResult>(() => {}); // never settles; the thread dies first
    case 'hang':
      for (;;) {
        /* a synchronous spin: only terminating the thread stops it */
      }
    default:
      return { ok: false, code: 'INVALID', error: 'unknown test hook' };
  }
}

export function toResult(e: unknown): FsResult {
  if (e instanceof FsError) return { ok: false, code: e.code, error: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { ok: false, code: 'INTERNAL', error: `internal error in fs worker: ${msg}` };
}

async function runOne(req: unknown): Promise<FsResult> {
  try {
    if (typeof req === 'object' && req !== null && '__icodeTestHook' in req) {
      return await runTestHook((req as TestHookRequest).__icodeTestHook);
    }
    return runTool(req);
  } catch (e) {
    return toResult(e);
  }
}

function isBatch(task: unknown): task is BatchTask {
  return (
    typeof task === 'object' &&
    task !== null &&
    Array.isArray((task as BatchTask).__icodeBatch) &&
    (task as BatchTask).progress instanceof SharedArrayBuffer &&
    (task as BatchTask).progress.byteLength >= 16
  );
}

export default async function fsWorker(task: unknown): Promise<FsResult | FsResult[]> {
  if (!isBatch(task)) return runOne(task);
  const started = new Int32Array(task.progress, 0, 1);
  const startedAt = new BigInt64Array(task.progress, 8, 1);
  const results: FsResult[] = [];
  for (let i = 0; i < task.__icodeBatch.length; i++) {
    Atomics.store(startedAt, 0, BigInt(Date.now()));
    Atomics.store(started, 0, i + 1);
    results.push(await runOne(task.__icodeBatch[i]));
  }
  return results;
}
