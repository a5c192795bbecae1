/**
 * Reading the log: rows by filter, one call with its decision, outcome and hook rows, a call id's
 * decisions, and the counts `icode audit stats` shows. Rows come back as AuditRow (JSON parsed).
 */
import type Database from 'better-sqlite3';
import type { Cell, RawRow } from './schema.js';
import { AuditError, type AuditKind, type AuditRow, type AuditStats, type CallDetail, type Decision, type ListFilters, type OutcomeStatus } from './types.js';

/** The log's read side; the AuditLog flushes its queue before each call, so a reader sees its own rows. */
export class AuditQueries {
  private readonly bySeq: Database.Statement;
  private readonly callDecision: Database.Statement;
  private readonly callOutcome: Database.Statement;
  private readonly callHooks: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.bySeq = db.prepare('SELECT * FROM audit WHERE seq = ?');
    // Each names its kind so that SQLite uses the partial index.
    this.callDecision = db.prepare("SELECT * FROM audit WHERE kind = 'decision' AND session = ? AND call_id = ?");
    this.callOutcome = db.prepare("SELECT * FROM audit WHERE kind = 'outcome' AND session = ? AND call_id = ?");
    this.callHooks = db.prepare("SELECT * FROM audit WHERE kind = 'hook' AND session = ? AND call_id = ? ORDER BY seq");
  }

  /** Rows matching the filters, in log order (or newest first with order: 'desc'). */
  list(filters: ListFilters = {}): AuditRow[] {
    const { where, params } = buildWhere(filters);
    const order = filters.order === 'desc' ? 'DESC' : 'ASC';
    const limit = filters.limit !== undefined && filters.limit > 0 ? ` LIMIT ${Math.floor(filters.limit)}` : '';
    const rows = this.db.prepare(`SELECT * FROM audit${where} ORDER BY seq ${order}${limit}`).all(...params) as RawRow[];
    return rows.map(toAuditRow);
  }

  /** The row `seq` with its call: decision, outcome and hook rows. Null when there is no such row. */
  get(seq: number): CallDetail | null {
    const raw = this.bySeq.get(seq) as RawRow | undefined;
    if (!raw) return null;
    const row = toAuditRow(raw);
    if (row.kind === 'event' || row.callId === null) return { row, decision: null, outcome: null, hooks: [] };
    const one = (stmt: Database.Statement): AuditRow | null => {
      const r = stmt.get(row.session, row.callId) as RawRow | undefined;
      return r ? toAuditRow(r) : null;
    };
    return {
      row,
      decision: one(this.callDecision),
      outcome: one(this.callOutcome),
      hooks: (this.callHooks.all(row.session, row.callId) as RawRow[]).map(toAuditRow),
    };
  }

  /** Seqs of the decisions recorded for a call id (in any session unless one is given). */
  findCall(callId: string, session?: string): number[] {
    const sql =
      "SELECT seq FROM audit WHERE kind = 'decision' AND call_id = ?" + (session === undefined ? '' : ' AND session = ?') + ' ORDER BY seq';
    const args = session === undefined ? [callId] : [callId, session];
    return this.db.prepare(sql).pluck().all(...args) as number[];
  }

  /** Counts by kind, decision, tool, rule and status; decisions without an outcome. */
  stats(filters: Pick<ListFilters, 'session' | 'since'> = {}): AuditStats {
    const { where, params } = buildWhere(filters);
    const and = where ? `${where} AND` : ' WHERE';
    const count = (sql: string): Array<{ k: string | null; k2?: string | null; n: number }> =>
      this.db.prepare(sql).all(...params) as Array<{ k: string | null; k2?: string | null; n: number }>;
    const toRecord = (rows: Array<{ k: string | null; n: number }>, nullKey = '(none)'): Record<string, number> =>
      Object.fromEntries(rows.map((r) => [r.k ?? nullKey, r.n]));
    const total = this.db.prepare(`SELECT count(*) AS n, min(ts) AS first, max(ts) AS last, count(DISTINCT session) AS s FROM audit${where}`).get(...params) as {
      n: number;
      first: string | null;
      last: string | null;
      s: number;
    };
    const byTool: Record<string, Record<string, number>> = {};
    for (const r of count(`SELECT tool AS k, decision AS k2, count(*) AS n FROM audit${and} kind = 'decision' GROUP BY tool, decision ORDER BY tool`)) {
      const t = (byTool[r.k ?? '(none)'] ??= { total: 0 });
      t[r.k2 ?? '(none)'] = r.n;
      t.total += r.n;
    }
    const d = buildWhere(filters, 'd.');
    const missing = this.db
      .prepare(
        `SELECT count(*) FROM audit AS d${d.where ? `${d.where} AND` : ' WHERE'} d.kind = 'decision' AND NOT EXISTS ` +
          "(SELECT 1 FROM audit AS o WHERE o.kind = 'outcome' AND o.session = d.session AND o.call_id = d.call_id)",
      )
      .pluck()
      .get(...d.params) as number;
    return {
      rows: total.n,
      byKind: toRecord(count(`SELECT kind AS k, count(*) AS n FROM audit${where} GROUP BY kind`)),
      byDecision: toRecord(count(`SELECT decision AS k, count(*) AS n FROM audit${and} kind = 'decision' GROUP BY decision`)),
      byTool,
      byRule: toRecord(count(`SELECT rule AS k, count(*) AS n FROM audit${and} kind = 'decision' GROUP BY rule ORDER BY n DESC`), '(default)'),
      byStatus: toRecord(count(`SELECT status AS k, count(*) AS n FROM audit${and} kind = 'outcome' GROUP BY status`)),
      sessions: total.s,
      callsWithoutOutcome: missing,
      first: total.first,
      last: total.last,
    };
  }
}

