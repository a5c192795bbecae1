/**
 * The intersection of policies: a call is decided by every policy in a chain (a sub-agent's parent's
 * policy, then its own, then its own sub-agent's…) and the strictest verdict wins: deny > ask > allow.
 * So a sub-agent can never be allowed what any policy above it does not allow.
 */
import type { Decision, ToolRequest, Verdict } from '../types.js';

/** Anything that decides a call (a CompiledPolicy). */
export interface Decider {
  decide(req: ToolRequest): Verdict;
}

const RANK: Readonly<Record<Decision, number>> = { allow: 0, ask: 1, deny: 2 };

/** The strictest of several verdicts (the first of equals: the outermost policy keeps its reason). */
export function strictest(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) throw new Error('strictest: no verdicts');
  let best = verdicts[0]!;
  for (const v of verdicts) if (RANK[v.decision] > RANK[best.decision]) best = v;
  return { ...best, trace: verdicts.flatMap((v) => v.trace) };
}

/**
 * Decides `req` with every policy of the chain (outermost first) and returns the strictest verdict. A
 * policy that throws denies (fail closed).
 */
export function decideIntersection(chain: readonly Decider[], req: ToolRequest): Verdict {
  return strictest(
    chain.map((p) => {
      try {
        return p.decide(req);
      } catch (e) {
        const reason = `a policy of the chain could not decide this call: ${(e as Error).message}`;
        return { decision: 'deny' as const, rule: null, reason, trace: [] };
      }
    }),
  );
}
