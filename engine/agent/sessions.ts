/**
 * Sessions (SQLite through better-sqlite3), in their own file apart from the audit log:
 * `$XDG_STATE_HOME/icode/sessions.db`, else `~/.local/state/icode/sessions.db`.
 *
 * Messages form a tree: each has a parent pointer, and a session is a pointer to its newest
 * message (`head_message_id`). A session's history is the chain from its head up to the root, so
 * a fork is a new session whose head is a message of another: both share that history without
 * copying it. Tool calls are rows linked to the assistant message that asked for them, to the user
 * message that carried their results, to the provider's call id and to their audit row: a call that
 * reached the audit log keeps only the reference (`audit_id`, `audit_path`), and its decision, rule and
 * reason are read from the audit log when shown (call-verdicts.ts).
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Decision } from '../../policies/types.js';
import { InputError } from '../errors.js';
import { describeDbError, ICODE_APP_IDS, openIcodeDb } from '../sqlite-file.js';
import type { CallStatus } from '../pipeline-types.js';
import { stateDir } from '../xdg.js';
import { resolveVerdicts, type VerdictSource } from './call-verdicts.js';
import { isLegacySessionsDb, SCHEMA, SESSION_COLUMNS, SUBAGENT_SCHEMA, toMessage, toSession, toToolCall, type MessageRow, type SessionRow, type ToolCallRow } from './sessions-db.js';
import type { Message, Usage } from './types.js';

/** 3: tool_calls.audit_path (a call references its audit row instead of copying its verdict). */
export const SESSIONS_SCHEMA_VERSION = 3;

/** `$XDG_STATE_HOME/icode/sessions.db`, else `~/.local/state/icode/sessions.db`. */
export function defaultSessionsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'sessions.db');
}

/** `new`, `running`, then how the last run ended: a result subtype or `aborted`. */
export type SessionStatus = string;

export interface SessionInfo {
  id: string;
  createdAt: string;
  updatedAt: string;
  title: string | null;
  model: string | null;
  workspace: string | null;
  policy: string | null;
  policyHash: string | null;
  system: string | null;
  /** For a fork: the session it was forked from and the message it branches off after. */
  parentSessionId: string | null;
  forkMessageId: number | null;
  headMessageId: number | null;
  /** Number of messages in the session's history (shared ones included). */
  messageCount: number;
  status: SessionStatus;
  error: string | null;
  /** Model calls made in this session (not counting a fork's shared history). */
  turns: number;
  usage: Usage;
  /** USD, or null when a model of the session had unknown prices. */
  costUsd: number | null;
}

export interface StoredMessage extends Message {
  id: number;
  /** The session that wrote it (a fork's shared messages belong to its ancestor). */
  sessionId: string;
  parentId: number | null;
  /** 1-based position in the history. */
  seq: number;
  createdAt: string;
  model: string | null;
  stopReason: string | null;
  usage: Usage | null;
  costUsd: number | null;
}

export interface MessageMeta {
  model?: string;
  stopReason?: string;
  usage?: Usage;
  costUsd?: number | null;
}

export interface ToolCallRecord {
  sessionId: string;
  /** The assistant message that asked for the call. */
  messageId: number;
  position: number;
  callId: string;
  /** Tool name as the model gave it. */
  tool: string;
  /** Canonical tool name from the pipeline. */
  canonicalTool?: string | null;
  input: unknown;
  status: CallStatus;
  /**
   * The verdict. Stored only when the call has no audit row to reference (no auditId or auditPath):
   * otherwise the audit log holds it and it is read from there.
   */
  decision?: Decision | null;
  rule?: string | null;
  reason?: string | null;
  output?: string | null;
  error?: string | null;
  exitCode?: number | null;
  truncated?: boolean;
  durationMs?: number | null;
  /** Audit row id of the decision (null when the call never reached the pipeline). */
  auditId?: number | null;
  /** The audit log holding that row (the runner's). */
  auditPath?: string | null;
}

export interface CompactionRecord {
  sessionId: string;
  /** The newest message the view replaces (it and everything before it). */
  atMessageId: number;
  trigger: 'auto' | 'manual';
  tokensBefore: number | null;
  tokensAfter: number | null;
  /** Tool outputs replaced by a stub. */
  pruned: number;
  /** The model's summary of the older turns, when one was made. */
  summary: string | null;
  view: Message[];
}

