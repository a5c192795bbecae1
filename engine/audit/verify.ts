/**
 * `verify()`: recompute the whole chain from the file — seq contiguous from 1, each prev_hash the
 * previous row's hash, each hash (HMAC for keyed rows) matching the row's content, every row's shape,
 * no outcome/hook without an earlier decision, no second decision or outcome for a call, the anchor
 * still in the chain, every schema object (triggers included) present and unaltered.
 */
import type Database from 'better-sqlite3';
import { GENESIS_HASH, rowHash, rowMac } from './chain.js';
import { auditKeyPath, type AuditKey } from './key.js';
import { COL, COLUMNS, schemaProblems, type Cell, type Column } from './schema.js';
import { DECISIONS, type Decision, type VerifyOptions, type VerifyProblem, type VerifyResult } from './types.js';

/** What verify reads: the connection, the key it checks HMACs with, the columns the table has. */
export interface VerifySource {
  db: Database.Database;
  key: AuditKey | null;
  /** Columns the table has (a read-only schema-1 log lacks schema 2's). */
  present: ReadonlySet<string>;
}

export function verifyChain(src: VerifySource, opts: VerifyOptions = {}): VerifyResult {
  const { db, key } = src;
  const problems: VerifyProblem[] = [];
  const add = (seq: number | null, problem: string): void => {
    if (problems.length < 100) problems.push({ seq, problem });
  };

  // A schema-1 log (read-only) lacks schema 2's columns: they read as NULL.
  const cols = [...COLUMNS, 'prev_hash', 'hash'].map((c) => (src.present.has(c) ? c : `NULL AS ${c}`)).join(', ');
  // Pages by seq: faster than iterate(), and memory stays flat on a huge log.
  const pageStmt = db.prepare(`SELECT ${cols} FROM audit WHERE seq > ? ORDER BY seq LIMIT 5000`).raw();
  function* allRows(): Generator<Cell[]> {
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const page = pageStmt.all(after) as Cell[][];
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1][COL.seq] as number;
    }
  }
  let rows = 0;
  let expectSeq = 1;
  let prev = GENESIS_HASH;
  let headSeq = 0;
  let anchorFound = opts.anchor === undefined || opts.anchor === GENESIS_HASH;
  const P = COLUMNS.length;
  let keyed = 0;
  let unkeyed = 0;
  let unkeyedRange: { first: number; last: number } | null = null;
  let keyedSeen = false;
  let uncheckable = false;
  try {
    for (const r of allRows()) {
      rows++;
      const seq = r[COL.seq] as number;
      if (seq !== expectSeq) {
        add(seq, seq > expectSeq ? `rows ${expectSeq}..${seq - 1} are missing (deleted)` : `seq ${seq} out of order (expected ${expectSeq})`);
      }
      const prevHash = r[P];
      const hash = r[P + 1];
      if (prevHash !== prev) add(seq, `prev_hash does not link to the hash of row ${expectSeq - 1}`);
      const prevText = typeof prevHash === 'string' ? prevHash : '';
      const cells = r.slice(0, P);
      const macKey = r[COL.mac_key];
      let expected: string | null;
      if (macKey === null) {
        // Plain hash: a row from before the key existed. After a keyed row, only a forger writes one.
        unkeyed++;
        unkeyedRange = unkeyedRange ? { first: unkeyedRange.first, last: seq } : { first: seq, last: seq };
        if (keyedSeen) add(seq, 'unkeyed row after keyed rows: written or rewritten without the audit key');
        else if (key && typeof r[COL.ts_ms] === 'number' && (r[COL.ts_ms] as number) > key.createdMs) {
          add(seq, `unkeyed row dated after the audit key was made (${new Date(key.createdMs).toISOString()}): written or rewritten without the key`);
        }
        expected = rowHash(prevText, cells);
      } else if (key && macKey === key.id) {
        keyed++;
        keyedSeen = true;
        expected = rowMac(key.key, prevText, cells);
      } else {
        keyedSeen = true;
        expected = null;
        if (!uncheckable) {
          add(
            seq,
            key
              ? `row is keyed with key ${String(macKey)}, not with this installation's key ${key.id}: its HMAC cannot be checked`
              : `row is keyed (key ${String(macKey)}) but there is no audit key at ${auditKeyPath()}: its HMAC cannot be checked`,
          );
          uncheckable = true;
        }
      }
      if (typeof hash !== 'string' || (expected !== null && expected !== hash)) {
        add(seq, 'hash mismatch: the row was altered after it was written');
      }
      const bad = rowShapeProblem(r);
      if (bad) add(seq, bad);
      if (hash === opts.anchor) anchorFound = true;
      prev = typeof hash === 'string' ? hash : '';
      expectSeq = seq + 1;
      headSeq = seq;
    }
  } catch (e) {
    // A truncated or damaged file: a failed check at the first row that could not be read.
    add(expectSeq, `the file is damaged from row ${expectSeq} on: ${(e as Error).message}`);
    return verifyResult(key, problems, rows, prev, headSeq, keyed, unkeyed, unkeyedRange);
  }

  try {
    integrityProblems(db, add, anchorFound, opts.anchor);
  } catch (e) {
    add(null, `the file is damaged: ${(e as Error).message}`);
  }
  return verifyResult(key, problems, rows, prev, headSeq, keyed, unkeyed, unkeyedRange);
}

