/**
 * `icode guard`: one hook event of another agent (Claude Code, Gemini CLI) through icode's policy and
 * audit log. PreToolUse/BeforeTool: validated, decided, committed to the audit log and passed through
 * the policy's pre-tool hooks BEFORE the answer is written; the agent runs the tool itself. PostToolUse/
 * AfterTool: the outcome is recorded against the decision row (the same session and call id). Other
 * events are recorded as session events. Every failure on a pre-tool event is a deny with its reason.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
// The policy engine and the pipeline are loaded by the pre-tool path that needs them (dynamic imports
// below): a PostToolUse or a session event only opens the audit log.
import type { CompiledPolicy } from '../../policies/compiler/compiled.js';
import { AuditLog, defaultAuditPath, type AuditRow } from '../audit/log.js';
import type { Approver } from '../approval.js';
import type { Executor } from '../executors/types.js';
import type { AuditPool } from './audit-pool.js';
import type { PolicyCache } from './policy-cache.js';
import { otelEnabled } from '../telemetry/otel.js';
import { continueAnswer, preToolAnswer, type GuardAnswer } from './answer.js';
import { parseEvent, type GuardAgent, type GuardEvent } from './events.js';

export interface GuardOptions {
  /** Policy file or builtin:NAME (default: $ICODE_POLICY, <cwd>/.icode/policy.yaml, builtin:workspace-write). */
  policy?: string;
  audit?: string;
  /** The policy already compiled for this event (prepareGuard), so it is not loaded twice. */
  compiled?: CompiledPolicy;
  /** Export the decision as an OpenTelemetry span (also on with OTEL_EXPORTER_OTLP_ENDPOINT). */
  otel?: boolean;
  /** The hook's working directory (the daemon's own is not the hook's): the workspace of a malformed event. */
  cwd?: string;
  /** Compiled policies kept between events (the guard daemon); the cold path loads each time. */
  policyCache?: PolicyCache;
  /** Audit logs kept open between events (the guard daemon); the cold path opens and closes its own. */
  auditPool?: AuditPool;
}

/** Where proven policies are remembered (see LoadOptions.provenCache). */
export function provenCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'icode', 'proven');
}

export const GUARD_DEFAULT_POLICY = 'builtin:workspace-write';

/** The policy for an event in `cwd`: the flag, the environment, the project's, the default. */
export function guardPolicy(opts: GuardOptions, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  if (opts.policy) return opts.policy;
  if (env.ICODE_POLICY) return env.ICODE_POLICY;
  const project = join(cwd, '.icode', 'policy.yaml');
  return existsSync(project) ? project : GUARD_DEFAULT_POLICY;
}

/**
 * Loads the policy of a pre-tool event once (examples proven once per content, cached), and says
 * whether it has hooks (isolated-vm, so --no-node-snapshot). Other events need no policy.
 */
export async function prepareGuard(agent: GuardAgent, text: string, opts: GuardOptions): Promise<{ needsIsolate: boolean; compiled?: CompiledPolicy }> {
  const ev = parseEvent(agent, text);
  if ('malformed' in ev || ev.phase !== 'pre_tool') return { needsIsolate: false };
  try {
    const spec = guardPolicy(opts, ev.cwd);
    const compiled = await preToolOnly(opts.policyCache ? await opts.policyCache.get(spec) : await loadGuardPolicy(spec));
    return { needsIsolate: (compiled.hooks.pre_tool ?? []).length > 0, compiled };
  } catch {
    return { needsIsolate: false }; // the pipeline reports (and records) a policy that does not load
  }
}

/**
 * The policy as a pre-tool event uses it: decideOnly runs only the pre_tool hooks, so the others
 * (e.g. the secret_redactor post_tool hook every policy gets) are not loaded, and a policy without
 * pre-tool hooks needs no isolate (no second Node start). Same rules, same hash (same audit rows).
 */
export async function preToolOnly(p: CompiledPolicy): Promise<CompiledPolicy> {
  const pre = p.hooks.pre_tool ?? [];
  const { CompiledPolicy } = await import('../../policies/compiler/compiled.js');
  return new CompiledPolicy(p.source, p.name, p.rules, p.defaultDecision, p.settings, pre.length ? { pre_tool: pre } : {}, p.hash, p.home);
}

/** The policy loaded as a hook loads it (examples proven once per content, remembered on disk). */
export async function loadGuardPolicy(spec: string): Promise<CompiledPolicy> {
  const { loadPolicy } = await import('../../policies/index.js');
  return loadPolicy(spec, { provenCache: provenCacheDir() });
}

