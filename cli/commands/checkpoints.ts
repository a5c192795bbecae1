/**
 * `icode sessions checkpoints|diff|revert` and `fork --with-workspace`: the workspace checkpoints of
 * a session (engine/state). Registered by cli/commands/sessions.ts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../../engine/agent/config.js';
import { SessionStore, defaultSessionsPath, type SessionInfo } from '../../engine/agent/sessions.js';
import { AuditLog, defaultAuditPath } from '../../engine/audit/log.js';
import { InputError } from '../../engine/errors.js';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { checkpointBaseDir } from '../../engine/state/checkpointer.js';
import { checkpointAtMessage, findCheckpoint, listCheckpoints, revertTo, type ListedCheckpoint, type RevertResult } from '../../engine/state/session-state.js';
import { printJson, printTable } from '../output.js';

interface StateOpts {
  sessionsDb?: string;
  audit?: string;
  json?: boolean;
}

const DB_OPTION = ['--sessions-db <db>', 'sessions database (default: $XDG_STATE_HOME/icode/sessions.db)'] as const;
const AUDIT_OPTION = ['--audit <db>', 'audit database the restore is recorded in (default: $XDG_STATE_HOME/icode/audit.db)'] as const;

function sessionsPath(opts: StateOpts): string {
  return resolve(opts.sessionsDb || process.env.ICODE_SESSIONS_DB || defaultSessionsPath());
}

/** The session and its workspace's checkpoint store, opened (and any interrupted restore recovered). */
async function withState<T>(id: string, opts: StateOpts, fn: (sessions: SessionStore, s: SessionInfo, cs: CheckpointStore) => Promise<T>): Promise<T> {
  const path = sessionsPath(opts);
  const sessions = SessionStore.open(path);
  try {
    const s = sessions.getSession(id);
    if (!s.workspace) throw new InputError(`session ${s.id} has no workspace recorded`);
    const config = loadConfigFile();
    const cs = await CheckpointStore.open(s.workspace, {
      baseDir: checkpointBaseDir(path),
      ...(config.checkpoints?.include_ignored !== undefined ? { includeIgnored: config.checkpoints.include_ignored } : {}),
      ...(config.checkpoints?.max_file_bytes !== undefined ? { maxFileBytes: config.checkpoints.max_file_bytes } : {}),
    });
    try {
      return await fn(sessions, s, cs);
    } finally {
      cs.close();
    }
  } finally {
    sessions.close();
  }
}

export function checkpointJson(c: ListedCheckpoint): Record<string, unknown> {
  return {
    id: c.id,
    session_id: c.sessionId,
    kind: c.kind,
    turn: c.turn,
    message: c.seq,
    message_id: c.messageId,
    call_id: c.callId,
    audit_id: c.auditId,
    tool: c.tool,
    tree: c.tree,
    created_at: c.createdAt,
    files: c.files.map((f) => ({ status: f.status, path: f.path })),
    not_restorable: c.notRestorable,
  };
}

function revertJson(r: RevertResult): Record<string, unknown> {
  return { session_id: r.sessionId, checkpoint: r.checkpoint, restored: r.restored, kept: r.kept, not_restorable: r.notRestorable, undo_checkpoint: r.undo };
}

async function withAudit<T>(opts: StateOpts, fn: (audit: AuditLog) => Promise<T>): Promise<T> {
  const audit = AuditLog.open(opts.audit || process.env.ICODE_AUDIT_DB || defaultAuditPath());
  try {
    return await fn(audit);
  } finally {
    audit.close();
  }
}

function reportRevert(r: RevertResult, json: boolean | undefined): void {
  if (json) return printJson(revertJson(r));
  if (r.sessionId) process.stdout.write(`${r.sessionId}\n`);
  const err = (t: string): void => void process.stderr.write(t + '\n');
  err(`restored ${r.restored.length} file(s) to checkpoint ${r.checkpoint}${r.undo !== null ? ` (undo: revert to checkpoint ${r.undo})` : ''}`);
  if (r.kept.length) err(`kept (changed outside the session since): ${r.kept.join(', ')}`);
  if (r.notRestorable.length) err(`not restorable (too large or not files): ${r.notRestorable.join(', ')}`);
  if (r.sessionId) err(`continue with: icode run --resume ${r.sessionId} "…"`);
}

