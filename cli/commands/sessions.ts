/**
 * `icode sessions list|show|export|fork`: the stored agent sessions (see engine/agent/sessions.ts).
 * Resuming is `icode run --resume ID "next prompt"` (or `icode --resume ID …`).
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EXPORT_FORMATS, exportSession, messageJson, sessionJson, toolCallJson, type ExportFormat } from '../../engine/agent/export.js';
import { formatCost } from '../../engine/agent/output.js';
import { formatDuration } from '../../engine/agent/text-style.js';
import { SessionStore, defaultSessionsPath, type SessionInfo, type StoredMessage } from '../../engine/agent/sessions.js';
import { printJson, printTable, writeErr, writeOut } from '../output.js';
import { parseWholeNumber } from '../parse.js';
import { forkWithWorkspace, registerCheckpointCommands } from './checkpoints.js';
import { registerCompactCommand } from './compact.js';

interface DbOpts {
  sessionsDb?: string;
  json?: boolean;
}

function openStore(opts: DbOpts): SessionStore {
  return SessionStore.open(opts.sessionsDb || process.env.ICODE_SESSIONS_DB || defaultSessionsPath());
}

function withStore<T extends DbOpts>(fn: (store: SessionStore, opts: T, ...args: string[]) => void) {
  return (...args: unknown[]): void => {
    // commander passes the positional arguments, then the options, then the command.
    const opts = args[args.length - 2] as T;
    const positional = args.slice(0, -2) as string[];
    const store = openStore(opts);
    try {
      fn(store, opts, ...positional);
    } finally {
      store.close();
    }
  };
}

/** Sessions record the workspace's real path (symlinks resolved). */
function realWorkspace(dir: string): string {
  const abs = resolve(dir);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

function exportFormat(v: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${EXPORT_FORMATS.join(', ')}`);
  return v as ExportFormat;
}

// Plain decimal digits only, bounded: `1e99` is a usage error, not a SQLite datatype mismatch (exit 4).
function atArg(v: string): number {
  return parseWholeNumber(v, 0, Number.MAX_SAFE_INTEGER);
}

function limitArg(v: string): number {
  return parseWholeNumber(v, 1, 1_000_000_000);
}

const DB_OPTION = ['--sessions-db <db>', 'sessions database (default: $XDG_STATE_HOME/icode/sessions.db)'] as const;

function tokens(s: SessionInfo): string {
  return `${s.usage.inputTokens + s.usage.cacheReadTokens + s.usage.cacheWriteTokens}/${s.usage.outputTokens}`;
}

/** One line describing a message: its text, its calls, or its results. */
function summarize(m: Pick<StoredMessage, 'content'>): string {
  const parts: string[] = [];
  for (const b of m.content) {
    if (b.type === 'text') parts.push(b.text);
    else if (b.type === 'tool_use') parts.push(`→ ${b.name} ${b.inputError ? '(malformed arguments)' : JSON.stringify(b.input)}`);
    else parts.push(`${b.isError ? '✗' : '✓'} ${b.content}`);
  }
  return parts.join(' · ');
}

/** The sub-agent sessions under a session, depth first (each under the task call that started it). */
function subagentTree(store: SessionStore, id: string, depth = 0): Array<{ sessionId: string; parentSessionId: string; parentCallId: string; agent: string; depth: number; status: string }> {
  if (depth > 16) return [];
  return store.subagentSessions(id).flatMap((l) => [
    { ...l, depth: depth + 1, status: store.findSession(l.sessionId)?.status ?? '?' },
    ...subagentTree(store, l.sessionId, depth + 1),
  ]);
}

export function register(program: Command): void {
  const sessions = program.command('sessions').description('List, show, export, fork, checkpoint, diff, revert and compact stored agent sessions');

  sessions
    .command('list')
    .description("The current workspace's sessions, newest first (--all: every workspace's)")
    .option(...DB_OPTION)
    .option('--workspace <dir>', 'list the sessions of this workspace (default: the current directory)', '.')
    .option('--all', 'list the sessions of every workspace')
    .option('--limit <n>', 'at most this many', limitArg, 50)
    .option('--json', 'print as JSON')
    .action(
      withStore<DbOpts & { limit: number; workspace: string; all?: boolean }>((store, opts) => {
        const workspace = opts.all ? undefined : realWorkspace(opts.workspace);
        const list = store.listSessions({ limit: opts.limit, ...(workspace !== undefined ? { workspace } : {}) });
        if (opts.json) return printJson(list.map(sessionJson));
        if (!list.length) {
          writeOut(workspace !== undefined ? `no sessions for ${workspace} in ${store.path} (--all lists every workspace's)\n` : `no sessions in ${store.path}\n`);
          return;
        }
        printTable(
          ['id', 'updated', 'status', 'model', 'msgs', 'turns', 'tokens in/out', 'cost', 'title'],
          list.map((s) => [
            s.id,
            s.updatedAt.replace('T', ' ').slice(0, 19),
            s.status,
            s.model,
            s.messageCount,
            s.turns,
            tokens(s),
            formatCost(s.costUsd),
            (s.parentSessionId ? `[fork of ${s.parentSessionId.slice(0, 8)}] ` : '') + (s.title ?? ''),
          ]),
          48,
        );
      }),
    );

  sessions
    .command('show')
    .description("A session's details, messages (numbered for --at) and tool calls; a compacted session shows what the model sees unless --full")
    .argument('<id>', 'session id or unique prefix')
    .option('--full', 'every stored message, with the points where the context was compacted')
    .option(...DB_OPTION)
    .option('--json', 'print as JSON (always the full history, plus the compactions and the model\'s view)')
    .action(
      withStore<DbOpts & { full?: boolean }>((store, opts, id) => {
        const s = store.getSession(id!);
        const messages = store.history(s.id);
        const calls = store.toolCalls(s.id);
        const compactions = store.compactions(s.id);
        const link = store.subagentLink(s.id);
        const tree = subagentTree(store, s.id);
        if (opts.json) {
          return printJson({
            session: sessionJson(s),
            ...(link ? { subagent_of: { session_id: link.parentSessionId, call_id: link.parentCallId, agent: link.agent, depth: link.depth } } : {}),
            messages: messages.map(messageJson),
            tool_calls: calls.map(toolCallJson),
            compactions: compactions.map((c) => ({ id: c.id, at_message: messages.find((m) => m.id === c.atMessageId)?.seq ?? null, trigger: c.trigger, created_at: c.createdAt, tokens_before: c.tokensBefore, tokens_after: c.tokensAfter, pruned: c.pruned, summary: c.summary })),
            context: compactions.length ? store.contextMessages(s.id) : null,
            subagents: tree.map((n) => ({ session_id: n.sessionId, parent_session_id: n.parentSessionId, call_id: n.parentCallId, agent: n.agent, depth: n.depth, status: n.status })),
          });
        }
        const w = (t: string): void => void writeOut(t + '\n');
        w(`session   ${s.id}${s.title ? `  “${s.title}”` : ''}`);
        w(`status    ${s.status}${s.error ? ` — ${s.error}` : ''}`);
        w(`model     ${s.model ?? '?'}`);
        w(`workspace ${s.workspace ?? '?'}`);
        w(`policy    ${s.policy ?? '?'}${s.policyHash ? ` (${s.policyHash.slice(0, 12)})` : ''}`);
        w(`usage     ${s.turns} turns · ${tokens(s)} tokens · ${formatCost(s.costUsd)}`);
        if (s.parentSessionId) {
          const at = s.forkMessageId === null ? 0 : (messages.find((m) => m.id === s.forkMessageId)?.seq ?? '?');
          w(`forked    from ${s.parentSessionId} at message ${at}`);
        }
        const last = compactions[compactions.length - 1];
        if (last) w(`context   compacted ${compactions.length}× (last at message ${messages.find((m) => m.id === last.atMessageId)?.seq ?? '?'}); ${opts.full ? 'full history below' : "the model's view below; --full for every message"}`);
        if (link) w(`sub-agent ${link.agent} (depth ${link.depth}) of session ${link.parentSessionId}, task call ${link.parentCallId}`);
        if (tree.length) {
          w('sub-agents');
          for (const n of tree) w(`${'  '.repeat(n.depth)}└ ${n.agent} · call ${n.parentCallId} · session ${n.sessionId} · ${n.status}`);
        }
        w('');
        const rows: unknown[][] = [];
        if (last && !opts.full) {
          const at = messages.findIndex((m) => m.id === last.atMessageId);
          for (const m of last.view) rows.push(['·', m.role, summarize(m), '']);
          for (const m of messages.slice(at + 1)) rows.push([m.seq, m.role, summarize(m), m.usage ? `${m.usage.inputTokens}/${m.usage.outputTokens}` : '']);
        } else {
          for (const m of messages) {
            rows.push([m.seq, m.role, summarize(m), m.usage ? `${m.usage.inputTokens}/${m.usage.outputTokens}` : '']);
            for (const c of compactions.filter((x) => x.atMessageId === m.id)) {
              rows.push(['—', 'compacted', `${c.trigger}: ~${c.tokensBefore ?? '?'} → ~${c.tokensAfter ?? '?'} tokens, ${c.pruned} outputs pruned${c.summary ? ', older turns summarised' : ''}`, '']);
            }
          }
        }
        if (rows.length) printTable(['#', 'role', 'content', 'tokens in/out'], rows, 90);
        if (calls.length) {
          const seqOf = new Map(messages.map((m) => [m.id, m.seq]));
          printTable(
            ['msg', 'call id', 'tool', 'decision', 'rule', 'status', 'audit id', 'took'],
            calls.map((c) => [seqOf.get(c.messageId), c.callId, c.tool, c.verdictFrom === 'unavailable' ? '?' : c.decision, c.rule, c.status, c.auditId, formatDuration(c.durationMs)]),
            40,
          );
          // Decisions are read from the audit log the calls reference; say when it could not be read.
          const missing = [...new Set(calls.filter((c) => c.verdictFrom === 'unavailable').map((c) => c.reason))];
          for (const why of missing.slice(0, 3)) w(`note: ${why}`);
        }
      }),
    );

  sessions
    .command('export')
    .description('Export a session: json, jsonl or markdown')
    .argument('<id>', 'session id or unique prefix')
    .option(...DB_OPTION)
    .option('--format <format>', 'json, jsonl or markdown', exportFormat, 'json')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(
      withStore<DbOpts & { format: ExportFormat; output?: string }>((store, opts, id) => {
        const text = exportSession(store, id!, opts.format);
        if (opts.output) writeFileSync(opts.output, text);
        else process.stdout.write(text);
      }),
    );

  registerCheckpointCommands(sessions);
  registerCompactCommand(sessions);

  sessions
    .command('fork')
    .description('Start a new session that shares the history of ID up to message N (see `sessions show`)')
    .argument('<id>', 'session id or unique prefix')
    .requiredOption('--at <n>', 'last shared message number (0 = none)', atArg)
    .option('--with-workspace', "also restore the workspace files of that point (the session's own changes since)")
    .option('--audit <db>', 'audit database the restore is recorded in (with --with-workspace)')
    .option(...DB_OPTION)
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: DbOpts & { at: number; withWorkspace?: boolean; audit?: string }, cmd: Command) => {
      if (opts.withWorkspace) return forkWithWorkspace(id, opts.at, opts);
      return plainFork(id, opts, cmd);
    });
}

const plainFork = withStore<DbOpts & { at: number }>((store, opts, id) => {
  const fork = store.fork(id!, opts.at);
  if (opts.json) return printJson(sessionJson(fork));
  process.stdout.write(`${fork.id}\n`);
  process.stderr.write(`forked ${fork.parentSessionId} at message ${opts.at}; continue with: icode run --resume ${fork.id} "…"\n`);
});
