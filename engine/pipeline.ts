/**
 * The one path every tool call takes:
 *
 *   validate (ajv) → policy decides → [ask → approver] → decision row COMMITTED → pre-tool hooks →
 *   execute (fs worker pool / shell jail) → post-tool hooks → outcome row committed → result
 *
 * Nothing runs before its decision row is committed, so a crash leaves a decision without an outcome,
 * never the reverse. Every failure on the way (unknown tool, bad input, unloadable policy, failed
 * approval) is a recorded deny.
 */
import { createHash, randomUUID } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadPolicy, type CompiledPolicy } from '../policies/index.js';
import { packageRoot } from '../policies/package-root.js';
import { canonicalToolName } from '../policies/tools.js';
import { strictest, type Decision } from '../policies/types.js';
import { HookRunner, type HookOutcome, type RunCommandHook, type TodoItem } from '../sandbox/hooks/index.js';
import { InputError } from './errors.js';
import { settleAsk, StaticApprover, type Approver } from './approval.js';
import { AuditLog, defaultAuditPath } from './audit/log.js';
import { FsExecutor } from './executors/fs.js';
import { sessionControls } from './executors/controls.js';
import { gateOptionsFor } from './executors/jail-options.js';
import { ShellExecutor } from './executors/shell.js';
import { TodoExecutor } from './executors/todo.js';
import type { ExecResult, Executor } from './executors/types.js';
import type { ToolCall, ToolCallResult, ToolRunner } from './pipeline-types.js';
import { ToolCatalog } from './tools/catalog.js';
import { fromClaudeInput } from './tools/claude-compat.js';

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
  catalog?: ToolCatalog;
  /** Executors by tool kind, for embedding and tests; defaults are the fs pool and the shell jail. */
  executors?: Partial<Record<'fs' | 'shell', Executor>>;
  /** How command hooks run (default: inside the session's shell jail). */
  runCommandHook?: RunCommandHook;
}

export interface Pipeline extends ToolRunner {
  readonly workspace: string;
  readonly policy: CompiledPolicy | null;
  readonly policyHash: string;
  readonly session: string;
  readonly audit: AuditLog;
  readonly tools: string[];
  readonly catalog: ToolCatalog;
  /** The policy's hooks, for the agent loop's own hook points (stop, user_prompt, …). */
  readonly hooks: HookRunner | null;
  /** The agent's todo list in a session (written with the todo_write tool). */
  todos(session?: string): TodoItem[];
  close(): Promise<void>;
}

/** Inputs nested deeper than this are refused before anything walks them recursively. */
const MAX_INPUT_DEPTH = 64;

/** Depth of a JSON-like value, computed without recursion (an input may be nested 100 000 deep). */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_INPUT_DEPTH) return max;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return max;
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
  const catalog = opts.catalog ?? new ToolCatalog();
  const settings = policy?.settings;
  // The session's own controls (policy, hooks, config, databases) inside the workspace: never writable.
  const controls = sessionControls(workspace, policy, typeof opts.audit === 'object' ? opts.audit.path : (opts.audit ?? defaultAuditPath()), policy ? policyDir(policy) : null);
  const fs = opts.executors?.fs ?? new FsExecutor(workspace, { allowHardlinks: settings?.allowHardlinks ?? false, protectedPaths: [...(settings?.protectedPaths ?? []), ...controls.inside.flatMap((p) => [p, `${p}/**`])] });
  const shellExec = opts.executors?.shell ?? new ShellExecutor(workspace, settings, gateOptionsFor(workspace, policy, controls));
  let hooks: HookRunner | null = null;
  if (policy && Object.values(policy.hooks).some((list) => list.length > 0)) {
    try {
      hooks = await HookRunner.create(policy.hooks, {
        baseDir: policyDir(policy),
        runCommandHook: opts.runCommandHook ?? (shellExec instanceof ShellExecutor ? shellExec.commandHookRunner() : undefined),
      });
    } catch (e) {
      // A hook that cannot load is a policy that cannot load: every call is denied, and recorded.
      policyError = `hooks: ${(e as Error).message}`;
      policy = null;
    }
  }
  return new ToolPipeline(workspace, policy, policyError, audit, ownsAudit, catalog, { fs, shell: shellExec }, opts.approver ?? new StaticApprover(opts.ask ?? 'deny'), opts.session ?? randomUUID(), hooks);
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

