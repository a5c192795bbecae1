/**
 * The one path every tool call takes, as seven named stages (engine/pipeline/):
 *
 *   validate (ajv) → decide (policy; ask → approver) → commit the decision row → pre-tool hooks →
 *   dispatch (the tool's executor: fs worker pool, shell jail, its own) → post-tool hooks → outcome
 *
 * Nothing runs before its decision row is committed, so a crash leaves a decision without an outcome,
 * never the reverse. Every failure on the way (unknown tool, bad input, unloadable policy, failed
 * approval) is a recorded deny.
 */
import { randomUUID } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadPolicy, type CompiledPolicy } from '../policies/index.js';
import { packageRoot } from '../policies/package-root.js';
import { HookRunner, type RunCommandHook, type TodoItem } from '../sandbox/hooks/index.js';
import { InputError } from './errors.js';
import { StaticApprover, type Approver } from './approval.js';
import { AuditLog, defaultAuditPath } from './audit/log.js';
import { fsGuardRules } from './executors/fs-guard.js';
import { FsExecutor } from './executors/fs.js';
import type { FsPool } from '../sandbox/fs/pool.js';
import { sessionControls } from './executors/controls.js';
import { gateOptionsFor } from './executors/jail-options.js';
import { ShellExecutor } from './executors/shell.js';
import type { Executor } from './executors/types.js';
import { commitDecision } from './pipeline/commit.js';
import { decide } from './pipeline/decide.js';
import { dispatch } from './pipeline/dispatch.js';
import { postHooks, preHooks } from './pipeline/hooks.js';
import { recordDenied, recordOutcome } from './pipeline/outcome.js';
import { StageClock, type StageDeps } from './pipeline/state.js';
import { openCall, validate } from './pipeline/validate.js';
import type { ToolCall, ToolCallResult, ToolRunner } from './pipeline-types.js';
import { TodoWriteExecutor } from './tools/builtin/todo-write.js';
import type { ToolDefinition } from './tools/definition.js';
import { ToolRegistry } from './tools/registry.js';
import type { Checkpointer } from './state/checkpointer.js';
import type { ExecResult } from './executors/types.js';
import type { CallState } from './pipeline/state.js';

export interface PipelineOptions {
  /** Workspace root; must be an existing directory. */
  workspace: string;
  /** Policy file or builtin:NAME, or an already compiled policy. */
  policy: string | CompiledPolicy;
  /** Audit db path (default: the XDG state directory) or an open log. */
  audit?: string | AuditLog;
  /** How `ask` is settled without an interactive approver (default deny). */
  ask?: 'deny' | 'allow';
  approver?: Approver;
  /** Session id for calls that carry none. */
  session?: string;
  /** The tools this pipeline runs (default: a registry of the built-in tools). Tools may be registered on it at any time. */
  registry?: ToolRegistry;
  /** @deprecated the old name of `registry`. */
  catalog?: ToolRegistry;
  /**
   * Executors by tool kind, for embedding and tests; defaults are the fs pool (`fs`) and the shell jail
   * (`shell`). A tool whose definition brings its own executor uses that one.
   */
  executors?: Partial<Record<string, Executor>>;
  /** How command hooks run (default: inside the session's shell jail). */
  runCommandHook?: RunCommandHook;
  /** Workspace checkpoints, taken before each call that may change the workspace (engine/state). */
  checkpoints?: Checkpointer;
  /** A hook that cannot load throws an InputError (exit 2: run/exec refuse to start) instead of denying every call. */
  hooksMustLoad?: boolean;
  /** An fs worker pool shared with other pipelines (the workload benchmark's sessions); not closed with this one. */
  fsPool?: FsPool;
}