/**
 * Claude Code: `ask` is answered by its own permission prompt (recorded as ask, passed on as ask).
 * Gemini CLI: a hook's decision is allow or deny only (its documented contract; its BeforeTool fires
 * after its own confirmation, and never in YOLO mode asks anyone), so an ask could only pass as an
 * allow: it is a deny, recorded as one, with why.
 */
const deferToAgent = (agent: GuardAgent): Approver => ({
  approve: async () =>
    agent === 'gemini-cli'
      ? { approved: false, note: 'the policy asks for approval, and a Gemini CLI hook cannot ask: denied (allow the call in the policy to let it run)' }
      : { approved: true, note: `deferred to ${agent}'s permission prompt` },
});

/** Nothing is executed by icode here; validate() only needs to know a tool's kind can run somewhere. */
const AGENT_RUNS_IT: Executor = {
  run: async () => ({ ok: false, output: '', error: 'icode guard never runs tools', truncated: false, bytes: 0 }),
  describe: () => 'guarded-agent',
  close: async () => {},
};

export async function guardEvent(agent: GuardAgent, text: string, opts: GuardOptions): Promise<GuardAnswer> {
  const ev = parseEvent(agent, text);
  if ('malformed' in ev) {
    if (ev.phaseGuess !== 'pre_tool') return continueAnswer(`ignored a malformed event: ${ev.malformed}`);
    // A pre-tool event icode cannot read is denied, and the deny recorded (under a session of its own).
    const recorded = await decidePre(agent, null, opts, ev.malformed, text).catch((e: unknown) => `not recorded: ${(e as Error).message}`);
    return preToolAnswer(agent, 'deny', `icode: ${ev.malformed}; denied (fail closed)${typeof recorded === 'string' ? ` (${recorded})` : ''}`);
  }
  if (ev.phase === 'pre_tool') {
    try {
      return await decidePre(agent, ev, opts);
    } catch (e) {
      return preToolAnswer(agent, 'deny', `icode could not decide this call, so it is denied: ${(e as Error).message}`);
    }
  }
  try {
    if (ev.phase === 'post_tool') return await recordPost(ev, opts);
    const { audit, done } = openAudit(opts);
    try {
      await audit.recordEvent(`${agent}:${ev.name}`, ev.session, { cwd: ev.cwd });
    } finally {
      done();
    }
    return continueAnswer();
  } catch (e) {
    // Recording a non-tool event must never stop the agent; the failure is said on stderr.
    return continueAnswer(`could not record ${ev.name}: ${(e as Error).message}`);
  }
}

async function decidePre(agent: GuardAgent, ev: GuardEvent | null, opts: GuardOptions, malformed?: string, raw?: string): Promise<GuardAnswer> {
  const cwd = ev?.cwd ?? opts.cwd ?? process.cwd();
  const [{ createPipeline }, { defineTool }, { ToolRegistry }] = await Promise.all([import('../pipeline.js'), import('../tools/definition.js'), import('../tools/registry.js')]);
  const registry = new ToolRegistry();
  // Tools icode has no definition for (mcp__*, Task, …) are decided by the policy by name.
  if (ev?.tool && !registry.get(ev.tool) && /^[A-Za-z0-9_-]{1,64}$/.test(ev.tool)) {
    registry.register(defineTool({ name: ev.tool, description: `${agent} tool ${ev.tool}`, inputSchema: { type: 'object' }, kind: 'guarded', mutates: true }));
  }
  const pipeline = await createPipeline({
    workspace: cwd,
    policy: opts.compiled ?? guardPolicy(opts, cwd),
    audit: opts.auditPool ? opts.auditPool.get(opts.audit ?? defaultAuditPath()) : opts.audit,
    session: ev?.session ?? `${agent}-malformed`,
    approver: deferToAgent(agent),
    registry,
    executors: { fs: AGENT_RUNS_IT, shell: AGENT_RUNS_IT, guarded: AGENT_RUNS_IT, web: AGENT_RUNS_IT },
  });
  try {
    if (ev && !ev.callId && ev.callBase) ev.callId = nextDerivedCallId(pipeline.audit, ev.session, ev.callBase);
    const r = ev
      ? await pipeline.decideOnly({ tool: ev.tool!, input: ev.input, callId: ev.callId, session: ev.session, agent: ev.role })
      : await pipeline.decideOnly({ tool: '(malformed event)', input: { event: (raw ?? '').slice(0, 4096) }, malformed });
    // The decision and its pre-tool hook actions (and a deny's outcome) as spans and log records.
    if (ev && otelEnabled(opts.otel)) await (await import('../telemetry/otel.js')).exportCall(pipeline.audit, ev.session, r.callId, r.auditId);
    if (r.status !== 'ok') return preToolAnswer(agent, 'deny', r.error ?? r.reason);
    const rule = r.rule ? ` (rule ${r.rule})` : '';
    return preToolAnswer(agent, r.decision === 'ask' ? 'ask' : 'allow', `icode: ${r.decision}${rule}: ${r.reason}`);
  } finally {
    await pipeline.close();
  }
}

