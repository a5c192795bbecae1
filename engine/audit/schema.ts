/**
 * The audit table: its columns (the order the chain hashes them in), its exact SQL per schema version
 * (table, partial indexes, the append-only triggers), the migrations between versions, how a file is
 * recognised as an icode audit log, and the schema check verify() runs.
 */
import Database from 'better-sqlite3';
import { ICODE_APP_IDS } from '../sqlite-file.js';
import { AuditError, type AuditKind } from './types.js';

export const SCHEMA_VERSION = 3;

/** Columns in table order (without prev_hash and hash). */
export const COLUMNS = [
  'seq', 'kind', 'ts', 'ts_ms', 'session', 'call_id', 'agent', 'tool', 'workspace', 'input', 'decision',
  'rule', 'reason', 'policy_hash', 'jail', 'approval', 'status', 'exit_code', 'bytes', 'duration_ms',
  'output_hash', 'truncated', 'error', 'name', 'phase', 'result', 'data',
  // schema 2 and 3 (added by ALTER TABLE, so they sit after prev_hash and hash in the table)
  'input_hash', 'mac_key', 'error_code',
] as const;
export type Column = (typeof COLUMNS)[number];
export type Cell = string | number | null;
/** The hashed columns in table order (the cells array `rowHash`/`rowMac` take). */
export const AUDIT_COLUMNS: readonly string[] = COLUMNS;
/** Position of each column in a row's cells array. */
export const COL = Object.fromEntries(COLUMNS.map((c, i) => [c, i])) as Record<Column, number>;
/** Columns each kind may set; the others stay null (binding fewer parameters is measurably faster). */
export const KIND_COLUMNS: Readonly<Record<AuditKind, readonly Column[]>> = {
  decision: ['seq', 'kind', 'ts', 'ts_ms', 'session', 'call_id', 'agent', 'tool', 'workspace', 'input', 'decision', 'rule', 'reason', 'policy_hash', 'jail', 'approval', 'data', 'input_hash', 'mac_key'],
  outcome: ['seq', 'kind', 'ts', 'ts_ms', 'session', 'call_id', 'status', 'exit_code', 'bytes', 'duration_ms', 'output_hash', 'truncated', 'error', 'error_code', 'mac_key'],
  hook: ['seq', 'kind', 'ts', 'ts_ms', 'session', 'call_id', 'name', 'phase', 'result', 'reason', 'duration_ms', 'error', 'data', 'mac_key'],
  event: ['seq', 'kind', 'ts', 'ts_ms', 'session', 'name', 'data', 'mac_key'],
};

/** A row as `SELECT *` returns it. */
export type RawRow = Record<Column | 'prev_hash' | 'hash', Cell> & { seq: number };

/**
 * The table is STRICT (column types enforced) but carries no CHECK constraints: they cost a third of
 * the insert throughput. Field domains are validated by the code at write time and by verify().
 */
const TABLE_SQL = `CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ts TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  session TEXT NOT NULL,
  call_id TEXT,
  agent TEXT,
  tool TEXT,
  workspace TEXT,
  input TEXT,
  decision TEXT,
  rule TEXT,
  reason TEXT,
  policy_hash TEXT,
  jail TEXT,
  approval TEXT,
  status TEXT,
  exit_code INTEGER,
  bytes INTEGER,
  duration_ms REAL,
  output_hash TEXT,
  truncated INTEGER,
  error TEXT,
  name TEXT,
  phase TEXT,
  result TEXT,
  data TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT`;

/**
 * Every schema object of version 1, by name, with its exact SQL (verify compares them).
 * There is no trigger checking that a row links to the previous one: SQLite cannot recompute a hash,
 * the link check alone cost ~15% of the insert throughput, and verify() checks every link anyway. The
 * writer keeps the chain linear by reading the head inside its BEGIN IMMEDIATE transaction.
 */
type SchemaObject = { type: 'table' | 'index' | 'trigger'; name: string; sql: string };
const SCHEMA_OBJECTS: ReadonlyArray<SchemaObject> = [
  { type: 'table', name: 'audit', sql: TABLE_SQL },
  // Partial indexes: each row enters at most one of them.
  {
    type: 'index',
    name: 'audit_one_decision',
    sql: "CREATE UNIQUE INDEX audit_one_decision ON audit (session, call_id) WHERE kind = 'decision'",
  },
  {
    type: 'index',
    name: 'audit_one_outcome',
    sql: "CREATE UNIQUE INDEX audit_one_outcome ON audit (session, call_id) WHERE kind = 'outcome'",
  },
  { type: 'index', name: 'audit_hooks', sql: "CREATE INDEX audit_hooks ON audit (session, call_id) WHERE kind = 'hook'" },
  {
    type: 'trigger',
    name: 'audit_no_update',
    sql: "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
  },
  {
    type: 'trigger',
    name: 'audit_no_delete',
    sql: "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
  },
  {
    type: 'trigger',
    name: 'audit_needs_decision',
    sql:
      "CREATE TRIGGER audit_needs_decision BEFORE INSERT ON audit WHEN NEW.kind IN ('outcome', 'hook') AND NOT EXISTS " +
      "(SELECT 1 FROM audit WHERE kind = 'decision' AND session = NEW.session AND call_id = NEW.call_id) " +
      "BEGIN SELECT RAISE(ABORT, 'audit: an outcome or hook result needs an earlier decision for the same call'); END",
  },
];