function verifyResult(
  key: AuditKey | null,
  problems: VerifyProblem[],
  rows: number,
  prev: string,
  headSeq: number,
  keyed: number,
  unkeyed: number,
  unkeyedRange: { first: number; last: number } | null,
): VerifyResult {
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  const result: VerifyResult = {
    ok: problems.length === 0,
    rows,
    head: rows ? prev : GENESIS_HASH,
    headSeq,
    keyed,
    unkeyed,
    unkeyedRange,
    keyId: key?.id ?? null,
    problems,
  };
  if (problems.length) result.firstBad = problems[0];
  return result;
}

/** Orphans, duplicates, the anchor and the schema objects. */
function integrityProblems(db: Database.Database, add: (seq: number | null, problem: string) => void, anchorFound: boolean, anchor: string | undefined): void {
  const orphan = db
    .prepare(
      "SELECT o.seq, o.kind, o.call_id FROM audit AS o WHERE o.kind IN ('outcome', 'hook') AND NOT EXISTS " +
        "(SELECT 1 FROM audit AS d WHERE d.kind = 'decision' AND d.session = o.session AND d.call_id = o.call_id AND d.seq < o.seq) " +
        'ORDER BY o.seq LIMIT 100',
    )
    .all() as Array<{ seq: number; kind: string; call_id: string | null }>;
  for (const o of orphan) add(o.seq, `${o.kind} without an earlier decision for call ${String(o.call_id)}`);
  const dup = db
    .prepare(
      'SELECT seq, kind, call_id FROM (SELECT seq, kind, call_id, row_number() OVER ' +
        "(PARTITION BY kind, session, call_id ORDER BY seq) AS n FROM audit WHERE kind IN ('decision', 'outcome')) " +
        'WHERE n > 1 ORDER BY seq LIMIT 100',
    )
    .all() as Array<{ seq: number; kind: string; call_id: string | null }>;
  for (const d of dup) add(d.seq, `second ${d.kind} for call ${String(d.call_id)}`);

  if (!anchorFound) add(null, `anchor ${anchor} is not in the chain: the log was truncated or rewritten`);
  for (const p of schemaProblems(db)) add(null, p);
}

const HEX64 = /^[0-9a-f]{64}$/;

/** What the write path guarantees of every row, checked again (a forger recomputing hashes may not know). */
function rowShapeProblem(r: readonly Cell[]): string | null {
  const kind = r[COL.kind];
  const P = COLUMNS.length;
  if (typeof r[P] !== 'string' || !HEX64.test(r[P] as string) || typeof r[P + 1] !== 'string' || !HEX64.test(r[P + 1] as string)) {
    return 'prev_hash/hash are not sha256 hex';
  }
  if (typeof r[COL.session] !== 'string' || typeof r[COL.ts] !== 'string' || typeof r[COL.ts_ms] !== 'number') return 'missing session or time';
  const need = (cols: Column[]): string | null => {
    const missing = cols.filter((c) => r[COL[c]] === null);
    return missing.length ? `${String(kind)} row without ${missing.join(', ')}` : null;
  };
  switch (kind) {
    case 'decision':
      if (!DECISIONS.includes(r[COL.decision] as Decision)) return `invalid decision ${String(r[COL.decision])}`;
      return need(['call_id', 'tool', 'agent', 'input', 'reason', 'policy_hash']);
    case 'outcome':
      if (!['ok', 'error', 'denied'].includes(r[COL.status] as string)) return `invalid status ${String(r[COL.status])}`;
      if (r[COL.truncated] !== 0 && r[COL.truncated] !== 1) return 'truncated is not 0 or 1';
      return need(['call_id', 'bytes']);
    case 'hook':
      return need(['call_id', 'name', 'result']);
    case 'event':
      return need(['name']);
    default:
      return `unknown kind ${String(kind)}`;
  }
}