/** `sessions fork ID --at N --with-workspace`. */
export async function forkWithWorkspace(id: string, at: number, opts: StateOpts): Promise<void> {
  const r = await withState(id, opts, async (sessions, s, cs) => {
    const list = await listCheckpoints(cs, sessions, s);
    const cp = checkpointAtMessage(list, at);
    if (!cp) throw new InputError(`session ${s.id} has no checkpoint at or before message ${at}`);
    return withAudit(opts, (audit) => revertTo(cs, sessions, s, list, cp, { files: true, conversation: true, audit, forkAt: at }));
  });
  reportRevert(r, opts.json);
}

export function registerCheckpointCommands(sessions: Command): void {
  sessions
    .command('checkpoints')
    .description("A session's workspace checkpoints, oldest first, with the files changed since the previous one")
    .argument('<id>', 'session id or unique prefix')
    .option(...DB_OPTION)
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: StateOpts) => {
      const list = await withState(id, opts, (sessions, s, cs) => listCheckpoints(cs, sessions, s));
      if (opts.json) return printJson(list.map(checkpointJson));
      if (!list.length) return void process.stdout.write('no checkpoints\n');
      printTable(
        ['id', 'kind', 'turn', 'msg', 'tool', 'call id', 'audit id', 'files changed since previous'],
        list.map((c) => [c.id, c.kind, c.turn, c.seq, c.tool, c.callId, c.auditId, c.files.map((f) => `${f.status} ${f.path}`).join(', ')]),
        60,
      );
    });

  sessions
    .command('diff')
    .description('Unified diff of the workspace between two checkpoints (default: the session start → now)')
    .argument('<id>', 'session id or unique prefix')
    .option('--from <cp>', 'checkpoint id (default: the first)')
    .option('--to <cp>', 'checkpoint id (default: the workspace now)')
    .option(...DB_OPTION)
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: StateOpts & { from?: string; to?: string }) => {
      const r = await withState(id, opts, async (sessions, s, cs) => {
        const list = await listCheckpoints(cs, sessions, s);
        const from = opts.from ? findCheckpoint(list, opts.from) : list[0];
        if (!from) throw new InputError(`session ${s.id} has no checkpoints`);
        const toTree = opts.to ? findCheckpoint(list, opts.to).tree : await cs.snapshot();
        return { from: from.id, to: opts.to ? findCheckpoint(list, opts.to).id : null, files: await cs.changes(from.tree, toTree), diff: await cs.diff(from.tree, toTree) };
      });
      if (opts.json) return printJson(r);
      process.stdout.write(r.diff);
    });

  sessions
    .command('revert')
    .description('Restore the workspace to checkpoint CP and fork the conversation at its message; prints the new session id')
    .argument('<id>', 'session id or unique prefix')
    .requiredOption('--to <cp>', 'checkpoint id (see: icode sessions checkpoints ID)')
    .option('--files-only', 'restore the workspace, keep the conversation as it is')
    .option('--conversation-only', 'fork the conversation, leave the workspace as it is')
    .option(...DB_OPTION)
    .option(...AUDIT_OPTION)
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: StateOpts & { to: string; filesOnly?: boolean; conversationOnly?: boolean }) => {
      if (opts.filesOnly && opts.conversationOnly) throw new InputError('--files-only and --conversation-only exclude each other');
      const r = await withState(id, opts, async (sessions, s, cs) => {
        const list = await listCheckpoints(cs, sessions, s);
        const cp = findCheckpoint(list, opts.to);
        const run = (audit?: AuditLog): Promise<RevertResult> =>
          revertTo(cs, sessions, s, list, cp, { files: !opts.conversationOnly, conversation: !opts.filesOnly, ...(audit ? { audit } : {}) });
        return opts.conversationOnly ? run() : withAudit(opts, run);
      });
      reportRevert(r, opts.json);
    });
}