export interface StoredCompaction extends CompactionRecord {
  id: number;
  createdAt: string;
}

export interface StoredToolCall extends Required<Omit<ToolCallRecord, 'truncated'>> {
  id: number;
  /** Where decision, rule and reason come from (see call-verdicts.ts). */
  verdictFrom: VerdictSource;
  resultMessageId: number | null;
  truncated: boolean;
  createdAt: string;
}

/** Unknown session id, bad fork point, unreadable database: a usage error for the CLI (exit 2). */
export class SessionError extends InputError {
  override readonly name = 'SessionError';
}

const now = (): string => new Date().toISOString();

/** A child session: which sub-agent ran in it, for which `task` call of which session. */
export interface SubagentLink {
  sessionId: string;
  parentSessionId: string;
  parentCallId: string;
  agent: string;
  depth: number;
}

export interface CreateSessionOptions {
  /** Chosen by the caller (e.g. so the audit rows can carry it before the session exists). */
  id?: string;
  title?: string | null;
  model?: string | null;
  workspace?: string | null;
  policy?: string | null;
  policyHash?: string | null;
  system?: string | null;
}

const SESSIONS_DB_SPEC = { what: 'sessions database', appId: ICODE_APP_IDS.sessions, version: SESSIONS_SCHEMA_VERSION, isLegacy: isLegacySessionsDb };

