/**
 * The `web_fetch` executor: fetched by icode (never inside the jail), each redirect decided again by
 * the policy's host rules, private addresses refused unless a rule names the host, bounded in size and
 * time, HTML turned into text (engine/tools/web-fetch/). The final URL leads the output (and so the
 * audited outcome); `prompt` is passed back with the text for the agent to apply.
 */
import type { CompiledPolicy } from '../../policies/index.js';
import { webFetch, type WebFetchOptions } from '../tools/web-fetch/fetcher.js';
import { hopDecider } from '../tools/web-fetch/policy-hosts.js';
import type { ExecContext, ExecResult, Executor } from './types.js';

export class WebFetchExecutor implements Executor {
  constructor(
    private readonly policy: () => CompiledPolicy | null,
    private readonly workspace: string,
    private readonly limits: Omit<WebFetchOptions, 'decide' | 'signal'> = {},
  ) {}

  async run(_tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult> {
    const policy = this.policy();
    if (!policy) return { ok: false, output: '', error: 'no policy: nothing is fetched', truncated: false, bytes: 0 };
    const url = String(input.url ?? '');
    const r = await webFetch(url, {
      ...this.limits,
      decide: hopDecider(policy, { agent: ctx.agent ?? 'main', workspace: this.workspace }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const head = [
      `URL: ${r.url}`,
      ...(r.chain.length > 1 ? [`Redirected: ${r.chain.join(' → ')}`] : []),
      ...(r.status !== undefined ? [`Status: ${r.status}${r.contentType ? ` (${r.contentType})` : ''}`] : []),
      ...(typeof input.prompt === 'string' && input.prompt ? [`Prompt: ${input.prompt}`] : []),
    ].join('\n');
    const auditNote = { note: `final URL ${r.url}`, data: { url: r.url, chain: r.chain, ...(r.status !== undefined ? { status: r.status } : {}) } };
    const body = r.text !== undefined ? `\n\n${r.text}${r.truncated ? '\n[… cut: the page is larger than the web_fetch limit]' : ''}` : '';
    if (!r.ok) return { ok: false, output: r.text !== undefined ? head + body : head, error: r.error ?? 'failed', truncated: r.truncated, bytes: r.bytes, auditNote };
    return { ok: true, output: head + body + '\n', truncated: r.truncated, bytes: r.bytes, auditNote };
  }

  describe(): string {
    return 'icode-fetch';
  }

  async close(): Promise<void> {}
}
