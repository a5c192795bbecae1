/**
 * Stage 2, decide: the policy decides a valid call (allow / ask / deny); an `ask` is settled by the
 * approver (or its timeout) here, before anything is recorded or run.
 */
import { decideIntersection } from '../../policies/index.js';
import { settleAsk } from '../approval.js';
import type { CallState, StageDeps } from './state.js';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 300_000;

export async function decide(p: StageDeps, c: CallState, invalid: string | null, signal: AbortSignal | undefined): Promise<void> {
  if (invalid !== null) {
    c.decision = 'deny';
    c.reason = invalid;
  } else {
    try {
      const req = { tool: c.tool, input: c.input as Record<string, unknown>, agent: c.agent, workspace: p.workspace };
      // A sub-agent: the pipeline's policy intersected with its own and its ancestors' (strictest wins).
      // The pipeline's policy decides as the sub-agent and as each agent above it (a rule binding a parent
      // binds its children), then every policy of the chain decides: the strictest verdict wins.
      const policy = p.policy!;
      const v = c.scope
        ? decideIntersection([policy, ...c.scope.ancestors.map((agent) => ({ decide: (r: typeof req) => policy.decide({ ...r, agent }) })), ...c.scope.policies], req)
        : policy.decide(req);
      c.decision = v.decision;
      c.rule = v.rule;
      c.reason = v.reason;
    } catch (e) {
      // A policy that cannot decide a call denies it.
      c.decision = 'deny';
      c.reason = `the policy could not decide this call: ${(e as Error).message}`;
    }
  }
  if (c.decision === 'ask') {
    const answer = await settleAsk(
      p.approver,
      { callId: c.callId, session: c.session, agent: c.agent, tool: c.tool, input: c.input, rule: c.rule, reason: c.reason },
      p.policy?.settings.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
      signal,
    );
    c.approval = answer.note;
    c.effective = answer.approved ? 'allow' : 'deny';
  } else c.effective = c.decision === 'allow' ? 'allow' : 'deny';
}
