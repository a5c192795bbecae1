/**
 * The policy's word on each hop of a web_fetch. The first URL was decided (and, for `ask`, approved)
 * by the pipeline like any call; each redirect is decided again here by the same `host` rules:
 * allow → follow; deny → refuse; ask → follow only to the host already approved (there is no person
 * to ask mid-fetch: the agent can fetch the new URL itself, which is then asked for).
 * Loopback, private and link-local addresses need a rule that names the host literally.
 */
import type { CompiledPolicy } from '../../../policies/index.js';
import { asList } from '../../../policies/compiler/doc.js';
import type { HostVerdict } from './fetcher.js';

export const WEB_FETCH_TOOL = 'web_fetch';

const GLOB = /[*?[\]{}()!+@]/;

/** A rule of the policy allows web_fetch to this host by naming it (no wildcard). */
export function policyNamesHost(policy: CompiledPolicy, host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return policy.rules.some(
    (r) =>
      r.decision === 'allow' &&
      r.matchesTool(WEB_FETCH_TOOL) &&
      asList(r.doc.host).some((p) => !GLOB.test(p) && p.toLowerCase().replace(/^\[(.*)\]$/, '$1') === h),
  );
}

export function hopDecider(policy: CompiledPolicy, ctx: { agent: string; workspace: string }): (url: URL, hop: number) => HostVerdict {
  let approvedHost: string | null = null;
  return (url, hop) => {
    const namesHost = policyNamesHost(policy, url.hostname);
    if (hop === 0) {
      approvedHost = url.host;
      return { allowed: true, reason: 'decided by the pipeline', namesHost };
    }
    let v;
    try {
      v = policy.decide({ tool: WEB_FETCH_TOOL, input: { url: url.href }, agent: ctx.agent, workspace: ctx.workspace });
    } catch (e) {
      return { allowed: false, reason: `the policy could not decide it: ${(e as Error).message}`, namesHost: false };
    }
    const rule = v.rule ? ` (rule ${v.rule})` : '';
    if (v.decision === 'allow') return { allowed: true, reason: v.reason, namesHost };
    if (v.decision === 'ask' && url.host === approvedHost) return { allowed: true, reason: 'same host as the approved URL', namesHost };
    if (v.decision === 'ask') return { allowed: false, reason: `the policy asks for ${url.host}${rule} and no one can answer mid-fetch; fetch ${url.href} directly`, namesHost };
    return { allowed: false, reason: `${v.reason}${rule}`, namesHost };
  };
}
