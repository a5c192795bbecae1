/**
 * `icode audit export`: rows streamed to a writer as JSONL (one AuditRow per line) or CSV (a header,
 * then the stored columns; cells that a spreadsheet would run as a formula are quoted).
 */
import type Database from 'better-sqlite3';
import { buildWhere, toAuditRow } from './queries.js';
import { COLUMNS, type Cell, type Column, type RawRow } from './schema.js';
import type { ListFilters } from './types.js';

/**
 * Stream rows (filtered like list) to `write`, 1000 rows per query so a huge log never sits in
 * memory. `beforePage` runs before each query (the log flushes its queue). Resolves with the number
 * of rows written.
 */
export async function exportRows(
  db: Database.Database,
  format: 'jsonl' | 'csv',
  write: (chunk: string) => unknown,
  filters: Omit<ListFilters, 'order' | 'afterSeq'>,
  beforePage: () => void,
): Promise<number> {
  const page = 1000;
  let after = 0;
  let written = 0;
  const max = filters.limit !== undefined && filters.limit > 0 ? Math.floor(filters.limit) : Infinity;
  if (format === 'csv') await write(CSV_HEADER.join(',') + '\n');
  for (;;) {
    beforePage();
    const { where, params } = buildWhere({ ...filters, afterSeq: after, limit: undefined });
    const n = Math.min(page, max - written);
    if (n <= 0) break;
    const rows = db.prepare(`SELECT * FROM audit${where} ORDER BY seq LIMIT ${n}`).all(...params) as RawRow[];
    if (rows.length === 0) break;
    let chunk = '';
    for (const r of rows) chunk += format === 'csv' ? csvLine(r) : JSON.stringify(toAuditRow(r)) + '\n';
    const ret = write(chunk);
    if (ret instanceof Promise) await ret;
    written += rows.length;
    after = rows[rows.length - 1].seq;
    if (rows.length < n) break;
  }
  return written;
}

const CSV_HEADER = [...COLUMNS, 'prev_hash', 'hash'];

function csvLine(r: RawRow): string {
  return CSV_HEADER.map((c) => csvCell(r[c as Column])).join(',') + '\n';
}

function csvCell(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  // Spreadsheet formula injection: agent-controlled text must not start a formula.
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