export class SessionStore {
  readonly path: string;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  /** Open (creating if needed) a sessions database; `:memory:` works for tests. */
  static open(path: string = defaultSessionsPath(), opts: { readonly?: boolean } = {}): SessionStore {
    const file = path === ':memory:' ? path : resolve(path);
    if (file !== ':memory:' && opts.readonly && !existsSync(file)) throw new SessionError(`no sessions database at ${file}`);
    // Only icode's own sessions database (application_id, schema version) is opened; anything else is
    // refused with one line saying what it is, and never written.
    const db = file === ':memory:' ? new Database(file) : openIcodeDb(file, SESSIONS_DB_SPEC, { readonly: opts.readonly === true }).db;
    try {
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SESSIONS_SCHEMA_VERSION) {
        throw new SessionError(`${file}: sessions schema ${version} is newer than this icode (${SESSIONS_SCHEMA_VERSION})`);
      }
      if (!opts.readonly && (version < SESSIONS_SCHEMA_VERSION || db.pragma('application_id', { simple: true }) !== ICODE_APP_IDS.sessions)) {
        db.transaction(() => {
          db.exec(SCHEMA);
          // Schema 3 (additive): earlier rows keep their copied verdicts and get no audit_path.
          const cols = db.prepare("SELECT name FROM pragma_table_info('tool_calls')").pluck().all() as string[];
          if (!cols.includes('audit_path')) db.exec('ALTER TABLE tool_calls ADD COLUMN audit_path TEXT');
          db.pragma(`user_version = ${SESSIONS_SCHEMA_VERSION}`);
          db.pragma(`application_id = ${ICODE_APP_IDS.sessions}`);
        }).immediate();
      }
      // Additive: databases made before sub-agents gain the link table on their next writable open.
      if (!opts.readonly) db.exec(SUBAGENT_SCHEMA);
    } catch (e) {
      db.close();
      if (e instanceof InputError || file === ':memory:') throw e;
      const err = describeDbError(file, 'sessions database', e);
      throw new SessionError(err.message);
    }
    return new SessionStore(file, db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  createSession(opts: CreateSessionOptions = {}): SessionInfo {
    const id = opts.id ?? randomUUID();
    const t = now();
    this.db
      .prepare(
        `INSERT INTO sessions (id, created_at, updated_at, title, model, workspace, policy, policy_hash, system)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, t, t, opts.title ?? null, opts.model ?? null, opts.workspace ?? null, opts.policy ?? null, opts.policyHash ?? null, opts.system ?? null);
    return this.getSession(id);
  }

  /** Links a sub-agent's session to its parent session and the `task` call that started it. */
  linkSubagent(link: SubagentLink): void {
    this.db
      .prepare('INSERT INTO subagent_sessions (session_id, parent_session_id, parent_call_id, agent, depth) VALUES (?, ?, ?, ?, ?)')
      .run(link.sessionId, link.parentSessionId, link.parentCallId, link.agent, link.depth);
  }

  /** The sub-agent sessions a session started, in the order they started. */
  subagentSessions(parentSessionId: string): SubagentLink[] {
    if (!this.hasSubagentTable()) return [];
    const rows = this.db
      .prepare('SELECT session_id, parent_session_id, parent_call_id, agent, depth FROM subagent_sessions WHERE parent_session_id = ? ORDER BY rowid')
      .all(parentSessionId) as Array<{ session_id: string; parent_session_id: string; parent_call_id: string; agent: string; depth: number }>;
    return rows.map((r) => ({ sessionId: r.session_id, parentSessionId: r.parent_session_id, parentCallId: r.parent_call_id, agent: r.agent, depth: r.depth }));
  }

  /** The link of a sub-agent's session, or null for a top-level session. */
  subagentLink(sessionId: string): SubagentLink | null {
    if (!this.hasSubagentTable()) return null;
    const r = this.db.prepare('SELECT session_id, parent_session_id, parent_call_id, agent, depth FROM subagent_sessions WHERE session_id = ?').get(sessionId) as
      | { session_id: string; parent_session_id: string; parent_call_id: string; agent: string; depth: number }
      | undefined;
    return r ? { sessionId: r.session_id, parentSessionId: r.parent_session_id, parentCallId: r.parent_call_id, agent: r.agent, depth: r.depth } : null;
  }

  private hasSubagentTable(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'subagent_sessions'").get() !== undefined;
  }

  /** A session by full id or by a unique prefix (at least 4 characters). */
  findSession(idOrPrefix: string): SessionInfo | null {
    const exact = this.db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.id = ?`).get(idOrPrefix) as SessionRow | undefined;
    if (exact) return toSession(exact);
    if (idOrPrefix.length < 4 || /[%_]/.test(idOrPrefix)) return null;
    const rows = this.db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.id LIKE ? LIMIT 2`).all(`${idOrPrefix}%`) as SessionRow[];
    if (rows.length > 1) throw new SessionError(`session id prefix "${idOrPrefix}" is ambiguous`);
    return rows[0] ? toSession(rows[0]) : null;
  }

  getSession(idOrPrefix: string): SessionInfo {
    const s = this.findSession(idOrPrefix);
    if (!s) throw new SessionError(`no session "${idOrPrefix}" in ${this.path}`);
    return s;
  }

  /** Newest first. */
  /** Newest first; with `workspace`, only the sessions run in that (real) workspace root. */
  listSessions(opts: { limit?: number; workspace?: string } = {}): SessionInfo[] {
    const where = opts.workspace !== undefined ? 'WHERE s.workspace = ?' : '';
    const rows = this.db
      .prepare(`SELECT ${SESSION_COLUMNS} FROM sessions s ${where} ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ?`)
      .all(...(opts.workspace !== undefined ? [opts.workspace] : []), opts.limit ?? -1) as SessionRow[];
    return rows.map(toSession);
  }

  updateSession(
    id: string,
    patch: { status?: SessionStatus; error?: string | null; model?: string | null; policy?: string | null; policyHash?: string | null; title?: string | null; workspace?: string | null; system?: string | null },
  ): void {
    const cols: Record<string, string> = {
      status: 'status',
      error: 'error',
      model: 'model',
      policy: 'policy',
      policyHash: 'policy_hash',
      title: 'title',
      workspace: 'workspace',
      system: 'system',
    };
    const sets: string[] = ['updated_at = ?'];
    const values: unknown[] = [now()];
    for (const [key, col] of Object.entries(cols)) {
      const v = (patch as Record<string, unknown>)[key];
      if (v === undefined) continue;
      sets.push(`${col} = ?`);
      values.push(v);
    }
    this.db.prepare(`UPDATE sessions SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  /** Add one model call's usage and cost to the session's totals (a null cost makes the total unknown). */
  addTurn(id: string, usage: Usage, costUsd: number | null): void {
    this.db
      .prepare(
        `UPDATE sessions SET turns = turns + 1,
           input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
           cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?,
           cost_usd = CASE WHEN ? IS NULL THEN cost_usd ELSE COALESCE(cost_usd, 0) + ? END,
           cost_known = CASE WHEN ? IS NULL THEN 0 ELSE cost_known END,
           updated_at = ?
         WHERE id = ?`,
      )
      .run(usage.inputTokens, usage.outputTokens, usage.cacheReadTokens, usage.cacheWriteTokens, costUsd, costUsd, costUsd, now(), id);
  }

  /** Append a message after the session's head and make it the new head. */
  appendMessage(sessionId: string, message: Message, meta: MessageMeta = {}): StoredMessage {
    const tx = this.db.transaction((): number => {
      const s = this.db.prepare('SELECT head_message_id FROM sessions WHERE id = ?').get(sessionId) as { head_message_id: number | null } | undefined;
      if (!s) throw new SessionError(`no session "${sessionId}"`);
      const parent = s.head_message_id;
      const seq = parent === null ? 1 : (this.db.prepare('SELECT seq FROM messages WHERE id = ?').get(parent) as { seq: number }).seq + 1;
      const u = meta.usage;
      const info = this.db
        .prepare(
          `INSERT INTO messages (session_id, parent_id, seq, role, content, created_at, model, stop_reason,
             input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          sessionId,
          parent,
          seq,
          message.role,
          JSON.stringify(message.content),
          now(),
          meta.model ?? null,
          meta.stopReason ?? null,
          u?.inputTokens ?? null,
          u?.outputTokens ?? null,
          u?.cacheReadTokens ?? null,
          u?.cacheWriteTokens ?? null,
          meta.costUsd ?? null,
        );
      const id = Number(info.lastInsertRowid);
      this.db.prepare('UPDATE sessions SET head_message_id = ?, updated_at = ? WHERE id = ?').run(id, now(), sessionId);
      return id;
    });
    return this.message(tx.immediate());
  }

  message(id: number): StoredMessage {
    const row = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    if (!row) throw new SessionError(`no message ${id}`);
    return toMessage(row);
  }

  /** The session's history, oldest first (shared messages of a fork included). */
  history(sessionId: string): StoredMessage[] {
    const rows = this.db
      .prepare(
        `WITH RECURSIVE chain(id) AS (
           SELECT head_message_id FROM sessions WHERE id = ? AND head_message_id IS NOT NULL
           UNION ALL
           SELECT m.parent_id FROM messages m JOIN chain c ON m.id = c.id WHERE m.parent_id IS NOT NULL
         )
         SELECT m.* FROM messages m JOIN chain c ON m.id = c.id ORDER BY m.seq`,
      )
      .all(sessionId) as MessageRow[];
    return rows.map(toMessage);
  }

  addCompaction(rec: CompactionRecord): StoredCompaction {
    const info = this.db
      .prepare(
        `INSERT INTO compactions (session_id, at_message_id, created_at, trigger, tokens_before, tokens_after, pruned, summary, view)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(rec.sessionId, rec.atMessageId, now(), rec.trigger, rec.tokensBefore, rec.tokensAfter, rec.pruned, rec.summary, JSON.stringify(rec.view));
    return this.compactions(rec.sessionId).find((c) => c.id === Number(info.lastInsertRowid))!;
  }

  /** Compactions that apply to the session's history (a fork inherits those before its fork point), oldest first. */
  compactions(sessionId: string): StoredCompaction[] {
    const ids = new Set(this.history(sessionId).map((m) => m.id));
    if (!ids.size) return [];
    const rows = this.db.prepare('SELECT * FROM compactions ORDER BY id').all() as Array<Record<string, unknown>>;
    return rows
      .filter((r) => ids.has(r.at_message_id as number) && (r.session_id === sessionId || this.isAncestor(r.session_id as string, sessionId)))
      .map((r) => ({
        id: r.id as number,
        sessionId: r.session_id as string,
        atMessageId: r.at_message_id as number,
        createdAt: r.created_at as string,
        trigger: r.trigger as 'auto' | 'manual',
        tokensBefore: r.tokens_before as number | null,
        tokensAfter: r.tokens_after as number | null,
        pruned: r.pruned as number,
        summary: r.summary as string | null,
        view: JSON.parse(r.view as string) as Message[],
      }));
  }

  private isAncestor(candidate: string, sessionId: string): boolean {
    let cur = this.findSession(sessionId);
    for (let i = 0; cur?.parentSessionId && i < 1000; i++) {
      if (cur.parentSessionId === candidate) return true;
      cur = this.findSession(cur.parentSessionId);
    }
    return false;
  }

  /** What the model is sent: the latest compaction's view, then the messages after it (or the whole history). */
  contextMessages(sessionId: string): Message[] {
    const hist = this.history(sessionId);
    const c = this.compactions(sessionId).pop();
    if (!c) return toMessages(hist);
    const at = hist.findIndex((m) => m.id === c.atMessageId);
    return [...c.view, ...toMessages(hist.slice(at + 1))];
  }

  recordToolCall(rec: ToolCallRecord): StoredToolCall {
    // A call with an audit row references it; only a call without one keeps its own verdict.
    // (An in-memory audit log is gone when its process ends: nothing to reference.)
    const referenced = rec.auditId !== undefined && rec.auditId !== null && typeof rec.auditPath === 'string' && rec.auditPath !== '' && rec.auditPath !== ':memory:';
    const info = this.db
      .prepare(
        `INSERT INTO tool_calls (session_id, message_id, position, call_id, tool, canonical_tool, input, status, decision,
           rule, reason, output, error, exit_code, truncated, duration_ms, audit_id, created_at, audit_path)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        rec.sessionId,
        rec.messageId,
        rec.position,
        rec.callId,
        rec.tool,
        rec.canonicalTool ?? null,
        rec.input === undefined ? null : JSON.stringify(rec.input),
        rec.status,
        referenced ? null : (rec.decision ?? null),
        referenced ? null : (rec.rule ?? null),
        referenced ? null : (rec.reason ?? null),
        rec.output ?? null,
        rec.error ?? null,
        rec.exitCode ?? null,
        rec.truncated ? 1 : 0,
        rec.durationMs === undefined || rec.durationMs === null ? null : Math.round(rec.durationMs),
        rec.auditId ?? null,
        now(),
        referenced ? resolve(rec.auditPath!) : null,
      );
    return this.toolCall(Number(info.lastInsertRowid));
  }

  /** Point the tool calls of an assistant message at the user message that carried their results. */
  linkToolResults(assistantMessageId: number, resultMessageId: number): void {
    this.db.prepare('UPDATE tool_calls SET result_message_id = ? WHERE message_id = ? AND result_message_id IS NULL').run(resultMessageId, assistantMessageId);
  }

  toolCall(id: number): StoredToolCall {
    const row = this.db.prepare('SELECT * FROM tool_calls WHERE id = ?').get(id) as ToolCallRow | undefined;
    if (!row) throw new SessionError(`no tool call ${id}`);
    return resolveVerdicts([toToolCall(row)])[0]!;
  }

  /** Tool calls of the session's history (shared ones included), in conversation order. */
  toolCalls(sessionId: string): StoredToolCall[] {
    const ids = this.history(sessionId).map((m) => m.id);
    if (!ids.length) return [];
    const rows: ToolCallRow[] = [];
    const stmt = this.db.prepare('SELECT * FROM tool_calls WHERE message_id = ? ORDER BY position, id');
    for (const id of ids) rows.push(...(stmt.all(id) as ToolCallRow[]));
    return resolveVerdicts(rows.map(toToolCall));
  }

  /**
   * A new session that shares `id`'s history up to message `at` (1-based, as `sessions show`
   * numbers them) and continues on its own from there.
   */
  fork(idOrPrefix: string, at?: number): SessionInfo {
    const src = this.getSession(idOrPrefix);
    const hist = this.history(src.id);
    const n = at ?? hist.length;
    if (!Number.isInteger(n) || n < 0 || n > hist.length) {
      throw new SessionError(`--at must be between 0 and ${hist.length} (the number of messages of session ${src.id})`);
    }
    const fork = n === 0 ? null : hist[n - 1]!;
    const id = randomUUID();
    const t = now();
    this.db
      .prepare(
        `INSERT INTO sessions (id, created_at, updated_at, title, model, workspace, policy, policy_hash, system,
           parent_session_id, fork_message_id, head_message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, t, t, src.title, src.model, src.workspace, src.policy, src.policyHash, src.system, src.id, fork?.id ?? null, fork?.id ?? null);
    return this.getSession(id);
  }
}

/** Plain messages of a stored history (what a provider is sent). */
export function toMessages(history: StoredMessage[]): Message[] {
  return history.map((m) => ({ role: m.role, content: m.content }));
}
