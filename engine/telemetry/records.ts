/**
 * Audit rows → OpenTelemetry records, one pure function shared by the live export (otel.ts) and the
 * offline file (otlp-json.ts), so both carry the same spans and log records for the same rows:
 *
 * - a decision row: a span `execute_tool TOOL` (ending at the call's outcome when it is among the rows)
 *   and a log record `icode.decision`;
 * - a hook row (pre/post tool hooks, approvals): a child span `icode.hook NAME` of its call's span and
 *   a log record `icode.hook`;
 * - an outcome row (also the one a guarded agent's PostToolUse/AfterTool records): a child span
 *   `icode.outcome TOOL` and a log record `icode.outcome`;
 * - any other row (session events, e.g. `claude-code:SessionStart`): a log record `icode.event`.
 *
 * Ids are derived, not random: the trace from the session, a span from its row's hash, a child's
 * parent from the call's decision row (looked up in the rows, else by the call id), so records of one
 * call exported by different processes (a PreToolUse and its PostToolUse) join up. Every record
 * carries `icode.audit.row` and `icode.audit.row_hash`, pointing back to a verifiable row. Nothing
 * but what the committed row holds is exported: reasons and errors as the log stored them (redacted
 * there), never tool inputs or outputs.
 */
import { createHash } from 'node:crypto';
import type { AuditRow } from '../audit/log.js';

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  /** 2 = error (a deny or a failed outcome), else unset. */
  statusCode: 0 | 2;
}

export interface LogRecordOut {
  traceId: string;
  spanId: string;
  timeMs: number;
  eventName: string;
  severityNumber: number;
  severityText: 'INFO' | 'WARN' | 'ERROR';
  body: string;
  attributes: Attributes;
}

export interface TelemetryRecords {
  spans: SpanRecord[];
  logs: LogRecordOut[];
}

export type DecisionSource = 'policy' | 'hook' | 'user' | 'timeout';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
export const traceIdOf = (session: string): string => sha(`icode-trace\u0000${session}`).slice(0, 32);
/** The span id of a call's decision, from its row hash (or, when the row is not at hand, its call id). */
export const callSpanId = (session: string, callId: string, decisionHash?: string): string => (decisionHash ? decisionHash.slice(0, 16) : sha(`icode-call\u0000${session}\u0000${callId}`).slice(0, 16));

/**
 * Where a call's final decision came from: a pre-tool hook that blocked it, an approval that timed out,
 * a person who answered (approval recorded), else the policy.
 */
export function decisionSource(decision: AuditRow, hooks: readonly AuditRow[]): DecisionSource {
  if (hooks.some((h) => h.phase === 'pre' && h.name === 'approval' && /timed out/i.test(h.reason ?? ''))) return 'timeout';
  if (/timed out/i.test(decision.approval ?? '')) return 'timeout';
  if (hooks.some((h) => h.phase === 'pre' && h.name !== 'approval' && (h.result === 'block' || h.result === 'deny'))) return 'hook';
  // An ask nobody could answer (Gemini CLI's hooks, a non-interactive run's --ask) was settled by
  // configuration, not a person.
  if (/cannot ask|no one to ask|--ask (allow|deny)/i.test(decision.approval ?? '')) return 'policy';
  if (decision.approval || hooks.some((h) => h.phase === 'pre' && h.name === 'approval')) return 'user';
  return 'policy';
}

/** The attributes every record of a call carries (GenAI semantic conventions + icode's). */
function callAttributes(row: AuditRow, tool: string | null): Attributes {
  const a: Attributes = { 'gen_ai.conversation.id': row.session, 'icode.audit.row': row.seq, 'icode.audit.row_hash': row.hash, 'icode.audit.kind': row.kind };
  if (row.callId) a['gen_ai.tool.call.id'] = row.callId;
  if (tool) a['gen_ai.tool.name'] = tool;
  if (row.agent) a['gen_ai.agent.name'] = row.agent;
  return a;
}

