/**
 * A small read-only reader of decision rows, for the stores that reference audit rows instead of
 * copying them (the sessions store's tool calls keep `audit_id` and the audit log's path). It opens
 * the file read-only as icode's audit log (never anything else: application_id checked), reads the
 * decision, rule and reason of the rows asked for, and never writes.
 */
import type Database from 'better-sqlite3';
import type { Decision } from '../../policies/types.js';
import { ICODE_APP_IDS, openIcodeDb } from '../sqlite-file.js';

/** What a decision row says about its call. */
export interface AuditVerdict {
  seq: number;
  session: string;
  callId: string | null;
  decision: Decision | null;
  rule: string | null;
  reason: string | null;
}

/** An audit log written before application_id existed: a table `audit` with the decision columns. */
function hasDecisionColumns(db: Database.Database): boolean {
  const cols = new Set(db.prepare("SELECT name FROM pragma_table_info('audit')").pluck().all() as string[]);
  return ['seq', 'kind', 'session', 'call_id', 'decision', 'rule', 'reason'].every((c) => cols.has(c));
}

// Any schema version: the columns read here exist in every one (checked before reading).
const SPEC = { what: 'audit log', appId: ICODE_APP_IDS.audit, version: Number.MAX_SAFE_INTEGER, isLegacy: hasDecisionColumns };

/** Rows per query (SQLite's default limit on bound parameters is far above it). */
const CHUNK = 500;

/**
 * The decision rows `seqs` of the audit log at `path`, by seq (a seq that is not a decision row is
 * absent from the map). Throws a DbFileError (one line) when the file is missing or not an audit log.
 */
export function readDecisionRows(path: string, seqs: readonly number[]): Map<number, AuditVerdict> {
  const out = new Map<number, AuditVerdict>();
  const { db } = openIcodeDb(path, SPEC, { readonly: true });
  try {
    if (!hasDecisionColumns(db)) return out;
    const unique = [...new Set(seqs.filter((s) => Number.isSafeInteger(s)))];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const rows = db
        .prepare(`SELECT seq, session, call_id, decision, rule, reason FROM audit WHERE kind = 'decision' AND seq IN (${part.map(() => '?').join(',')})`)
        .all(...part) as Array<{ seq: number; session: string; call_id: string | null; decision: Decision | null; rule: string | null; reason: string | null }>;
      for (const r of rows) out.set(r.seq, { seq: r.seq, session: r.session, callId: r.call_id, decision: r.decision, rule: r.rule, reason: r.reason });
    }
    return out;
  } finally {
    db.close();
  }
}
