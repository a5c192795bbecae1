/**
 * piscina worker entry for the file tools. Never throws across the thread boundary: every failure is
 * returned as `{ok:false, code, error}`.
 *
 * Test hooks (crash / hang) exist only when the pool was built with `unsafeTestHooks: true`, which
 * reaches the worker as workerData; they are requested by a message shape (`{__icodeTestHook}`) that no
 * FsRequest has, so nothing an agent controls (the tool input) can reach them.
 */
import { workerData } from 'node:worker_threads';
import { runTool } from './tools.js';
import { FsError, type FsResult } from './types.js';

export type TestHook = 'exit' | 'uncaught' | 'hang';
export interface TestHookRequest {
  __icodeTestHook: TestHook;
}

const hooksEnabled =
  typeof workerData === 'object' && workerData !== null && (workerData as { icodeTestHooks?: unknown }).icodeTestHooks === true;

function runTestHook(kind: unknown): Promise<FsResult> | FsResult {
  if (!hooksEnabled) return { ok: false, code: 'INVALID', error: 'test hooks are disabled' };
  switch (kind) {
    case 'exit':
      process.exit(7); // in a worker thread this ends the thread only
    // falls through (process.exit does not return)
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

export default async function fsWorker(req: unknown): Promise<FsResult> {
  try {
    if (typeof req === 'object' && req !== null && '__icodeTestHook' in req) {
      return await runTestHook((req as TestHookRequest).__icodeTestHook);
    }
    return runTool(req);
  } catch (e) {
    return toResult(e);
  }
}
