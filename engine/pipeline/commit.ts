/**
 * Stage 3, commit the decision: the decision row is durable in the audit log before anything runs. No
 * committed decision, no execution: a failed write is a deny (returned, not recorded: recording is what
 * failed).
 */
import { randomUUID } from 'node:crypto';
import type { ToolCallResult } from '../pipeline-types.js';
import type { CallState, StageDeps } from './state.js';
import { MAX_INPUT_DEPTH } from './validate.js';

/** null when the decision is committed (c.auditId is set), else the refusal to return. */
export async function commitDecision(p: StageDeps, c: CallState): Promise<ToolCallResult | null> {
  const record = {
    session: c.session,
    callId: c.callId,
    agent: c.agent,
    tool: c.tool,
    input: c.tooDeep ? { $omitted: `nested more than ${MAX_INPUT_DEPTH} levels deep` } : c.input,
    decision: c.decision,
    rule: c.rule,
    reason: c.reason,
    policyHash: p.policyHash,
    jail: c.def?.kind === 'shell' || c.def?.kind === 'mcp' ? c.executor?.describe() : undefined,
    approval: c.approval,
    workspace: p.workspace,
    // A sub-agent's row names the task call that started it.
    ...(c.scope ? { data: { parent_session: c.scope.parentSession, parent_call_id: c.scope.parentCallId, depth: c.scope.depth } } : {}),
  };
  try {
    c.auditId = await p.audit.recordDecision(record);
  } catch (e) {
    if ((e as { code?: string }).code !== 'DUPLICATE') {
      const message = `Refused: the decision could not be recorded in the audit log (${(e as Error).message})`;
      return { callId: c.callId, tool: c.tool, decision: 'deny', rule: c.rule, reason: message, status: 'denied', error: message, output: message, durationMs: performance.now() - c.started, timings: c.timings };
    }
    // A call id the agent reused: recorded (and run) under a fresh one.
    c.callId = `${c.callId}~${randomUUID().slice(0, 8)}`;
    c.auditId = await p.audit.recordDecision({ ...record, callId: c.callId });
  }
  return null;
}
