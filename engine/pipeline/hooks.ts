/**
 * Stages 4 and 6, the policy's tool hooks. Pre-tool hooks may deny, ask or rewrite the input (a
 * rewritten input is validated and decided again: never trusted, never looser than the policy).
 * Post-tool hooks may redact or replace the output before the model or the audit log sees it. Every
 * hook that ran, failed or was skipped is recorded beside the call.
 */
import { strictest, type Decision } from '../../policies/types.js';
import type { HookOutcome } from '../../sandbox/hooks/index.js';
import type { HookRecord } from '../audit/log.js';
import { settleAsk } from '../approval.js';
import type { ExecResult } from '../executors/types.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from './decide.js';
import type { CallState, StageDeps } from './state.js';

/** null when the call may run (c.runInput is what runs), else the denial message. */
export async function preHooks(p: StageDeps, c: CallState, signal: AbortSignal | undefined): Promise<string | null> {
  if (!p.hooks?.has('pre_tool')) return null;
  const { session, callId, agent, tool } = c;
  const { result: pre, outcomes } = await p.hooks.run('pre_tool', { session, agent, cwd: p.workspace, tool, input: c.runInput, call_id: callId, decision: c.decision, reason: c.reason });
  await recordHooks(p, c, 'pre', outcomes);
  c.context.push(...pre.context);
  let hookDecision: Decision = pre.decision;
  let hookReason = pre.reason;
  if (pre.input) {
    // A rewritten input is decided again, as if the agent had sent it; it is never trusted.
    const invalid = p.registry.validate(tool, pre.input);
    const again = invalid !== null
      ? { decision: 'deny' as const, rule: null, reason: `a hook rewrote the input into an invalid one: ${invalid}` }
      : p.policy!.decide({ tool, input: pre.input, agent, workspace: p.workspace });
    await p.audit.recordHook({ session, callId, hook: 'policy', phase: 'pre', result: 'modify', reason: `rewritten input decided ${again.decision}${again.rule ? ` by ${again.rule}` : ''}: ${again.reason}`, data: { input: pre.input, decision: again.decision, rule: again.rule } });
    hookDecision = strictest(hookDecision, again.decision);
    if (again.decision !== 'allow') hookReason = hookReason ? `${hookReason}; ${again.reason}` : again.reason;
    c.runInput = pre.input;
  }
  if (hookDecision === 'ask') {
    const answer = await settleAsk(p.approver, { callId, session, agent, tool, input: c.runInput, rule: null, reason: hookReason }, p.policy?.settings.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS, signal);
    await p.audit.recordHook({ session, callId, hook: 'approval', phase: 'pre', result: answer.approved ? 'continue' : 'block', reason: answer.note });
    if (!answer.approved) hookDecision = 'deny';
    hookReason = `${hookReason} (${answer.note})`;
  }
  return hookDecision === 'deny' ? `Denied by a pre-tool hook: ${hookReason || 'no reason given'}` : null;
}

/** The text for the model and the audit log: the executor's, or what a post-tool hook made of it. */
export async function postHooks(p: StageDeps, c: CallState, result: ExecResult): Promise<string> {
  // A command that ran and exited non-zero: its output is kept byte for byte and the exit code is a
  // field (exitCode); the agent loop tells the model the code (engine/agent/loop.ts toolResultBlock).
  const exited = typeof result.exitCode === 'number';
  let text = result.ok || exited ? result.output : result.output ? `${result.output}\n${result.error ?? ''}` : (result.error ?? 'failed');
  if (!p.hooks?.has('post_tool')) return text;
  const { result: post, outcomes } = await p.hooks.run('post_tool', {
    session: c.session,
    agent: c.agent,
    cwd: p.workspace,
    tool: c.tool,
    input: c.runInput,
    call_id: c.callId,
    output: text,
    status: result.ok ? 'ok' : 'error',
    exit_code: result.exitCode ?? null,
    decision: c.decision,
    duration_ms: performance.now() - c.started,
  });
  // Queued, not awaited, like the outcome row that follows them (outcome.ts): the call's decision is
  // already durable, and rows commit in the order they were queued, so these still precede the outcome.
  for (const rec of hookRecords(c, 'post', outcomes)) {
    p.audit.recordHook(rec).catch((e: unknown) => {
      process.stderr.write(`icode: could not record post-tool hook ${rec.hook} of call ${c.callId}: ${(e as Error).message}\n`);
    });
  }
  if (post.output !== undefined) text = post.output;
  c.context.push(...post.context);
  return text;
}

/** Pre-tool hook rows are committed before the tool runs. */
async function recordHooks(p: StageDeps, c: CallState, phase: 'pre' | 'post', outcomes: HookOutcome[]): Promise<void> {
  await Promise.all(hookRecords(c, phase, outcomes).map((rec) => p.audit.recordHook(rec)));
}

function hookRecords(c: CallState, phase: 'pre' | 'post', outcomes: HookOutcome[]): HookRecord[] {
  return outcomes.map((o) => ({
    session: c.session,
    callId: c.callId,
    hook: o.hook,
    phase,
    result: o.status === 'ok' ? hookVerb(o) : o.status === 'failed' ? `error→${o.applied ?? 'ignore'}` : 'skipped',
    reason: o.error ?? o.note,
    durationMs: o.durationMs,
    error: o.status === 'failed' ? o.error : undefined,
    data: { kind: o.kind, result: o.result, failure: o.failure, logs: o.logs },
  }));
}

function hookVerb(o: HookOutcome): string {
  const r = (o.result ?? {}) as { decision?: string; input?: unknown; output?: unknown; block?: boolean };
  if (r.decision === 'deny' || r.block) return 'block';
  if (r.decision === 'ask') return 'ask';
  if (r.input !== undefined || r.output !== undefined) return 'modify';
  return 'continue';
}
