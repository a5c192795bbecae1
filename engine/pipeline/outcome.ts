/**
 * Stage 7, record the outcome and answer. Outcome rows (like the post-tool hook rows before them) are
 * queued, not awaited: a result may reach the agent before its outcome row is durable (its decision row
 * always is), so group commit costs the caller one commit wait per call, not two or three. A failed
 * write is reported, never silent; close() flushes the queue.
 */
import { createHash, hash as cryptoHash } from 'node:crypto';
import type { AuditLog } from '../audit/log.js';
import type { ExecResult } from '../executors/types.js';
import type { ToolCallResult } from '../pipeline-types.js';
import type { CallState, StageDeps } from './state.js';

/** One-shot crypto.hash (Node >= 20.12) is about twice as fast as createHash for one string. */
const sha256: (text: string) => string =
  typeof cryptoHash === 'function' ? (text) => cryptoHash('sha256', text, 'hex') : (text) => createHash('sha256').update(text).digest('hex');

function queueOutcome(audit: AuditLog, rec: Parameters<AuditLog['recordOutcome']>[0]): void {
  audit.recordOutcome(rec).catch((e: unknown) => {
    process.stderr.write(`icode: could not record the outcome of call ${rec.callId}: ${(e as Error).message}\n`);
  });
}

function base(c: CallState): Pick<ToolCallResult, 'callId' | 'tool' | 'decision' | 'rule' | 'reason' | 'auditId' | 'timings' | 'refusal'> {
  return { callId: c.callId, tool: c.tool, decision: c.decision, rule: c.rule, reason: c.reason, auditId: c.auditId, timings: c.timings, ...(c.refusal ? { refusal: c.refusal } : {}) };
}

/** A call that does not run: denied by the policy (or its approver), or by a pre-tool hook (`hookMessage`). */
export function recordDenied(p: StageDeps, c: CallState, hookMessage?: string): ToolCallResult {
  const why = hookMessage ?? c.approval ?? c.reason;
  const message = hookMessage ?? `Denied by policy${c.rule ? ` (rule ${c.rule})` : ''}: ${why}`;
  queueOutcome(p.audit, { session: c.session, callId: c.callId, status: 'denied', bytes: 0, durationMs: performance.now() - c.started, outputHash: null, truncated: false, error: why });
  return { ...base(c), status: 'denied', error: message, output: message, durationMs: performance.now() - c.started, ...(c.context.length ? { context: c.context } : {}) };
}

/**
 * The change gate's verdicts on a shell call (sandbox/jail/gate.ts), beside the call and before its
 * outcome: one row per refusal (path and reason), and one for the change set applied (count and hash).
 */
function queueGateRows(audit: AuditLog, c: CallState, r: ExecResult): void {
  const rows = (r.refusals ?? []).map((f) => ({ result: 'refuse', reason: `${f.path}: ${f.reason}`, data: f as unknown }));
  if (r.changes?.length) {
    const sha256 = createHash('sha256').update(JSON.stringify(r.changes)).digest('hex');
    rows.push({ result: 'applied', reason: `${r.changes.length} change(s) applied to the workspace`, data: { count: r.changes.length, sha256 } });
  }
  for (const row of rows) {
    audit.recordHook({ session: c.session, callId: c.callId, hook: 'change-gate', phase: 'post', ...row }).catch((e: unknown) => {
      process.stderr.write(`icode: could not record the change gate's ${row.result} row of call ${c.callId}: ${(e as Error).message}\n`);
    });
  }
}

/** A call that ran: its outcome row, and the result for the agent. */
export function recordOutcome(p: StageDeps, c: CallState, result: ExecResult, text: string): ToolCallResult {
  const durationMs = performance.now() - c.started;
  if (result.auditNote) {
    const { note, data } = result.auditNote;
    p.audit.recordHook({ session: c.session, callId: c.callId, hook: c.tool, phase: 'post', result: 'note', reason: note, ...(data ? { data } : {}) }).catch((e: unknown) => {
      process.stderr.write(`icode: could not record the audit note of call ${c.callId}: ${(e as Error).message}\n`);
    });
  }
  queueGateRows(p.audit, c, result);
  queueOutcome(p.audit, {
    session: c.session,
    callId: c.callId,
    status: result.ok ? 'ok' : 'error',
    exitCode: result.exitCode ?? null,
    bytes: result.bytes,
    durationMs,
    outputHash: sha256(text),
    truncated: result.truncated,
    error: result.ok ? undefined : result.error,
    ...(result.ok || result.code === undefined ? {} : { code: result.code }),
  });
  return {
    ...base(c),
    status: result.ok ? 'ok' : 'error',
    output: text,
    error: result.ok ? undefined : result.error,
    ...(result.ok || result.code === undefined ? {} : { code: result.code }),
    exitCode: result.exitCode,
    truncated: result.truncated,
    durationMs,
    ...(c.context.length ? { context: c.context } : {}),
  };
}
