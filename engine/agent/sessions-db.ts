/**
 * The sessions database's tables (SQL), the rows read back, and their mapping to the store's types
 * (sessions.ts). Schema history: 1 the three tables; 2 compactions; 3 tool_calls.audit_path.
 */
import type Database from 'better-sqlite3';
import type { Decision } from '../../policies/types.js';
import type { CallStatus } from '../pipeline-types.js';
import type { SessionInfo, StoredMessage, StoredToolCall } from './sessions.js';
import type { ContentBlock, Role } from './types.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  title TEXT,
  model TEXT,
  workspace TEXT,
  policy TEXT,
  policy_hash TEXT,
  system TEXT,
  parent_session_id TEXT REFERENCES sessions(id),
  fork_message_id INTEGER REFERENCES messages(id),
  head_message_id INTEGER REFERENCES messages(id),
  status TEXT NOT NULL DEFAULT 'new',
  error TEXT,
  turns INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL,
  cost_known INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  parent_id INTEGER REFERENCES messages(id),
  seq INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  content TEXT NOT NULL,
  created_at TEXT NOT NULL,
  model TEXT,
  stop_reason TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cache_write_tokens INTEGER,
  cost_usd REAL
);
CREATE INDEX IF NOT EXISTS messages_parent ON messages(parent_id);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id);
CREATE TABLE IF NOT EXISTS tool_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  message_id INTEGER NOT NULL REFERENCES messages(id),
  result_message_id INTEGER REFERENCES messages(id),
  position INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  canonical_tool TEXT,
  input TEXT,
  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'denied')),
  decision TEXT,
  rule TEXT,
  reason TEXT,
  output TEXT,
  error TEXT,
  exit_code INTEGER,
  truncated INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  audit_id INTEGER,
  created_at TEXT NOT NULL,
  audit_path TEXT,
  UNIQUE (message_id, call_id)
);
CREATE INDEX IF NOT EXISTS tool_calls_message ON tool_calls(message_id);
CREATE INDEX IF NOT EXISTS tool_calls_session ON tool_calls(session_id);
CREATE INDEX IF NOT EXISTS tool_calls_audit ON tool_calls(audit_id);
-- Compactions (schema 2): the full history stays in messages; a compaction stores the view the model
-- gets instead of the history up to at_message_id (later messages follow it).
CREATE TABLE IF NOT EXISTS compactions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  at_message_id INTEGER NOT NULL REFERENCES messages(id),
  created_at TEXT NOT NULL,
  trigger TEXT NOT NULL,
  tokens_before INTEGER,
  tokens_after INTEGER,
  pruned INTEGER NOT NULL DEFAULT 0,
  summary TEXT,
  view TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS compactions_session ON compactions(session_id);
`;

/** A sub-agent's session is linked to the parent session and the `task` call that started it. */
export const SUBAGENT_SCHEMA = `
CREATE TABLE IF NOT EXISTS subagent_sessions (
  session_id TEXT PRIMARY KEY REFERENCES sessions(id),
  parent_session_id TEXT NOT NULL REFERENCES sessions(id),
  parent_call_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  depth INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS subagent_sessions_parent ON subagent_sessions(parent_session_id);
`;

export interface SessionRow {
  id: string;
  created_at: string;
  updated_at: string;
  title: string | null;
  model: string | null;
  workspace: string | null;
  policy: string | null;
  policy_hash: string | null;
  system: string | null;
  parent_session_id: string | null;
  fork_message_id: number | null;
  head_message_id: number | null;
  status: string;
  error: string | null;
  turns: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  cost_known: number;
  message_count: number | null;
}

export interface MessageRow {
  id: number;
  session_id: string;
  parent_id: number | null;
  seq: number;
  role: Role;
  content: string;
  created_at: string;
  model: string | null;
  stop_reason: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_tokens: number | null;
  cost_usd: number | null;
}

export interface ToolCallRow {
  id: number;
  session_id: string;
  message_id: number;
  result_message_id: number | null;
  position: number;
  call_id: string;
  tool: string;
  canonical_tool: string | null;
  input: string | null;
  status: CallStatus;
  decision: Decision | null;
  rule: string | null;
  reason: string | null;
  output: string | null;
  error: string | null;
  exit_code: number | null;
  truncated: number;
  duration_ms: number | null;
  audit_id: number | null;
  created_at: string;
  /** Absent in a schema-2 database opened read-only. */
  audit_path?: string | null;
}

export const SESSION_COLUMNS = `s.*, (SELECT seq FROM messages WHERE id = s.head_message_id) AS message_count`;

/** A sessions database written before application_id existed: schema 1 with its three tables. */
export function isLegacySessionsDb(db: Database.Database): boolean {
  if ((db.pragma('user_version', { simple: true }) as number) !== 1) return false;
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  const cols = new Set(db.prepare("SELECT name FROM pragma_table_info('sessions')").pluck().all() as string[]);
  return ['sessions', 'messages', 'tool_calls'].every((t) => tables.has(t)) && cols.has('head_message_id') && cols.has('fork_message_id');
}

export function toSession(r: SessionRow): SessionInfo {
  return {
    id: r.id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    title: r.title,
    model: r.model,
    workspace: r.workspace,
    policy: r.policy,
    policyHash: r.policy_hash,
    system: r.system,
    parentSessionId: r.parent_session_id,
    forkMessageId: r.fork_message_id,
    headMessageId: r.head_message_id,
    messageCount: r.message_count ?? 0,
    status: r.status,
    error: r.error,
    turns: r.turns,
    usage: {
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cacheReadTokens: r.cache_read_tokens,
      cacheWriteTokens: r.cache_write_tokens,
    },
    costUsd: r.cost_known ? (r.cost_usd ?? 0) : null,
  };
}

export function toMessage(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    sessionId: r.session_id,
    parentId: r.parent_id,
    seq: r.seq,
    role: r.role,
    content: JSON.parse(r.content) as ContentBlock[],
    createdAt: r.created_at,
    model: r.model,
    stopReason: r.stop_reason,
    usage:
      r.input_tokens === null
        ? null
        : {
            inputTokens: r.input_tokens,
            outputTokens: r.output_tokens ?? 0,
            cacheReadTokens: r.cache_read_tokens ?? 0,
            cacheWriteTokens: r.cache_write_tokens ?? 0,
          },
    costUsd: r.cost_usd,
  };
}

export function toToolCall(r: ToolCallRow): StoredToolCall {
  return {
    id: r.id,
    sessionId: r.session_id,
    messageId: r.message_id,
    resultMessageId: r.result_message_id,
    position: r.position,
    callId: r.call_id,
    tool: r.tool,
    canonicalTool: r.canonical_tool,
    input: r.input === null ? null : (JSON.parse(r.input) as unknown),
    status: r.status,
    decision: r.decision,
    rule: r.rule,
    reason: r.reason,
    output: r.output,
    error: r.error,
    exitCode: r.exit_code,
    truncated: r.truncated === 1,
    durationMs: r.duration_ms,
    auditId: r.audit_id,
    auditPath: r.audit_path ?? null,
    verdictFrom: 'session',
    createdAt: r.created_at,
  };
}