/**
 * Schema objects of a given version. The table's SQL is what SQLite stores after that version's
 * migrations (ALTER TABLE rewrites the stored text), computed once per version by migrating an empty
 * in-memory database, so verify() and the legacy check compare like with like.
 */
const tableSqlByVersion = new Map<number, string>();
function schemaObjects(version: number): ReadonlyArray<SchemaObject> {
  let sql = tableSqlByVersion.get(version);
  if (sql === undefined) {
    const mem = new Database(':memory:');
    try {
      for (let v = 0; v < Math.max(1, Math.min(version, MIGRATIONS.length)); v++) MIGRATIONS[v]!(mem);
      sql = mem.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit'").pluck().get() as string;
    } finally {
      mem.close();
    }
    tableSqlByVersion.set(version, sql);
  }
  const table = sql;
  return SCHEMA_OBJECTS.map((o) => (o.type === 'table' ? { ...o, sql: table } : o));
}

/** MIGRATIONS[v] takes a database from user_version v to v + 1. Only ever additive. */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) => {
    for (const o of SCHEMA_OBJECTS) db.exec(o.type === 'table' ? TABLE_SQL : o.sql);
  },
  (db) => {
    db.exec('ALTER TABLE audit ADD COLUMN input_hash TEXT');
    db.exec('ALTER TABLE audit ADD COLUMN mac_key TEXT');
  },
  (db) => {
    db.exec('ALTER TABLE audit ADD COLUMN error_code TEXT');
  },
];

/** A log written by an icode from before application_id: schema 1 or 2, exactly as icode made it. */
function isLegacyAuditDb(db: Database.Database): boolean {
  const v = db.pragma('user_version', { simple: true }) as number;
  if (v < 1 || v > SCHEMA_VERSION) return false;
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit'").pluck().get();
  return sql === schemaObjects(v).find((o) => o.type === 'table')?.sql;
}

/** How openIcodeDb recognises an audit log (sqlite-file.ts). */
export const AUDIT_DB_SPEC = { what: 'audit log', appId: ICODE_APP_IDS.audit, version: SCHEMA_VERSION, isLegacy: isLegacyAuditDb };

/** Create or upgrade the schema (read-write), or check that a read-only open can read it. */
export function migrate(db: Database.Database, readonly: boolean, file: string): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const check = (v: number): void => {
    if (v > SCHEMA_VERSION) {
      throw new AuditError('SCHEMA', `audit log ${file} has schema version ${v}, newer than this icode understands (${SCHEMA_VERSION})`);
    }
  };
  check(version());
  const stamped = (): boolean => db.pragma('application_id', { simple: true }) === ICODE_APP_IDS.audit;
  if (version() === SCHEMA_VERSION && stamped()) return;
  if (readonly) {
    // An older schema is read as it is (the reader and verify() know every version).
    if (version() === 0) throw new AuditError('SCHEMA', `${file} is an empty database, not an icode audit log yet`);
    return;
  }
  db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    let v = version();
    check(v);
    if (v === 0) {
      const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'audit'").pluck().get() as number;
      if (tables) throw new AuditError('SCHEMA', `${file} has an audit table but no schema version; refusing to touch it`);
    }
    for (; v < SCHEMA_VERSION; v++) MIGRATIONS[v](db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.pragma(`application_id = ${ICODE_APP_IDS.audit}`);
  }).immediate();
}

/** Problems with the schema objects (a dropped or altered trigger, an index gone, a wrong version). */
export function schemaProblems(db: Database.Database): string[] {
  const problems: string[] = [];
  const v = db.pragma('user_version', { simple: true }) as number;
  if (v < 1 || v > SCHEMA_VERSION) problems.push(`schema version is ${v}, expected ${SCHEMA_VERSION}`);
  const actual = new Map(
    (db.prepare('SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?').all('audit') as Array<{ type: string; name: string; sql: string | null }>).map(
      (o) => [o.name, o],
    ),
  );
  const expected = schemaObjects(v);
  for (const o of expected) {
    const a = actual.get(o.name);
    if (!a) problems.push(`${o.type} ${o.name} is missing`);
    else if (a.type !== o.type || a.sql !== o.sql) problems.push(`${o.type} ${o.name} was altered`);
  }
  for (const a of actual.values()) {
    if (a.type === 'trigger' && !expected.some((o) => o.name === a.name)) problems.push(`unexpected trigger ${a.name}`);
  }
  return problems;
}
