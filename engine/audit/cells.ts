/**
 * From a record to a row: each record kind (decision, outcome, hook, event) is checked and turned into
 * the cells array of its row (COLUMNS order), strings made well-formed, free text and JSON values
 * redacted (redact.ts), oversized inputs cut. Nothing here touches the database; the writer hashes
 * and inserts the cells.
 */
import { clean, inputHash, sha256 } from './chain.js';
import type { AuditKey } from './key.js';
import { redactSecrets, redactValue } from './redact.js';
import { COL, COLUMNS, type Cell } from './schema.js';
import { AuditError, DECISIONS, type AuditKind, type DecisionRecord, type HookRecord, type OutcomeRecord } from './types.js';

/** What building cells needs of the log: its key, how long a stored JSON value may be, whether it takes rows. */
export interface CellContext {
  readonly key: AuditKey | null;
  readonly maxInputChars: number;
  /** Throws when the log is closed or read-only (checked after the record's own fields). */
  assertWritable(): void;
}

/** Stored input JSON longer than this gets its long strings cut, by default. */
export const DEFAULT_MAX_INPUT = 256 * 1024;
const CUT_STRING_AT = 1024;
/** Many rows are queued within one millisecond: format its ISO string once. */
const lastIso = { ms: -1, iso: '' };

export function decisionCells(ctx: CellContext, rec: DecisionRecord): Cell[] {
  requireStrings(rec, ['session', 'callId']);
  requireStrings(rec, ['agent', 'tool', 'reason', 'policyHash'], true);
  if (!DECISIONS.includes(rec.decision)) throw new AuditError('INVALID', `decision must be allow, ask or deny, not ${String(rec.decision)}`);
  if (rec.rule !== null && typeof rec.rule !== 'string') throw new AuditError('INVALID', 'rule must be a string or null');
  const cells = newCells(ctx, 'decision', rec.session, rec.callId);
  cells[COL.agent] = clean(rec.agent);
  cells[COL.tool] = clean(rec.tool);
  cells[COL.workspace] = rec.workspace === undefined ? null : clean(String(rec.workspace));
  cells[COL.input] = storedJson(ctx, rec.input);
  cells[COL.decision] = rec.decision;
  cells[COL.rule] = rec.rule === null ? null : clean(rec.rule);
  cells[COL.reason] = redactText(rec.reason);
  cells[COL.policy_hash] = clean(rec.policyHash);
  cells[COL.jail] = rec.jail === undefined ? null : clean(String(rec.jail));
  cells[COL.approval] = rec.approval === undefined ? null : redactText(String(rec.approval));
  cells[COL.input_hash] = inputHash(rec.input, ctx.key?.key ?? null);
  cells[COL.data] = rec.data === undefined ? null : storedJson(ctx, rec.data);
  return cells;
}

export function outcomeCells(ctx: CellContext, rec: OutcomeRecord): Cell[] {
  requireStrings(rec, ['session', 'callId']);
  if (!['ok', 'error', 'denied'].includes(rec.status)) throw new AuditError('INVALID', `status must be ok, error or denied, not ${String(rec.status)}`);
  const cells = newCells(ctx, 'outcome', rec.session, rec.callId);
  cells[COL.status] = rec.status;
  cells[COL.exit_code] = rec.exitCode === undefined || rec.exitCode === null ? null : toInt(rec.exitCode, 'exitCode');
  cells[COL.bytes] = Math.max(0, toInt(rec.bytes, 'bytes'));
  cells[COL.duration_ms] = toReal(rec.durationMs);
  cells[COL.output_hash] = rec.outputHash === null || rec.outputHash === undefined ? null : clean(String(rec.outputHash));
  cells[COL.truncated] = rec.truncated ? 1 : 0;
  cells[COL.error] = rec.error === undefined ? null : redactText(String(rec.error));
  cells[COL.error_code] = rec.code === undefined ? null : clean(String(rec.code)).slice(0, 64);
  return cells;
}

export function hookCells(ctx: CellContext, rec: HookRecord): Cell[] {
  requireStrings(rec, ['session', 'callId', 'hook']);
  requireStrings(rec, ['result'], true);
  const cells = newCells(ctx, 'hook', rec.session, rec.callId);
  cells[COL.name] = clean(rec.hook);
  cells[COL.phase] = clean(String(rec.phase));
  cells[COL.result] = redactText(rec.result);
  cells[COL.reason] = rec.reason === undefined ? null : redactText(String(rec.reason));
  cells[COL.duration_ms] = rec.durationMs === undefined ? null : toReal(rec.durationMs);
  cells[COL.error] = rec.error === undefined ? null : redactText(String(rec.error));
  cells[COL.data] = rec.data === undefined ? null : storedJson(ctx, rec.data);
  return cells;
}

export function eventCells(ctx: CellContext, kind: string, session: string, data: unknown): Cell[] {
  requireStrings({ kind, session }, ['kind', 'session']);
  const cells = newCells(ctx, 'event', session, null);
  cells[COL.name] = clean(kind);
  cells[COL.data] = data === undefined ? null : storedJson(ctx, data);
  return cells;
}

/** The cells every row has: kind, time, session, call id, key id. */
function newCells(ctx: CellContext, kind: AuditKind, session: string, callId: string | null): Cell[] {
  ctx.assertWritable();
  const cells: Cell[] = new Array<Cell>(COLUMNS.length).fill(null);
  const ms = Date.now();
  if (ms !== lastIso.ms) {
    lastIso.ms = ms;
    lastIso.iso = new Date(ms).toISOString();
  }
  cells[COL.kind] = kind;
  cells[COL.ts] = lastIso.iso;
  cells[COL.ts_ms] = ms;
  cells[COL.session] = clean(session);
  cells[COL.call_id] = callId === null ? null : clean(callId);
  cells[COL.mac_key] = ctx.key?.id ?? null;
  return cells;
}

/** A value as stored: redacted JSON, its long strings cut when too long, else a hashed stub. */
function storedJson(ctx: CellContext, value: unknown): string {
  const redacted = redactValue(value);
  let text = JSON.stringify(redacted) ?? 'null';
  if (text.length > ctx.maxInputChars) text = JSON.stringify(cutLongStrings(redacted)) ?? 'null';
  if (text.length > ctx.maxInputChars) {
    text = JSON.stringify({ $cut: true, chars: text.length, sha256: sha256(text), head: text.slice(0, 4096) });
  }
  return text;
}

function requireStrings<T extends object>(rec: T, keys: ReadonlyArray<keyof T & string>, emptyOk = false): void {
  if (rec === null || typeof rec !== 'object') throw new AuditError('INVALID', 'audit record must be an object');
  for (const k of keys) {
    const v = rec[k];
    if (typeof v !== 'string' || (v === '' && !emptyOk)) throw new AuditError('INVALID', `audit record: ${k} must be a ${emptyOk ? '' : 'non-empty '}string`);
  }
}

function redactText(s: string): string {
  return redactSecrets(clean(s)).text;
}

function toInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AuditError('INVALID', `audit record: ${name} must be a finite number`);
  return Math.trunc(v);
}

function toReal(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Copy of a JSON value with strings over CUT_STRING_AT chars replaced by a head and a hash. */
function cutLongStrings(v: unknown): unknown {
  if (typeof v === 'string') {
    return v.length > CUT_STRING_AT ? `${v.slice(0, CUT_STRING_AT / 2)}…[cut: ${v.length} chars, sha256 ${sha256(v)}]` : v;
  }
  if (Array.isArray(v)) return v.map(cutLongStrings);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cutLongStrings(x)]));
  return v;
}
