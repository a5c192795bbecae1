/**
 * A stored tool call's decision, rule and reason. The audit log is their one source of truth: a call
 * that reached it is stored in the sessions database as a reference (`audit_id` and the audit log's
 * path), and its verdict is read from the decision row when the call is shown, exported or forked.
 *
 * Where the verdict comes from (`verdictFrom`):
 * - `audit`: read from the referenced decision row;
 * - `session`: copied into the sessions database — a call that never reached the audit log (the
 *   pipeline could not commit its decision, or failed before deciding), a runner that keeps no audit
 *   log, and every call stored before sessions schema 3 (their copies are kept as they were);
 * - `unavailable`: the reference cannot be followed (the audit log was moved, deleted or is not
 *   readable, or it holds no such row): decision and rule are null and the reason says why.
 */
import { readDecisionRows, type AuditVerdict } from '../audit/row-reader.js';
import type { Decision } from '../../policies/types.js';

export type VerdictSource = 'audit' | 'session' | 'unavailable';

/** The fields of a stored tool call this module reads and fills in. */
export interface VerdictFields {
  callId: string;
  auditId: number | null;
  auditPath: string | null;
  decision: Decision | null;
  rule: string | null;
  reason: string | null;
  verdictFrom: VerdictSource;
}

/** A pipeline that renamed a reused call id records it as `id~suffix` (engine/pipeline/commit.ts). */
function sameCall(row: AuditVerdict, callId: string): boolean {
  return row.callId === callId || (row.callId !== null && row.callId.startsWith(`${callId}~`));
}

/** Fills in the verdicts of calls that reference an audit row (one read per audit log). */
export function resolveVerdicts<T extends VerdictFields>(calls: T[]): T[] {
  const byPath = new Map<string, T[]>();
  for (const c of calls) {
    if (c.auditPath === null || c.auditId === null) continue;
    const list = byPath.get(c.auditPath) ?? [];
    list.push(c);
    byPath.set(c.auditPath, list);
  }
  for (const [path, list] of byPath) {
    let rows: Map<number, AuditVerdict> | null = null;
    let failure = '';
    try {
      rows = readDecisionRows(path, list.map((c) => c.auditId!));
    } catch (e) {
      failure = (e as Error).message;
    }
    for (const c of list) {
      const row = rows?.get(c.auditId!);
      if (row && sameCall(row, c.callId)) {
        Object.assign(c, { decision: row.decision, rule: row.rule, reason: row.reason, verdictFrom: 'audit' });
      } else {
        const why = rows === null ? failure : row ? `audit row #${c.auditId} of ${path} belongs to another call (${row.callId ?? 'none'})` : `audit log ${path} has no decision row #${c.auditId}`;
        Object.assign(c, { decision: null, rule: null, reason: `decision not available: ${why}`, verdictFrom: 'unavailable' });
      }
    }
  }
  return calls;
}
