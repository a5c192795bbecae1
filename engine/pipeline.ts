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
import { resolve } from 'node:path';
import { loadPolicy, type CompiledPolicy } from '../policies/index.js';
import { canonicalToolName } from '../policies/tools.js';
import type { Decision } from '../policies/types.js';
import { InputError } from './errors.js';
import { settleAsk, StaticApprover, type Approver } from './approval.js';
import { AuditLog, defaultAuditPath } from './audit/log.js';
import { FsExecutor } from './executors/fs.js';
import { ShellExecutor } from './executors/shell.js';
import type { ExecResult, Executor } from './executors/types.js';
import type { ToolCall, ToolCallResult, ToolRunner } from './pipeline-types.js';
import { ToolCatalog } from './tools/catalog.js';

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
}

export interface Pipeline extends ToolRunner {
  readonly workspace: string;
  readonly policy: CompiledPolicy | null;
  readonly policyHash: string;
  readonly session: string;
  readonly audit: AuditLog;
  readonly tools: string[];
  readonly catalog: ToolCatalog;
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
  const catalog = opts.catalog ?? new ToolCatalog();
  const settings = policy?.settings;
  const fs = opts.executors?.fs ?? new FsExecutor(workspace, { allowHardlinks: settings?.allowHardlinks ?? false, protectedPaths: settings?.protectedPaths ?? [] });
  const shell = opts.executors?.shell ?? new ShellExecutor(workspace, settings);
  return new ToolPipeline(workspace, policy, policyError, audit, ownsAudit, catalog, { fs, shell }, opts.approver ?? new StaticApprover(opts.ask ?? 'deny'), opts.session ?? randomUUID());
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
  ) {
    this.policyHash = policy?.hash ?? NO_POLICY;
  }

  get tools(): string[] {
    return this.catalog.names();
  }

  async call(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult> {
    const started = performance.now();
    const callId = call.callId ?? randomUUID();
    const session = call.session ?? this.session;
    const agent = call.agent ?? 'main';
    const tool = typeof call.tool === 'string' ? canonicalToolName(call.tool) : String(call.tool);
    const input = call.input;
    const spec = this.catalog.get(tool);
    const jail = spec?.kind === 'shell' ? this.executors.shell.describe() : undefined;

    // 1. validate, 2. decide
    let decision: Decision;
    let rule: string | null = null;
    let reason: string;
    let approval: string | undefined;
    let effective: 'allow' | 'deny';
    if (this.closed) {
      decision = 'deny';
      reason = 'the pipeline is closed';
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
        const v = this.policy.decide({ tool, input: input as Record<string, unknown>, agent, workspace: this.workspace });
        decision = v.decision;
        rule = v.rule;
        reason = v.reason;
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
    const auditId = await this.audit.recordDecision({
      session,
      callId,
      agent,
      tool,
      input,
      decision,
      rule,
      reason,
      policyHash: this.policyHash,
      jail,
      approval,
      workspace: this.workspace,
    });

    const base = { callId, tool, decision, rule, reason, auditId };
    if (effective === 'deny') {
      const why = approval ?? reason;
      const message = `Denied by policy${rule ? ` (rule ${rule})` : ''}: ${why}`;
      await this.audit.recordOutcome({ session, callId, status: 'denied', bytes: 0, durationMs: performance.now() - started, outputHash: null, truncated: false, error: why });
      return { ...base, status: 'denied', error: message, output: message, durationMs: performance.now() - started };
    }

    // 4. pre-tool hooks: seam (the hooks engine plugs in here)
    // 5. execute
    let result: ExecResult;
    try {
      result = await this.executors[spec!.kind === 'shell' ? 'shell' : 'fs'].run(tool, input as Record<string, unknown>, { session, callId, signal });
    } catch (e) {
      result = { ok: false, output: '', error: `icode failed to run ${tool}: ${(e as Error).message}`, truncated: false, bytes: 0 };
    }
    // 6. post-tool hooks: seam
    // 7. outcome
    const durationMs = performance.now() - started;
    const text = result.ok ? result.output : result.output ? `${result.output}\n${result.error ?? ''}` : (result.error ?? 'failed');
    await this.audit.recordOutcome({
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
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.executors.fs.close(), this.executors.shell.close()]);
    if (this.ownsAudit) this.audit.close();
    else this.audit.flush();
  }
}
