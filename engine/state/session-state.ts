/**
 * Checkpoints seen from a session: which ones belong to its history (a fork inherits its parent's
 * up to the fork point), what changed between them, which paths the session's own calls touched,
 * and revert/fork-with-workspace (restore the files, then fork the conversation).
 */
import type { AuditLog } from '../audit/log.js';
import type { SessionInfo, SessionStore } from '../agent/sessions.js';
import { InputError } from '../errors.js';
import type { Checkpoint, CheckpointStore, FileChange } from './checkpoints.js';

export interface ListedCheckpoint extends Checkpoint {
  /** The message number (as `sessions show` numbers them) the checkpoint belongs to; 0 = none yet. */
  seq: number;
  /** What changed since the previous checkpoint of the list (empty for the first). */
  files: FileChange[];
}

/** The session and its ancestors, newest first. */
function lineage(sessions: SessionStore, s: SessionInfo): string[] {
  const ids = [s.id];
  let cur = s;
  while (cur.parentSessionId && ids.length < 1000) {
    const parent = sessions.findSession(cur.parentSessionId);
    if (!parent) break;
    ids.push(parent.id);
    cur = parent;
  }
  return ids;
}

/** Checkpoints of a session's history, oldest first, with the files changed since the previous one. */
export async function listCheckpoints(cs: CheckpointStore, sessions: SessionStore, session: SessionInfo): Promise<ListedCheckpoint[]> {
  const seqOf = new Map(sessions.history(session.id).map((m) => [m.id, m.seq]));
  const own = session.id;
  const list = cs.list(lineage(sessions, session)).filter((c) => c.sessionId === own || (c.messageId !== null && seqOf.has(c.messageId)));
  const out: ListedCheckpoint[] = [];
  let prev: string | null = null;
  for (const c of list) {
    const files = prev === null || prev === c.tree ? [] : await cs.changes(prev, c.tree);
    out.push({ ...c, seq: c.messageId === null ? 0 : (seqOf.get(c.messageId) ?? 0), files });
    prev = c.tree;
  }
  return out;
}

export function findCheckpoint(list: ListedCheckpoint[], id: string): ListedCheckpoint {
  const n = Number(id.replace(/^cp-?/i, ''));
  const cp = list.find((c) => c.id === n);
  if (!Number.isInteger(n) || !cp) throw new InputError(`no checkpoint "${id}" in this session (see: icode sessions checkpoints ID)`);
  return cp;
}

/**
 * The workspace state at message N: the first checkpoint taken while message N was the newest
 * (for an assistant message that asked for calls: before its first call), else the last one before.
 */
export function checkpointAtMessage(list: ListedCheckpoint[], n: number): ListedCheckpoint | null {
  // Undo points of earlier restores are not states the conversation went through.
  const states = list.filter((c) => c.kind !== 'restore');
  const exact = states.find((c) => c.seq === n);
  if (exact) return exact;
  const before = states.filter((c) => c.seq < n);
  return before[before.length - 1] ?? null;
}

/**
 * Paths the session's own calls changed after list[from]: the changes between each `call`
 * checkpoint and the next one (or `now` after the last). Changes after start/end-of-turn checkpoints
 * are the user's.
 */
export async function touchedBySession(cs: CheckpointStore, list: ListedCheckpoint[], from: number, now: string): Promise<Set<string>> {
  const touched = new Set<string>();
  for (let i = from; i < list.length; i++) {
    if (list[i]!.kind !== 'call') continue;
    const next = list[i + 1]?.tree ?? now;
    if (next === list[i]!.tree) continue;
    for (const f of await cs.changes(list[i]!.tree, next)) touched.add(f.path);
  }
  return touched;
}

export interface RevertResult {
  /** The new session (null with files only). */
  sessionId: string | null;
  checkpoint: number;
  restored: string[];
  /** Changed since the checkpoint by someone else than the session: left as they are. */
  kept: string[];
  notRestorable: string[];
  /** The checkpoint recording the state just before (to undo the revert). */
  undo: number | null;
}

export interface RevertOptions {
  files: boolean;
  conversation: boolean;
  audit?: AuditLog;
  /** Fork at this message number instead of the checkpoint's (fork --at N --with-workspace). */
  forkAt?: number;
}

/** Restore the workspace to `cp` (files the session touched since) and fork the conversation at its message. */
export async function revertTo(cs: CheckpointStore, sessions: SessionStore, session: SessionInfo, list: ListedCheckpoint[], cp: ListedCheckpoint, opts: RevertOptions): Promise<RevertResult> {
  let restored: string[] = [];
  let kept: string[] = [];
  let undo: number | null = null;
  if (opts.files) {
    const now = await cs.snapshot();
    const touched = await touchedBySession(cs, list, list.indexOf(cp), now);
    const event = { checkpoint: cp.id, tree: cp.tree, workspace: cs.workspace };
    // Audited like a call: the intent is committed before anything is written.
    if (opts.audit) await opts.audit.recordEvent('checkpoint.restore.begin', session.id, event);
    try {
      const r = await cs.restore(cp.tree, { sessionId: session.id, messageId: session.headMessageId, filter: (p) => touched.has(p) });
      restored = r.restored;
      kept = r.kept;
      undo = r.before.id;
    } catch (e) {
      if (opts.audit) await opts.audit.recordEvent('checkpoint.restore.failed', session.id, { ...event, error: (e as Error).message });
      throw e;
    }
    if (opts.audit) await opts.audit.recordEvent('checkpoint.restore.done', session.id, { ...event, restored, kept, undo });
  }
  let sessionId: string | null = null;
  if (opts.conversation) sessionId = sessions.fork(session.id, opts.forkAt ?? cp.seq).id;
  return { sessionId, checkpoint: cp.id, restored, kept, notRestorable: cp.notRestorable.map((n) => n.path), undo };
}