export function recordsFromRows(rows: Iterable<AuditRow>): TelemetryRecords {
  const all = [...rows];
  const key = (r: AuditRow): string => `${r.session}\u0000${r.callId ?? ''}`;
  const decisions = new Map<string, AuditRow>();
  const outcomes = new Map<string, AuditRow>();
  const hooksOf = new Map<string, AuditRow[]>();
  for (const r of all) {
    if (!r.callId) continue;
    if (r.kind === 'decision') decisions.set(key(r), r);
    else if (r.kind === 'outcome') outcomes.set(key(r), r);
    else if (r.kind === 'hook') hooksOf.set(key(r), [...(hooksOf.get(key(r)) ?? []), r]);
  }
  const spans: SpanRecord[] = [];
  const logs: LogRecordOut[] = [];
  for (const r of all) {
    const traceId = traceIdOf(r.session);
    const decision = r.callId ? decisions.get(key(r)) : undefined;
    const tool = r.tool ?? decision?.tool ?? null;
    const base = callAttributes(r, tool);
    if (r.kind === 'decision' && r.callId) {
      const hooks = hooksOf.get(key(r)) ?? [];
      const outcome = outcomes.get(key(r));
      const final = outcome?.status === 'denied' ? 'deny' : (r.decision ?? 'deny');
      const attrs: Attributes = {
        ...base,
        'gen_ai.operation.name': 'execute_tool',
        'icode.decision': final,
        'icode.decision.source': decisionSource(r, hooks),
        'icode.decision.reason': r.reason ?? '',
      };
      if (final !== r.decision && r.decision) attrs['icode.policy.decision'] = r.decision;
      if (r.rule) attrs['icode.policy.rule_id'] = r.rule;
      if (r.policyHash) attrs['icode.policy.hash'] = r.policyHash;
      if (outcome?.status) attrs['icode.outcome'] = outcome.status;
      const spanId = callSpanId(r.session, r.callId, r.hash);
      spans.push({ traceId, spanId, name: `execute_tool ${tool ?? ''}`, startMs: r.tsMs, endMs: Math.max(r.tsMs, outcome?.tsMs ?? r.tsMs), attributes: attrs, statusCode: final === 'deny' ? 2 : 0 });
      logs.push({ traceId, spanId, timeMs: r.tsMs, eventName: 'icode.decision', ...severity(final === 'deny' ? 'WARN' : 'INFO'), body: `${final}${r.rule ? ` (rule ${r.rule})` : ''}: ${r.reason ?? ''}`, attributes: attrs });
      continue;
    }
    if ((r.kind === 'hook' || r.kind === 'outcome') && r.callId) {
      const parent = callSpanId(r.session, r.callId, decision?.hash);
      const spanId = r.hash.slice(0, 16);
      const attrs: Attributes = { ...base };
      let name: string;
      let failed: boolean;
      let body: string;
      if (r.kind === 'hook') {
        name = `icode.hook ${r.name ?? ''}`;
        attrs['icode.hook.name'] = r.name ?? '';
        attrs['icode.hook.phase'] = r.phase ?? '';
        attrs['icode.hook.result'] = r.result ?? '';
        if (r.reason) attrs['icode.hook.reason'] = r.reason;
        if (r.error) attrs['icode.hook.error'] = r.error;
        failed = !!r.error || r.result === 'block' || r.result === 'deny';
        body = `${r.phase ?? ''}-tool hook ${r.name ?? ''}: ${r.result ?? ''}${r.reason ? ` (${r.reason})` : ''}`;
      } else {
        name = `icode.outcome ${tool ?? ''}`;
        attrs['icode.outcome'] = r.status ?? '';
        if (r.exitCode !== null) attrs['process.exit.code'] = r.exitCode;
        if (r.bytes !== null) attrs['icode.outcome.bytes'] = r.bytes;
        if (r.outputHash) attrs['icode.outcome.output_hash'] = r.outputHash;
        if (r.error) attrs['error.type'] = r.errorCode ?? 'tool_error';
        failed = r.status !== 'ok';
        body = `${r.status ?? ''}${r.error ? `: ${r.error}` : ''}`;
      }
      const start = r.kind === 'outcome' && r.durationMs ? r.tsMs - r.durationMs : r.tsMs - (r.durationMs ?? 0);
      spans.push({ traceId, spanId, parentSpanId: parent, name, startMs: Math.min(start, r.tsMs), endMs: r.tsMs, attributes: attrs, statusCode: failed ? 2 : 0 });
      logs.push({ traceId, spanId, timeMs: r.tsMs, eventName: r.kind === 'hook' ? 'icode.hook' : 'icode.outcome', ...severity(failed ? (r.error ? 'ERROR' : 'WARN') : 'INFO'), body, attributes: attrs });
      continue;
    }
    // Session events and anything else: a log record in the session's trace.
    const attrs: Attributes = { ...base };
    if (r.name) attrs['icode.event.name'] = r.name;
    logs.push({ traceId, spanId: r.hash.slice(0, 16), timeMs: r.tsMs, eventName: 'icode.event', ...severity('INFO'), body: r.name ?? r.kind, attributes: attrs });
  }
  return { spans, logs };
}

function severity(level: 'INFO' | 'WARN' | 'ERROR'): { severityNumber: number; severityText: 'INFO' | 'WARN' | 'ERROR' } {
  return { severityNumber: level === 'INFO' ? 9 : level === 'WARN' ? 13 : 17, severityText: level };
}