export interface Pipeline extends ToolRunner {
  readonly workspace: string;
  readonly policy: CompiledPolicy | null;
  /** The session's control files inside the workspace (workspace-relative): never written by the session. */
  readonly controlPaths: readonly string[];
  readonly policyHash: string;
  readonly session: string;
  readonly audit: AuditLog;
  readonly tools: string[];
  readonly registry: ToolRegistry;
  /** @deprecated the old name of `registry`. */
  readonly catalog: ToolRegistry;
  /** The policy's hooks, for the agent loop's own hook points (stop, user_prompt, …). */
  readonly hooks: HookRunner | null;
  /** The agent's todo list in a session (written with the todo_write tool). */
  todos(session?: string): TodoItem[];
  /** Stages 1–4 only (validate, decide, commit, pre-tool hooks), for an agent that runs the tool itself (`icode guard`). */
  decideOnly(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult>;
  close(): Promise<void>;
}

/** Marker recorded as the policy hash when the policy could not be loaded. */
const NO_POLICY = 'none';

export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const workspace = checkedWorkspace(opts.workspace);
  let policy: CompiledPolicy | null = null;
  let policyError: string | null = null;
  if (typeof opts.policy === 'string') {
    try {
      policy = await loadPolicy(opts.policy);
    } catch (e) {
      // Fail closed: the pipeline still runs so that every call is denied *and recorded*.
      policyError = (e as Error).message;
    }
  } else policy = opts.policy;
  const audit = typeof opts.audit === 'object' ? opts.audit : AuditLog.open(opts.audit ?? defaultAuditPath());
  const ownsAudit = typeof opts.audit !== 'object';
  const registry = opts.registry ?? opts.catalog ?? new ToolRegistry();
  const settings = policy?.settings;
  // The session's own controls (policy, hooks, config, databases) inside the workspace: never writable.
  const controls = sessionControls(workspace, policy, typeof opts.audit === 'object' ? opts.audit.path : (opts.audit ?? defaultAuditPath()), policy ? policyDir(policy) : null);
  const fs = opts.executors?.fs ?? new FsExecutor(workspace, { allowHardlinks: settings?.allowHardlinks ?? false, protectedPaths: [...(settings?.protectedPaths ?? []), ...controls.inside.flatMap((p) => [p, `${p}/**`])], guard: policy ? fsGuardRules(policy) : [] }, opts.fsPool);
  const shellExec = opts.executors?.shell ?? new ShellExecutor(workspace, settings, gateOptionsFor(workspace, policy, controls));
  let hooks: HookRunner | null = null;
  if (policy && Object.values(policy.hooks).some((list) => list.length > 0)) {
    try {
      hooks = await HookRunner.create(policy.hooks, {
        baseDir: policyDir(policy),
        runCommandHook: afterHookCommand(opts.checkpoints, opts.runCommandHook ?? (shellExec instanceof ShellExecutor ? shellExec.commandHookRunner() : undefined)),
      });
    } catch (e) {
      if (opts.hooksMustLoad) {
        if (ownsAudit) audit.close();
        throw new InputError(`the policy's hooks cannot load: ${(e as Error).message}`);
      }
      // A hook that cannot load is a policy that cannot load: every call is denied, and recorded.
      policyError = `hooks: ${(e as Error).message}`;
      policy = null;
    }
  }
  const executors = new Map<string, Executor>(Object.entries({ ...opts.executors, fs, shell: shellExec }).filter((e): e is [string, Executor] => e[1] !== undefined));
  return new ToolPipeline({
    workspace,
    policy,
    policyError,
    audit,
    ownsAudit,
    registry,
    executors,
    approver: opts.approver ?? new StaticApprover(opts.ask ?? 'deny'),
    session: opts.session ?? randomUUID(),
    hooks,
    controlPaths: controls.inside,
    ...(opts.checkpoints ? { checkpoints: opts.checkpoints } : {}),
  });
}

/** Hook scripts are resolved against the folder of the policy that declares them. */
function policyDir(policy: CompiledPolicy): string {
  return policy.source.startsWith('builtin:') ? join(packageRoot(), 'policies', 'builtin') : dirname(resolve(policy.source));
}

function checkedWorkspace(dir: string): string {
  const abs = resolve(dir);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new InputError(`workspace ${abs} does not exist`);
  }
  if (!statSync(real).isDirectory()) throw new InputError(`workspace ${abs} is not a directory`);
  return real;
}

interface ToolPipelineParts {
  workspace: string;
  policy: CompiledPolicy | null;
  /** Why the policy could not be loaded (then every call is denied, and recorded). */
  policyError: string | null;
  audit: AuditLog;
  /** Close the audit log with the pipeline (it opened it). */
  ownsAudit: boolean;
  registry: ToolRegistry;
  /** The pipeline's executors by tool kind. */
  executors: ReadonlyMap<string, Executor>;
  approver: Approver;
  session: string;
  hooks: HookRunner | null;
  controlPaths: readonly string[];
  checkpoints?: Checkpointer;
}

class ToolPipeline implements Pipeline, StageDeps {
  readonly workspace: string;
  readonly policy: CompiledPolicy | null;
  readonly policyError: string | null;
  readonly policyHash: string;
  readonly audit: AuditLog;
  readonly registry: ToolRegistry;
  readonly approver: Approver;
  readonly session: string;
  readonly hooks: HookRunner | null;
  readonly controlPaths: readonly string[];
  closed = false;
  /** The audit log's path: what a result's auditId refers to (ToolRunner.auditPath). */
  get auditPath(): string {
    return this.audit.path;
  }
  private readonly ownsAudit: boolean;
  private readonly checkpoints: Checkpointer | undefined;
  private readonly executors: ReadonlyMap<string, Executor>;
  /** Executors that tool definitions brought (built on first use), by tool name. */
  private readonly ownExecutors = new Map<string, Executor>();

  constructor(parts: ToolPipelineParts) {
    this.workspace = parts.workspace;
    this.policy = parts.policy;
    this.policyError = parts.policyError;
    this.policyHash = parts.policy?.hash ?? NO_POLICY;
    this.audit = parts.audit;
    this.ownsAudit = parts.ownsAudit;
    this.registry = parts.registry;
    this.executors = parts.executors;
    this.approver = parts.approver;
    this.session = parts.session;
    this.hooks = parts.hooks;
    this.controlPaths = parts.controlPaths;
    this.checkpoints = parts.checkpoints;
  }

  get catalog(): ToolRegistry {
    return this.registry;
  }

