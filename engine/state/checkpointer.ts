/**
 * Checkpoints of an agent session: taken before every call that can change the workspace (the
 * pipeline calls `beforeCall` once the decision row is committed, right before the executor runs),
 * at the start of each run and at the end of each turn (the loop's `onTurnEnd`). Each one is linked
 * to the session, its newest message (for a call: the assistant message that asked for it), the
 * call id and the audit row id of the call's decision.
 */
import { dirname, join } from 'node:path';
import type { SessionStore } from '../agent/sessions.js';
import { CheckpointStore, type Checkpoint, type StoreOptions } from './checkpoints.js';

/** What the pipeline sees: one hook, called before a call that may change the workspace runs. */
export interface Checkpointer {
  beforeCall(call: { session: string; callId: string; tool: string; kind: string; auditId: number; mutates?: boolean }): Promise<void>;
}

/** Tools known not to change the workspace; everything else (shell, MCP, sub-agents, unknown) may. */
const READ_ONLY = new Set(['read', 'glob', 'grep', 'list', 'todo_write']);

/**
 * Whether a call may change the workspace. A registry's `mutates` flag wins when given; otherwise
 * only the built-in read-only tools are exempt (fail safe: an unknown tool is checkpointed).
 */
export function mayMutate(tool: string, kind: string, mutates?: boolean): boolean {
  if (mutates !== undefined) return mutates;
  if (kind === 'shell' || kind === 'mcp') return true;
  return !READ_ONLY.has(tool);
}

/** Where checkpoint stores live: beside the sessions database (`$XDG_STATE_HOME/icode/checkpoints`). */
export function checkpointBaseDir(sessionsDbPath: string): string {
  return join(dirname(sessionsDbPath), 'checkpoints');
}

export class SessionCheckpointer implements Checkpointer {
  private constructor(
    readonly store: CheckpointStore,
    private readonly sessions: SessionStore,
  ) {}

  static async open(workspace: string, sessions: SessionStore, opts: StoreOptions): Promise<SessionCheckpointer> {
    return new SessionCheckpointer(await CheckpointStore.open(workspace, opts), sessions);
  }

  private where(sessionId: string): { turn: number | null; messageId: number | null } {
    const s = this.sessions.findSession(sessionId);
    return { turn: s?.turns ?? null, messageId: s?.headMessageId ?? null };
  }

  async beforeCall(call: { session: string; callId: string; tool: string; kind: string; auditId: number; mutates?: boolean }): Promise<void> {
    if (!mayMutate(call.tool, call.kind, call.mutates)) return;
    await this.store.take({ sessionId: call.session, kind: 'call', callId: call.callId, auditId: call.auditId, tool: call.tool, ...this.where(call.session) });
  }

  start(sessionId: string): Promise<Checkpoint> {
    return this.store.take({ sessionId, kind: 'start', ...this.where(sessionId) });
  }

  turnEnd(sessionId: string): Promise<Checkpoint> {
    return this.store.take({ sessionId, kind: 'turn_end', ...this.where(sessionId) });
  }

  close(): void {
    this.store.close();
  }
}
