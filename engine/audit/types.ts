/**
 * The audit log's public shapes: the records written (decision, outcome, hook), the rows read back,
 * the filters, stats and verify results, the open options, and AuditError.
 */
import { join } from 'node:path';
import { stateDir } from '../xdg.js';
import type { AuditKey } from './key.js';

export type Decision = 'allow' | 'ask' | 'deny';
export type OutcomeStatus = 'ok' | 'error' | 'denied';
export type AuditKind = 'decision' | 'outcome' | 'hook' | 'event';

export const AUDIT_KINDS: readonly AuditKind[] = ['decision', 'outcome', 'hook', 'event'];
export const DECISIONS: readonly Decision[] = ['allow', 'ask', 'deny'];

/** The policy's verdict on one call, recorded before the tool runs. */
export interface DecisionRecord {
  session: string;
  callId: string;
  agent: string;
  tool: string;
  /** Tool input; stored as JSON with secrets redacted (and very long strings cut). */
  input: unknown;
  decision: Decision;
  rule: string | null;
  reason: string;
  policyHash: string;
  /** Jail profile the call runs in, when any. */
  jail?: string;
  /** How an `ask` was settled ("approved by user", "--ask deny", "timeout"…). */
  approval?: string;
  /** Workspace root the call was decided for (lets `icode audit explain` re-decide it). */
  workspace?: string;
  /** Extra detail (redacted JSON), e.g. a sub-agent's parent call: `{parent_session, parent_call_id, depth}`. */
  data?: unknown;
}

/** What happened when the call ran (or was refused), recorded after it. */
export interface OutcomeRecord {
  session: string;
  callId: string;
  status: OutcomeStatus;
  exitCode?: number | null;
  bytes: number;
  durationMs: number;
  /** sha256 hex of the output, or null when there was none. */
  outputHash: string | null;
  truncated: boolean;
  error?: string;
  /** Why the call failed, as a stable code (the executor's: NOT_FOUND, timeout, …): groups failures. */
  code?: string;
}

/** A hook's result, beside the call it touched. */
export interface HookRecord {
  session: string;
  callId: string;
  /** Hook name or id. */
  hook: string;
  phase: 'pre' | 'post';
  /** What the hook did: "continue", "block", "modify", "error", … */
  result: string;
  reason?: string;
  durationMs?: number;
  error?: string;
  /** Extra detail (stored as redacted JSON). */
  data?: unknown;
}

/** One row as read back. Fields that do not apply to the row's kind are null. */
export interface AuditRow {
  seq: number;
  kind: AuditKind;
  ts: string;
  tsMs: number;
  session: string;
  callId: string | null;
  agent: string | null;
  tool: string | null;
  workspace: string | null;
  input: unknown;
  decision: Decision | null;
  rule: string | null;
  reason: string | null;
  policyHash: string | null;
  jail: string | null;
  approval: string | null;
  status: OutcomeStatus | null;
  exitCode: number | null;
  bytes: number | null;
  durationMs: number | null;
  outputHash: string | null;
  truncated: boolean | null;
  error: string | null;
  /** Outcome rows: the executor's failure code (schema v2; null on older rows). */
  errorCode: string | null;
  /** Hook name (hook rows) or event kind (event rows). */
  name: string | null;
  phase: string | null;
  result: string | null;
  data: unknown;
  /** Decision rows: HMAC (keyed row) or sha256 of the unredacted input's JSON. */
  inputHash: string | null;
  /** Id of the key the row's hash is an HMAC with; null for an unkeyed (plain sha256) row. */
  macKey: string | null;
  prevHash: string;
  hash: string;
}

export interface ListFilters {
  session?: string;
  /** Rows of one agent: its decisions, and the outcomes and hook rows of those calls. */
  agent?: string;
  tool?: string;
  decision?: Decision;
  rule?: string;
  /** Rows at or after this time: ms epoch, Date, or an ISO string. */
  since?: number | Date | string;
  kind?: AuditKind;
  /** Only rows with seq greater than this (paging). */
  afterSeq?: number;
  limit?: number;
  /** `asc` (default) is log order; `desc` with a limit gives the newest rows. */
  order?: 'asc' | 'desc';
}

/** A call as `get()` assembles it: the row asked for, its decision, outcome and hook rows. */
export interface CallDetail {
  row: AuditRow;
  decision: AuditRow | null;
  outcome: AuditRow | null;
  hooks: AuditRow[];
}

export interface AuditStats {
  rows: number;
  byKind: Record<string, number>;
  byDecision: Record<string, number>;
  byTool: Record<string, Record<string, number>>;
  byRule: Record<string, number>;
  byStatus: Record<string, number>;
  sessions: number;
  /** Decisions with no outcome row (a crash, a kill, or a call still running). */
  callsWithoutOutcome: number;
  first: string | null;
  last: string | null;
}

export interface VerifyProblem {
  /** Row concerned, or null for a problem with the schema (a dropped trigger…). */
  seq: number | null;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  /** Rows whose HMAC was checked with this installation's key. */
  keyed: number;
  /** Rows with only a plain hash (written before the key existed), and their seq range. */
  unkeyed: number;
  unkeyedRange: { first: number; last: number } | null;
  /** Id of the key verify used, or null when there was none. */
  keyId: string | null;
  /** Hash of the last row (GENESIS_HASH when empty). Write it down elsewhere to detect truncation. */
  head: string;
  headSeq: number;
  firstBad?: VerifyProblem;
  /** Every problem found (up to 100), in order; firstBad is the first. */
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /** A head hash noted earlier: the chain must still contain it (detects truncation and rewrites). */
  anchor?: string;
}

/** Which key signs (or checks) the chain: a loaded key, none (plain hashes only), or the default file. */
export type KeyOption = AuditKey | null | undefined;

export interface OpenOptions {
  /** Open an existing log for reading only (no schema changes, no writes). */
  readonly?: boolean;
  /** Flush as soon as this many rows are queued (default 1000). */
  maxBatch?: number;
  /** Stored input JSON longer than this gets its long strings cut (default 256 KiB). */
  maxInputChars?: number;
  /** How long to wait for another writer's lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * `background` (default): once this log has written `CHECKPOINTER_AFTER_ROWS` rows, a worker thread
   * with its own connection checkpoints the WAL every 200 ms, so the writer never stalls on the
   * checkpoint's fsyncs (the inline auto-checkpoint stays as a backstop at 64 MiB of WAL).
   * `inline`: SQLite's default auto-checkpoint on the writer's thread every 1000 pages.
   */
  checkpoint?: 'background' | 'inline';
  /**
   * The chain's key. Default: the installation's key at auditKeyPath() — created (0600) by a writer,
   * only read by a read-only open. `null`: no key (unkeyed rows; verify checks plain hashes only).
   */
  key?: KeyOption;
}

export type AuditErrorCode = 'CLOSED' | 'NO_DECISION' | 'DUPLICATE' | 'INVALID' | 'SCHEMA' | 'NOT_FOUND' | 'WRITE' | 'READONLY';

export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

/** `$XDG_STATE_HOME/icode/audit.db`, else `~/.local/state/icode/audit.db`: outside any workspace. */
export function defaultAuditPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'audit.db');
}