/** A stored row as the API returns it: JSON columns parsed, truncated as a boolean. */
export function toAuditRow(r: RawRow): AuditRow {
  return {
    seq: r.seq,
    kind: r.kind as AuditKind,
    ts: r.ts as string,
    tsMs: r.ts_ms as number,
    session: r.session as string,
    callId: r.call_id as string | null,
    agent: r.agent as string | null,
    tool: r.tool as string | null,
    workspace: r.workspace as string | null,
    input: parseJson(r.input),
    decision: r.decision as Decision | null,
    rule: r.rule as string | null,
    reason: r.reason as string | null,
    policyHash: r.policy_hash as string | null,
    jail: r.jail as string | null,
    approval: r.approval as string | null,
    status: r.status as OutcomeStatus | null,
    exitCode: r.exit_code as number | null,
    bytes: r.bytes as number | null,
    durationMs: r.duration_ms as number | null,
    outputHash: r.output_hash as string | null,
    truncated: r.truncated === null ? null : r.truncated === 1,
    error: r.error as string | null,
    errorCode: r.error_code as string | null,
    name: r.name as string | null,
    phase: r.phase as string | null,
    result: r.result as string | null,
    data: parseJson(r.data),
    inputHash: (r.input_hash ?? null) as string | null,
    macKey: (r.mac_key ?? null) as string | null,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

function parseJson(text: Cell): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(String(text));
  } catch {
    return text;
  }
}

/** WHERE clause for the filters; `alias` prefixes the column names (`d.` in a self-join). */
export function buildWhere(f: ListFilters, alias = ''): { where: string; params: Cell[] } {
  const conds: string[] = [];
  const params: Cell[] = [];
  const eq = (col: string, v: string | undefined): void => {
    if (v !== undefined) {
      conds.push(`${alias}${col} = ?`);
      params.push(v);
    }
  };
  eq('session', f.session);
  if (f.agent !== undefined) {
    const t = alias ? alias.slice(0, -1) : 'audit';
    conds.push(
      `(${alias}agent = ? OR (${alias}kind IN ('outcome', 'hook') AND EXISTS (SELECT 1 FROM audit a2 WHERE a2.kind = 'decision' AND a2.session = ${t}.session AND a2.call_id = ${t}.call_id AND a2.agent = ?)))`,
    );
    params.push(f.agent, f.agent);
  }
  eq('tool', f.tool);
  eq('decision', f.decision);
  eq('rule', f.rule);
  eq('kind', f.kind);
  if (f.since !== undefined) {
    conds.push(`${alias}ts_ms >= ?`);
    params.push(toMs(f.since));
  }
  if (f.afterSeq !== undefined && f.afterSeq > 0) {
    conds.push(`${alias}seq > ?`);
    params.push(Math.floor(f.afterSeq));
  }
  return { where: conds.length ? ` WHERE ${conds.join(' AND ')}` : '', params };
}

function toMs(t: number | Date | string): number {
  const ms = typeof t === 'number' ? t : t instanceof Date ? t.getTime() : Date.parse(t);
  if (!Number.isFinite(ms)) throw new AuditError('INVALID', `not a time: ${String(t)}`);
  return ms;
}