/** The audit log of an event: the daemon's open one (flushed, kept), else opened and closed here. */
function openAudit(opts: GuardOptions): { audit: AuditLog; done: () => void } {
  const path = opts.audit ?? defaultAuditPath();
  if (opts.auditPool) {
    const audit = opts.auditPool.get(path);
    return { audit, done: () => audit.flush() };
  }
  const audit = AuditLog.open(path);
  return { audit, done: () => audit.close() };
}

/** Decisions of a session whose call id is `base` or `base-N` (newest first). */
function derivedDecisions(audit: AuditLog, session: string, base: string): AuditRow[] {
  return audit.list({ session, kind: 'decision', order: 'desc', limit: 5000 }).filter((r) => r.callId !== null && r.callId.startsWith(`${base}-`));
}

/** The next call id for a Gemini CLI call: its stem, numbered (the same call repeated is another call). */
function nextDerivedCallId(audit: AuditLog, session: string, base: string): string {
  const n = Math.max(0, ...derivedDecisions(audit, session, base).map((r) => Number(r.callId!.slice(base.length + 1)) || 0));
  return `${base}-${n + 1}`;
}

/** The call an AfterTool reports on: the newest decision with its stem that has no outcome yet. */
function pendingDerivedCallId(audit: AuditLog, session: string, base: string): string | undefined {
  const done = new Set(audit.list({ session, kind: 'outcome', order: 'desc', limit: 5000 }).map((r) => r.callId));
  return derivedDecisions(audit, session, base).find((r) => !done.has(r.callId))?.callId ?? undefined;
}

async function recordPost(ev: GuardEvent, opts: GuardOptions): Promise<GuardAnswer> {
  if (!ev.callId && !ev.callBase) return continueAnswer(`${ev.name} without a tool call id: no outcome recorded`);
  const text = typeof ev.response === 'string' ? ev.response : JSON.stringify(ev.response ?? null);
  const failed = isFailure(ev.response);
  const { audit, done } = openAudit(opts);
  try {
    if (!ev.callId) ev.callId = pendingDerivedCallId(audit, ev.session, ev.callBase!);
    if (!ev.callId) return continueAnswer(`${ev.name}: no decision of this call without an outcome; no outcome recorded`);
    const seq = await audit.recordOutcome({
      session: ev.session,
      callId: ev.callId!,
      status: failed ? 'error' : 'ok',
      bytes: Buffer.byteLength(text),
      durationMs: 0,
      outputHash: createHash('sha256').update(text).digest('hex'),
      truncated: false,
      ...(failed ? { error: 'the tool reported a failure' } : {}),
    });
    if (otelEnabled(opts.otel)) await exportOutcome(audit, ev, seq);
  } finally {
    done();
  }
  return continueAnswer();
}

/** The guarded agent's outcome (PostToolUse / AfterTool) as a span under its decision's, and a log record. */
async function exportOutcome(audit: AuditLog, ev: GuardEvent, seq: number): Promise<void> {
  const { exportRows } = await import('../telemetry/otel.js');
  audit.flush();
  const row = audit.list({ afterSeq: seq - 1, limit: 1 });
  // The decision is only looked up (its span id is the outcome's parent), not exported again.
  const decision = audit.list({ session: ev.session, kind: 'decision', order: 'desc', limit: 500 }).filter((r) => r.callId === ev.callId).slice(0, 1);
  await exportRows(row, decision);
}

/**
 * Claude Code's tool_response may say `success: false` (Write) or carry an error / a non-zero exit;
 * Gemini CLI's carries an optional `error` object (`{message, type}`) beside `llmContent`.
 */
function isFailure(r: unknown): boolean {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  const error = o.error !== undefined && o.error !== null && o.error !== '' && o.error !== false;
  return o.success === false || o.is_error === true || (typeof o.exitCode === 'number' && o.exitCode !== 0) || error;
}
