/**
 * Stage 5, dispatch: the call runs on the executor the validate stage found for it (its own, or the
 * pipeline's for its kind). An executor that throws is a failed call, never a crashed pipeline.
 */
import type { ExecResult } from '../executors/types.js';
import type { CallState } from './state.js';

export async function dispatch(c: CallState, signal: AbortSignal | undefined): Promise<ExecResult> {
  try {
    // validate() denied every call without an executor, so one is here.
    return await c.executor!.run(c.tool, c.runInput, { session: c.session, callId: c.callId, agent: c.agent, signal });
  } catch (e) {
    return { ok: false, output: '', error: `icode failed to run ${c.tool}: ${(e as Error).message}`, code: 'internal', truncated: false, bytes: 0 };
  }
}