class ToolPipeline implements Pipeline {
  readonly policyHash: string;
  private closed = false;
  private readonly todoExecutor = new TodoExecutor();

  constructor(
    readonly workspace: string,
    readonly policy: CompiledPolicy | null,
    private readonly policyError: string | null,
    readonly audit: AuditLog,
    private readonly ownsAudit: boolean,
    readonly catalog: ToolCatalog,
    private readonly executors: Record<'fs' | 'shell', Executor>,
    private readonly approver: Approver,
    readonly session: string,
    readonly hooks: HookRunner | null,
  ) {
    this.policyHash = policy?.hash ?? NO_POLICY;
  }

  get tools(): string[] {
    return this.catalog.names();
  }

  todos(session: string = this.session): TodoItem[] {
    return this.todoExecutor.todos(session);
  }

  async call(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult> {
    const started = performance.now();
    let callId = call.callId ?? randomUUID();
    const session = call.session ?? this.session;
    const agent = call.agent ?? 'main';
    const tool = typeof call.tool === 'string' ? canonicalToolName(call.tool) : String(call.tool);
    const input = typeof call.tool === 'string' ? fromClaudeInput(call.tool, call.input) : call.input;
    const spec = this.catalog.get(tool);
    const jail = spec?.kind === 'shell' ? this.executors.shell.describe() : undefined;

    // 1. validate, 2. decide
    let decision: Decision;
    let rule: string | null = null;
    let reason: string;
    let approval: string | undefined;
    let effective: 'allow' | 'deny';
    const tooDeep = nestingDepth(input) > MAX_INPUT_DEPTH;
    if (this.closed) {
      decision = 'deny';
      reason = 'the pipeline is closed';
    } else if (tooDeep) {
      decision = 'deny';
      reason = `input nested more than ${MAX_INPUT_DEPTH} levels deep`;
    } else if (call.malformed !== undefined) {
      decision = 'deny';
      reason = `malformed request: ${call.malformed}`;
    } else if (!this.policy) {
      decision = 'deny';
      reason = `the policy failed to load, so every call is denied: ${this.policyError ?? 'unknown error'}`;
    } else if (!spec) {
      decision = 'deny';
      reason = `unknown tool "${tool}" (known: ${this.catalog.names().join(', ')})`;
    } else {
      const invalid = this.catalog.validate(tool, input);
      if (invalid !== null) {
        decision = 'deny';
        reason = `invalid input for ${tool}: ${invalid}`;
      } else {
        try {
          const v = this.policy.decide({ tool, input: input as Record<string, unknown>, agent, workspace: this.workspace });
          decision = v.decision;
          rule = v.rule;
          reason = v.reason;
        } catch (e) {
          // A policy that cannot decide a call denies it.
          decision = 'deny';
          reason = `the policy could not decide this call: ${(e as Error).message}`;
        }
      }
    }
    if (decision === 'ask') {
      const answer = await settleAsk(
        this.approver,
        { callId, session, agent, tool, input, rule, reason },
        this.policy?.settings.approvalTimeoutMs ?? 300_000,
        signal,
      );
      approval = answer.note;
      effective = answer.approved ? 'allow' : 'deny';
    } else effective = decision === 'allow' ? 'allow' : 'deny';

    // 3. the decision is committed before anything runs
    const record = {
      session,
      callId,
      agent,
      tool,
      input: tooDeep ? { $omitted: `nested more than ${MAX_INPUT_DEPTH} levels deep` } : input,
      decision,
      rule,
      reason,
      policyHash: this.policyHash,
      jail,
      approval,
      workspace: this.workspace,
    };
    let auditId: number;
    try {
      auditId = await this.audit.recordDecision(record);
    } catch (e) {
      if ((e as { code?: string }).code !== 'DUPLICATE') {
        // No committed decision, no execution.
        const message = `Refused: the decision could not be recorded in the audit log (${(e as Error).message})`;
        return { callId, tool, decision: 'deny', rule, reason: message, status: 'denied', error: message, output: message, durationMs: performance.now() - started };
      }
      // A call id the agent reused: recorded (and run) under a fresh one.
      callId = `${callId}~${randomUUID().slice(0, 8)}`;
      auditId = await this.audit.recordDecision({ ...record, callId });
    }

    const base = { callId, tool, decision, rule, reason, auditId };
    if (effective === 'deny') {
      const why = approval ?? reason;
      const message = `Denied by policy${rule ? ` (rule ${rule})` : ''}: ${why}`;
      this.recordOutcome({ session, callId, status: 'denied', bytes: 0, durationMs: performance.now() - started, outputHash: null, truncated: false, error: why });
      return { ...base, status: 'denied', error: message, output: message, durationMs: performance.now() - started };
    }

    // 4. pre-tool hooks: they may deny, ask or rewrite the input, never loosen the policy
    let runInput = input as Record<string, unknown>;
    const context: string[] = [];
    if (this.hooks?.has('pre_tool')) {
      const { result: pre, outcomes } = await this.hooks.run('pre_tool', { session, agent, cwd: this.workspace, tool, input: runInput, call_id: callId, decision, reason });
      await this.recordHooks(session, callId, 'pre', outcomes);
      context.push(...pre.context);
      let hookDecision: Decision = pre.decision;
      let hookReason = pre.reason;
      if (pre.input) {
        // A rewritten input is decided again, as if the agent had sent it; it is never trusted.
        const invalid = this.catalog.validate(tool, pre.input);
        const again = invalid !== null
          ? { decision: 'deny' as const, rule: null, reason: `a hook rewrote the input into an invalid one: ${invalid}` }
          : this.policy!.decide({ tool, input: pre.input, agent, workspace: this.workspace });
        await this.audit.recordHook({ session, callId, hook: 'policy', phase: 'pre', result: 'modify', reason: `rewritten input decided ${again.decision}${again.rule ? ` by ${again.rule}` : ''}: ${again.reason}`, data: { input: pre.input, decision: again.decision, rule: again.rule } });
        hookDecision = strictest(hookDecision, again.decision);
        if (again.decision !== 'allow') hookReason = hookReason ? `${hookReason}; ${again.reason}` : again.reason;
        runInput = pre.input;
      }
      if (hookDecision === 'ask') {
        const answer = await settleAsk(this.approver, { callId, session, agent, tool, input: runInput, rule: null, reason: hookReason }, this.policy?.settings.approvalTimeoutMs ?? 300_000, signal);
        await this.audit.recordHook({ session, callId, hook: 'approval', phase: 'pre', result: answer.approved ? 'continue' : 'block', reason: answer.note });
        if (!answer.approved) hookDecision = 'deny';
        hookReason = `${hookReason} (${answer.note})`;
      }
      if (hookDecision === 'deny') {
        const message = `Denied by a pre-tool hook: ${hookReason || 'no reason given'}`;
        this.recordOutcome({ session, callId, status: 'denied', bytes: 0, durationMs: performance.now() - started, outputHash: null, truncated: false, error: message });
        return { ...base, status: 'denied', error: message, output: message, durationMs: performance.now() - started, ...(context.length ? { context } : {}) };
      }
    }

    // 5. execute
    let result: ExecResult;
    try {
      const executor = spec!.kind === 'shell' ? this.executors.shell : spec!.kind === 'agent' ? this.todoExecutor : this.executors.fs;
      result = await executor.run(tool, runInput, { session, callId, signal });
    } catch (e) {
      result = { ok: false, output: '', error: `icode failed to run ${tool}: ${(e as Error).message}`, truncated: false, bytes: 0 };
    }
    let text = result.ok ? result.output : result.output ? `${result.output}\n${result.error ?? ''}` : (result.error ?? 'failed');
    await recordGate(this.audit, session, callId, result);

    // 6. post-tool hooks: they may redact or replace the output (before the model or the audit sees it)
    if (this.hooks?.has('post_tool')) {
      const { result: post, outcomes } = await this.hooks.run('post_tool', {
        session, agent, cwd: this.workspace, tool, input: runInput, call_id: callId, output: text, status: result.ok ? 'ok' : 'error', exit_code: result.exitCode ?? null, decision, duration_ms: performance.now() - started,
      });
      await this.recordHooks(session, callId, 'post', outcomes);
      if (post.output !== undefined) text = post.output;
      context.push(...post.context);
    }

    // 7. outcome
    const durationMs = performance.now() - started;
    this.recordOutcome({
      session,
      callId,
      status: result.ok ? 'ok' : 'error',
      exitCode: result.exitCode ?? null,
      bytes: result.bytes,
      durationMs,
      outputHash: createHash('sha256').update(text).digest('hex'),
      truncated: result.truncated,
      error: result.ok ? undefined : result.error,
    });
    return {
      ...base,
      status: result.ok ? 'ok' : 'error',
      output: text,
      error: result.ok ? undefined : result.error,
      exitCode: result.exitCode,
      truncated: result.truncated,
      durationMs,
      ...(context.length ? { context } : {}),
    };
  }

  /**
   * Outcome rows are queued, not awaited: a result may reach the agent before its outcome row is durable
   * (its decision row always is). Group commit then costs the caller one commit wait per call, not two.
   * A failed write is reported, never silent; close() flushes what is queued.
   */
  private recordOutcome(rec: Parameters<AuditLog['recordOutcome']>[0]): void {
    this.audit.recordOutcome(rec).catch((e: unknown) => {
      process.stderr.write(`icode: could not record the outcome of call ${rec.callId}: ${(e as Error).message}\n`);
    });
  }

  /** Every hook that ran (or failed, or was skipped) is recorded beside the call it touched. */
  private async recordHooks(session: string, callId: string, phase: 'pre' | 'post', outcomes: HookOutcome[]): Promise<void> {
    await Promise.all(
      outcomes.map((o) =>
        this.audit.recordHook({
          session,
          callId,
          hook: o.hook,
          phase,
          result: o.status === 'ok' ? hookVerb(o) : o.status === 'failed' ? `error→${o.applied ?? 'ignore'}` : 'skipped',
          reason: o.error ?? o.note,
          durationMs: o.durationMs,
          error: o.status === 'failed' ? o.error : undefined,
          data: { kind: o.kind, result: o.result, failure: o.failure, logs: o.logs },
        }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hooks?.dispose();
    await Promise.allSettled([this.executors.fs.close(), this.executors.shell.close()]);
    if (this.ownsAudit) this.audit.close();
    else this.audit.flush();
  }
}

function hookVerb(o: HookOutcome): string {
  const r = (o.result ?? {}) as { decision?: string; input?: unknown; output?: unknown; block?: boolean };
  if (r.decision === 'deny' || r.block) return 'block';
  if (r.decision === 'ask') return 'ask';
  if (r.input !== undefined || r.output !== undefined) return 'modify';
  return 'continue';
}

/** The change gate's verdicts beside the call: one row per refusal, and one for the applied change set (its hash). */
async function recordGate(audit: AuditLog, session: string, callId: string, r: ExecResult): Promise<void> {
  const rows: Promise<number>[] = (r.refusals ?? []).map((f) =>
    audit.recordHook({ session, callId, hook: 'change-gate', phase: 'post', result: 'refuse', reason: `${f.path}: ${f.reason}`, data: f }),
  );
  if (r.changes?.length) {
    const sha256 = createHash('sha256').update(JSON.stringify(r.changes)).digest('hex');
    rows.push(audit.recordHook({ session, callId, hook: 'change-gate', phase: 'post', result: 'applied', reason: `${r.changes.length} change(s) applied to the workspace`, data: { count: r.changes.length, sha256 } }));
  }
  await Promise.all(rows);
}
