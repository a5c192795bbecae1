/**
 * Checkpoints of an agent session: taken before every call that can change the workspace (the
 * pipeline calls `beforeCall` once the decision row is committed, right before the executor runs),
 * at the start of each run and at the end of each turn (the loop's `onTurnEnd`). Each one is linked
 * to the session, its newest message (for a call: the assistant message that asked for it), the
 * call id and the audit row id of the call's decision.
 *
 * Change sets: after a call the pipeline reports its result (`afterCall`). When every change since
 * the last checkpoint is known exactly — a jailed shell command's gate change set, the file a
 * `write`/`edit` wrote — the next checkpoint looks at those paths only. Anything else makes the
 * change set unknown and the next checkpoint scans the whole workspace: a call without a change set
 * (jail mode none, MCP, sub-agents, unknown tools), calls running at the same time, a call the
 * pipeline did not run (guarded agents), and the start of every turn (the user may have edited files
 * while the model was thinking).
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { SessionStore } from '../agent/sessions.js';
import { CheckpointStore, type Checkpoint, type StoreOptions } from './checkpoints.js';

export interface CallInfo {
  session: string;
  callId: string;
  /** The tool's canonical name (a registry definition's, not an alias). */
  tool: string;
  kind: string;
  /** The registry definition's flag: whether the tool may change the workspace (the one source of it). */
  mutates: boolean;
}

/** A call as afterCall sees it: plus the one file it wrote, when its tool's definition names it (writtenPath). */
export type RanCall = CallInfo & { writes?: string };

/** What a call's result says about the workspace (ExecResult's fields that matter here). */
export interface CallOutcome {
  ok: boolean;
  /** A jailed shell command's change set, as applied by the change gate. */
  changes?: ReadonlyArray<{ path: string }>;
}

/** What the pipeline sees: called before a call that may change the workspace runs, and after it ran. */
export interface Checkpointer {
  beforeCall(call: CallInfo & { auditId: number }): Promise<void>;
  /**
   * The call ran (`outcome`, and `writes` when its definition names the file it wrote), or ran outside
   * the pipeline (`null`: a guarded agent's own tool): what it changed, when known, spares the next
   * checkpoint a scan.
   */
  afterCall?(call: RanCall, outcome: CallOutcome | null): void;
  /** Something may have changed the workspace outside any call (a command hook ran). */
  changedOutsideCalls?(): void;
}

/** Where checkpoint stores live: beside the sessions database (`$XDG_STATE_HOME/icode/checkpoints`). */
export function checkpointBaseDir(sessionsDbPath: string): string {
  return join(dirname(sessionsDbPath), 'checkpoints');
}

/**
 * Workspace-relative paths a write to `p` may have changed: the path as given and as resolved through
 * symbolic links of its parents and of itself. Null: none of them inside the workspace.
 */
export function writtenPaths(workspace: string, p: string): string[] | null {
  const abs = resolve(workspace, p);
  const candidates = [abs];
  try {
    candidates.push(join(realpathSync(dirname(abs)), basename(abs)));
  } catch {
    // the parent does not exist: nothing was written below it
  }
  try {
    candidates.push(realpathSync(abs));
  } catch {
    // not there (any more)
  }
  const out = new Set<string>();
  for (const c of candidates) {
    const rel = relative(workspace, c);
    if (rel && rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel)) out.add(rel);
  }
  return out.size ? [...out] : null;
}

export class SessionCheckpointer implements Checkpointer {
  /** Paths changed since the last checkpoint, when known exactly; null: unknown (the next one scans). */
  private known: Set<string> | null = null;
  /** Calls between their beforeCall and afterCall. */
  private readonly inflight = new Set<string>();
  /**
   * A shell command ran without a change gate (jail mode none): its background processes may write
   * at any time, outside any call, so no change set is complete any more: every take scans.
   */
  private ungated = false;

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

  /** The change set to hand to the next take, and from now on: unknown until a call reports one. */
  private claim(): string[] | undefined {
    const paths = this.known !== null && this.inflight.size === 0 && !this.ungated ? [...this.known] : undefined;
    this.known = null;
    return paths;
  }

  /** After a take: nothing changed since it, unless a call was running meanwhile. */
  private settle(selfInflight: string | null): void {
    const others = [...this.inflight].filter((id) => id !== selfInflight);
    this.known = others.length === 0 ? new Set() : null;
  }

  async beforeCall(call: CallInfo & { auditId: number }): Promise<void> {
    if (!call.mutates) return;
    const paths = this.claim();
    this.inflight.add(call.callId);
    try {
      await this.store.take({ sessionId: call.session, kind: 'call', callId: call.callId, auditId: call.auditId, tool: call.tool, ...this.where(call.session), ...(paths ? { paths } : {}) });
    } catch (e) {
      this.inflight.delete(call.callId);
      this.known = null;
      throw e;
    }
    this.settle(call.callId);
  }

  afterCall(call: RanCall, outcome: CallOutcome | null): void {
    const ours = this.inflight.delete(call.callId);
    if (!ours) {
      // Not checkpointed before (read-only, or run outside the pipeline): only a known read-only call leaves the set as it is.
      if (outcome === null || call.mutates) this.known = null;
      return;
    }
    if (call.kind === 'shell' && outcome !== null && !outcome.changes) this.ungated = true;
    const changed = outcome === null ? null : changedPaths(this.store.workspace, call, outcome);
    if (this.known === null || changed === null) this.known = null;
    else for (const p of changed) this.known.add(p);
  }

  changedOutsideCalls(): void {
    this.known = null;
  }

  start(sessionId: string): Promise<Checkpoint> {
    this.known = null; // a new run: whatever happened since the last one is unknown
    return this.takeBetweenCalls(sessionId, 'start');
  }

  /** End of a turn: the turn's known changes suffice; the next turn starts unknown (user edits). */
  async turnEnd(sessionId: string): Promise<Checkpoint> {
    const cp = await this.takeBetweenCalls(sessionId, 'turn_end');
    this.known = null;
    return cp;
  }

  private async takeBetweenCalls(sessionId: string, kind: 'start' | 'turn_end'): Promise<Checkpoint> {
    const paths = this.claim();
    try {
      return await this.store.take({ sessionId, kind, ...this.where(sessionId), ...(paths ? { paths } : {}) });
    } finally {
      this.settle(null);
    }
  }

  close(): void {
    this.store.close();
  }
}

/** What a call changed, when its result says exactly; null: unknown. */
function changedPaths(workspace: string, call: RanCall, outcome: CallOutcome): string[] | null {
  if (call.kind === 'shell') return outcome.changes ? outcome.changes.map((c) => c.path) : null;
  // The path the tool's definition says the call wrote (write, edit: their `path` input).
  return call.writes !== undefined ? writtenPaths(workspace, call.writes) : null;
}