  get tools(): string[] {
    return this.registry.names();
  }

  todos(session: string = this.session): TodoItem[] {
    const ex = this.ownExecutors.get('todo_write');
    return ex instanceof TodoWriteExecutor ? ex.todos(session) : [];
  }

  /** The executor that runs a tool: its own (built once), else the pipeline's for its kind; null: none. */
  executorFor(def: ToolDefinition): Executor | null {
    if (!def.executor) return this.executors.get(def.kind) ?? null;
    let ex = this.ownExecutors.get(def.name);
    if (!ex && !this.closed) {
      ex = def.executor({ workspace: this.workspace, settings: this.policy?.settings, policy: this.policy });
      this.ownExecutors.set(def.name, ex);
    }
    return ex ?? null;
  }

  /** The seven stages (engine/pipeline/), each timed into the result's `timings`. */
  async call(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult> {
    const started = performance.now();
    const c = openCall(this, call, this.session, started);
    const clock = new StageClock(c.timings, started);

    const invalid = validate(this, c, call.malformed);
    clock.lap('validate');
    await decide(this, c, invalid, signal);
    clock.lap('decide');
    const refused = await commitDecision(this, c);
    clock.lap('commit');
    if (refused) return refused;
    if (c.effective === 'deny') return recordDenied(this, c);

    const hookDenial = await preHooks(this, c, signal);
    clock.lap('preHooks');
    if (hookDenial !== null) return recordDenied(this, c, hookDenial);

    const result = (await checkpointBefore(this.checkpoints, c)) ?? (await dispatch(c, signal));
    // What the call changed (a gate's change set, a written path) spares the next checkpoint a scan.
    if (c.def) this.checkpoints?.afterCall?.({ session: c.session, callId: c.callId, tool: c.def.name, kind: c.def.kind, mutates: c.def.mutates, writes: c.def.writtenPath?.(c.runInput) }, result);
    // A file changed outside the jail: the jail's overlay must show it to the next command.
    if (result.ok && c.def?.mutates && c.def.kind !== 'shell') (this.executors.get('shell') as { workspaceChanged?: () => void } | undefined)?.workspaceChanged?.();
    clock.lap('execute');
    const text = await postHooks(this, c, result);
    clock.lap('postHooks');
    const answer = recordOutcome(this, c, result, text);
    clock.lap('outcome');
    return answer;
  }

  /**
   * The decision without the execution: validated, decided, committed, pre-tool hooks run; nothing is
   * dispatched (the guarded agent runs the tool, and its post-tool event records the outcome). A deny
   * records its outcome here, like call().
   */
  async decideOnly(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult> {
    const started = performance.now();
    const c = openCall(this, call, this.session, started);
    const invalid = validate(this, c, call.malformed);
    await decide(this, c, invalid, signal);
    const refused = await commitDecision(this, c);
    if (refused) return refused;
    if (c.effective === 'deny') return recordDenied(this, c);
    const hookDenial = await preHooks(this, c, signal);
    if (hookDenial !== null) return recordDenied(this, c, hookDenial);
    // The agent runs what it sent: a rewritten input cannot be applied there, so it is not allowed.
    if (c.runInput !== c.input) return recordDenied(this, c, 'Denied: a pre-tool hook rewrote the input, which the guarded agent cannot apply');
    // The agent runs it outside the pipeline: what it changes is unknown to the next checkpoint.
    if (c.def) this.checkpoints?.afterCall?.({ session: c.session, callId: c.callId, tool: c.def.name, kind: c.def.kind, mutates: c.def.mutates }, null);
    return { callId: c.callId, tool: c.tool, decision: c.decision, rule: c.rule, reason: c.reason, auditId: c.auditId, timings: c.timings, status: 'ok', output: '', durationMs: performance.now() - started, ...(c.context.length ? { context: c.context } : {}) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hooks?.dispose();
    await Promise.allSettled([...new Set([...this.executors.values(), ...this.ownExecutors.values()])].map((e) => e.close()));
    if (this.ownsAudit) this.audit.close();
    else this.audit.flush();
  }
}

/** A command hook may change the workspace outside any call: the next checkpoint must scan. */
function afterHookCommand(cp: Checkpointer | undefined, run: RunCommandHook | undefined): RunCommandHook | undefined {
  if (!cp?.changedOutsideCalls || !run) return run;
  return async (...args) => {
    try {
      return await run(...args);
    } finally {
      cp.changedOutsideCalls?.();
    }
  };
}

/** The checkpoint before a call runs; a checkpoint that cannot be taken fails the call (nothing runs that could not be undone). */
async function checkpointBefore(cp: Checkpointer | undefined, c: CallState): Promise<ExecResult | null> {
  if (!cp || !c.def) return null;
  try {
    await cp.beforeCall({ session: c.session, callId: c.callId, tool: c.tool, kind: c.def.kind, auditId: c.auditId ?? -1, mutates: c.def.mutates });
    return null;
  } catch (e) {
    return { ok: false, output: '', error: `icode could not checkpoint the workspace before ${c.tool}: ${(e as Error).message}`, code: 'internal', truncated: false, bytes: 0 };
  }
}

