/**
 * The TUI's link to the engine: one session, one pipeline (one jail) for as long as the TUI is open,
 * one `runAgent` per prompt. It uses only the engine's public modules — the same loop, pipeline and
 * event stream that `icode run --output-format stream-json` uses — so the TUI adds no path around the
 * pipeline: every call is decided, audited and confined exactly as in a headless run.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { chooseModel, loadConfigFile, parseModelSpec, type Env, type ModelSpec } from '../engine/agent/config.js';
import { loadProjectInstructions } from '../engine/agent/instructions.js';
import { runAgent, DEFAULT_MAX_TURNS, type AgentEvent, type RunResult } from '../engine/agent/loop.js';
import { createProvider } from '../engine/agent/providers/index.js';
import type { Provider } from '../engine/agent/providers/types.js';
import { createPipelineRunner, type AgentRunner } from '../engine/agent/runner-factory.js';
import { SessionStore, defaultSessionsPath, type SessionInfo, type StoredMessage } from '../engine/agent/sessions.js';
import { addUsage, ZERO_USAGE, type Usage } from '../engine/agent/types.js';
import { AuditLog, defaultAuditPath, type AuditRow } from '../engine/audit/log.js';
import type { Approver } from '../engine/approval.js';
import { Compactor, contextWindowFor, type CompactionEvent } from '../engine/agent/compaction.js';
import { SessionCheckpointer, checkpointBaseDir } from '../engine/state/checkpointer.js';
import { listCheckpoints, revertTo, type RevertResult } from '../engine/state/session-state.js';

export const DEFAULT_TUI_POLICY = 'builtin:workspace-write';

export interface ControllerOptions {
  cwd: string;
  env: Env;
  model?: string;
  provider?: string;
  baseUrl?: string;
  policy?: string;
  workspace?: string;
  resume?: string;
  audit?: string;
  sessionsDb?: string;
  system?: string;
  maxTurns?: number;
}

export class AgentController {
  private runner: AgentRunner | null = null;
  private provider: Provider;
  private spec: ModelSpec;
  private running: AbortController | null = null;
  private readonly store: SessionStore;
  private readonly auditPath: string;
  private auditReader: AuditLog | null = null;
  /** Workspace checkpoints (null when turned off): what /undo restores. */
  private checkpointer: SessionCheckpointer | null = null;
  private readonly sessionsPath: string;
  private started = new Set<string>();
  session: SessionInfo;
  policy: string;
  workspace: string;
  /** Usage and cost of the prompts sent in this TUI (the stored session has the whole history's). */
  usage: Usage = { ...ZERO_USAGE };
  costUsd: number | null = 0;
  lastInputTokens = 0;

  private constructor(
    private readonly opts: ControllerOptions,
    private readonly approver: Approver,
    store: SessionStore,
    session: SessionInfo,
    spec: ModelSpec,
    provider: Provider,
  ) {
    this.store = store;
    this.session = session;
    this.spec = spec;
    this.provider = provider;
    this.policy = opts.policy || opts.env.ICODE_POLICY || session.policy || DEFAULT_TUI_POLICY;
    this.workspace = session.workspace ?? resolve(opts.cwd, opts.workspace ?? '.');
    this.auditPath = opts.audit || defaultAuditPath(opts.env as NodeJS.ProcessEnv);
    this.sessionsPath = resolve(opts.sessionsDb || opts.env.ICODE_SESSIONS_DB || defaultSessionsPath(opts.env as NodeJS.ProcessEnv));
  }

  static async open(opts: ControllerOptions, approver: Approver): Promise<AgentController> {
    const store = SessionStore.open(opts.sessionsDb || opts.env.ICODE_SESSIONS_DB || defaultSessionsPath(opts.env as NodeJS.ProcessEnv));
    try {
      const resumed = opts.resume ? store.getSession(opts.resume) : null;
      const spec = AgentController.specFor(opts, resumed?.model ?? undefined);
      const provider = AgentController.providerFor(spec, opts);
      const workspace = resolve(opts.cwd, opts.workspace ?? resumed?.workspace ?? '.');
      const policy = opts.policy || opts.env.ICODE_POLICY || resumed?.policy || DEFAULT_TUI_POLICY;
      const session =
        resumed ?? store.createSession({ id: randomUUID(), title: null, model: specString(spec), workspace, policy, system: opts.system ?? null });
      const c = new AgentController(opts, approver, store, session, spec, provider);
      await c.openCheckpoints();
      await c.openRunner();
      return c;
    } catch (e) {
      store.close();
      throw e;
    }
  }

  private static specFor(opts: ControllerOptions, stored?: string): ModelSpec {
    const config = loadConfigFile(opts.env);
    const parsed = parseModelSpec(
      opts.provider?.startsWith('script:') ? undefined : opts.model || stored || chooseModel(undefined, opts.env, config),
      opts.provider,
    );
    return parsed.kind === 'script' ? { kind: 'script', file: resolve(opts.cwd, parsed.file) } : parsed;
  }

  private static providerFor(spec: ModelSpec, opts: ControllerOptions): Provider {
    const config = loadConfigFile(opts.env);
    return createProvider(spec, { env: opts.env, config, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
  }

  /** Checkpoints as `icode run` takes them (off with ICODE_CHECKPOINTS=0, config, or a store inside the workspace). */
  private async openCheckpoints(): Promise<void> {
    const config = loadConfigFile(this.opts.env);
    if (this.opts.env.ICODE_CHECKPOINTS === '0' || config.checkpoints?.enabled === false) return;
    const baseDir = checkpointBaseDir(this.sessionsPath);
    const ws = resolve(this.workspace);
    if (baseDir === ws || baseDir.startsWith(ws + '/')) return;
    this.checkpointer = await SessionCheckpointer.open(this.workspace, this.store, {
      baseDir,
      ...(config.checkpoints?.include_ignored !== undefined ? { includeIgnored: config.checkpoints.include_ignored } : {}),
      ...(config.checkpoints?.max_file_bytes !== undefined ? { maxFileBytes: config.checkpoints.max_file_bytes } : {}),
    });
  }

  private async openRunner(): Promise<void> {
    const runner = await createPipelineRunner({
      workspace: this.workspace,
      policy: this.policy,
      session: this.session.id,
      approver: this.approver,
      ...(this.checkpointer ? { checkpoints: this.checkpointer } : {}),
      ...(this.opts.audit ? { audit: this.opts.audit } : {}),
    });
    await this.runner?.close().catch(() => undefined);
    this.runner = runner;
    this.workspace = runner.workspace;
    this.store.updateSession(this.session.id, { policyHash: runner.policyHash, workspace: runner.workspace, policy: this.policy, model: specString(this.spec) });
    this.session = this.store.getSession(this.session.id);
  }

  get model(): string {
    return this.spec.kind === 'script' ? `script/${this.provider.model}` : specString(this.spec);
  }

  get busy(): boolean {
    return this.running !== null;
  }

  get tools(): string[] {
    return this.runner?.tools.map((t) => t.name) ?? [];
  }

  history(): StoredMessage[] {
    return this.store.history(this.session.id);
  }

  /** One prompt: the model runs until it ends its turn; events stream to `onEvent`. */
  async send(prompt: string, onEvent: (e: AgentEvent) => void): Promise<RunResult> {
    if (this.running) throw new Error('a turn is already running (Esc interrupts it)');
    if (!this.runner) throw new Error('the session is closed');
    const ctl = new AbortController();
    this.running = ctl;
    if (!this.session.title) this.store.updateSession(this.session.id, { title: prompt.split('\n')[0]!.slice(0, 120) });
    try {
      const startContext = this.session.messageCount === 0 ? ((await this.runner.onSessionStart?.(this.session.id, 'startup')) ?? '') : '';
      // AGENTS.md / CLAUDE.md are read for every run (never stored with the session: no duplicates on resume).
      const instructions = loadProjectInstructions(this.runner.workspace).text;
      const system = [this.opts.system ?? this.session.system ?? '', instructions, startContext].filter(Boolean).join('\n\n');
      // Sub-agents (the task tool) run on this model; their tool events arrive with `agent`/`depth`.
      this.runner.subagents?.attach({ provider: this.provider, sessions: this.store, onEvent, sessionId: this.session.id });
      const result = await runAgent(prompt, {
        provider: this.provider,
        runner: this.runner.runner,
        tools: this.runner.tools,
        // An MCP server's tool-list change reaches the model on its next request.
        toolsNow: () => this.runner?.tools ?? [],
        sessions: this.store,
        sessionId: this.session.id,
        maxTurns: this.opts.maxTurns ?? DEFAULT_MAX_TURNS,
        ...(system ? { system } : {}),
        ...(this.runner.hooks ?? {}),
        ...(this.runner.subagents?.loopOptions() ?? {}),
        signal: ctl.signal,
        onEvent: (e) => {
          if (e.type === 'assistant_message') this.lastInputTokens = e.usage.inputTokens + e.usage.cacheReadTokens + e.usage.cacheWriteTokens;
          onEvent(e);
        },
      });
      this.usage = addUsage(this.usage, result.usage);
      this.costUsd = this.costUsd === null || result.totalCostUsd === null ? null : this.costUsd + result.totalCostUsd;
      return result;
    } finally {
      this.running = null;
      this.session = this.store.getSession(this.session.id);
    }
  }

  private compactor(onCompact?: (e: CompactionEvent) => void): Compactor | null {
    const config = loadConfigFile(this.opts.env);
    const window = contextWindowFor(this.provider.id, this.provider.model, config.context_windows);
    if (window === null && !onCompact) return null;
    return new Compactor({
      provider: this.provider,
      window: window ?? Number.MAX_SAFE_INTEGER,
      ...(config.compact_threshold !== undefined ? { threshold: config.compact_threshold } : {}),
      sessions: this.store,
      ...(this.runner?.onPreCompact ? { onPreCompact: this.runner.onPreCompact } : {}),
      ...(onCompact ? { onCompact } : {}),
    });
  }

  /** /compact: prune old tool outputs, then the model summarises older turns (history is kept). */
  async compact(): Promise<CompactionEvent | null> {
    if (this.running) throw new Error('wait for the turn to end before compacting');
    let event: CompactionEvent | null = null;
    const c = this.compactor((e) => void (event = e))!;
    await c.compact(this.store.contextMessages(this.session.id), { sessionId: this.session.id, ...(this.session.system ? { system: this.session.system } : {}), tools: this.runner?.tools ?? [] }, 'manual');
    return event;
  }

  /**
   * /undo: the workspace and the conversation go back to the checkpoint taken before the session's last
   * change (files the user changed meanwhile are kept); the TUI continues in the forked session.
   */
  async undo(): Promise<RevertResult> {
    if (this.running) throw new Error('wait for the turn to end (or press Esc) before undoing');
    if (!this.checkpointer) throw new Error('checkpoints are off in this session, so there is nothing to undo');
    const list = await listCheckpoints(this.checkpointer.store, this.store, this.session);
    const cp = [...list].reverse().find((c) => c.kind === 'call') ?? list.find((c) => c.kind === 'start');
    if (!cp) throw new Error('no checkpoint yet: nothing has changed the workspace');
    const audit = AuditLog.open(this.auditPath);
    let result: RevertResult;
    try {
      result = await revertTo(this.checkpointer.store, this.store, this.session, list, cp, { files: true, conversation: true, audit });
    } finally {
      audit.close();
    }
    if (result.sessionId) await this.openSession(result.sessionId);
    return result;
  }

  /** Esc: cancel the running turn; the loop stops its model stream and its tool calls. */
  interrupt(): boolean {
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  async switchModel(model: string): Promise<void> {
    const spec = AgentController.specFor({ ...this.opts, model, provider: undefined }, undefined);
    this.provider = AgentController.providerFor(spec, this.opts);
    this.spec = spec;
    this.store.updateSession(this.session.id, { model: specString(spec) });
  }

  async switchPolicy(policy: string): Promise<void> {
    const previous = this.policy;
    this.policy = policy;
    try {
      await this.openRunner();
    } catch (e) {
      this.policy = previous;
      throw e;
    }
  }

  /** A new session sharing this one's history up to message `at` (default: all); the TUI moves to it. */
  fork(at?: number): SessionInfo {
    const forked = this.store.fork(this.session.id, at);
    this.session = forked;
    return forked;
  }

  /** Start over in a new, empty session (same model, policy and workspace). */
  async clear(): Promise<void> {
    this.session = this.store.createSession({ id: randomUUID(), title: null, model: specString(this.spec), workspace: this.workspace, policy: this.policy, system: this.opts.system ?? null });
    await this.openRunner();
  }

  async openSession(idOrPrefix: string): Promise<void> {
    const s = this.store.getSession(idOrPrefix);
    this.session = s;
    if (s.policy) this.policy = s.policy;
    await this.openRunner();
  }

  sessions(limit = 20): SessionInfo[] {
    return this.store.listSessions({ limit });
  }

  /** The newest audit rows of this session, and whether the whole chain verifies. */
  auditTail(limit = 12): { rows: AuditRow[]; chain: string } {
    try {
      this.auditReader ??= AuditLog.open(this.auditPath, { readonly: true });
      const rows = this.auditReader.list({ session: this.session.id, order: 'desc', limit }).reverse();
      const v = this.auditReader.verify();
      return { rows, chain: v.ok ? `chain ok (${v.rows} rows)` : `CHAIN BROKEN at row ${v.firstBad?.seq ?? '?'}` };
    } catch (e) {
      return { rows: [], chain: `audit unavailable: ${(e as Error).message}` };
    }
  }

  async close(): Promise<void> {
    this.running?.abort();
    await this.runner?.close().catch(() => undefined);
    this.runner = null;
    this.auditReader?.close();
    this.checkpointer?.close();
    this.store.close();
  }
}

function specString(spec: ModelSpec): string {
  return spec.kind === 'script' ? `script:${spec.file}` : `${spec.provider}/${spec.model}`;
}
