/**
 * Approvers settle `ask` verdicts. Whatever goes wrong — no approver, a timeout, an error, an abort —
 * the answer is deny, with the reason recorded.
 */

export interface ApprovalRequest {
  callId: string;
  session: string;
  agent: string;
  tool: string;
  input: unknown;
  rule: string | null;
  reason: string;
}

export interface ApprovalAnswer {
  approved: boolean;
  /** Recorded in the audit log: who or what answered, and why. */
  note: string;
}

export interface Approver {
  approve(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer>;
}

/** Non-interactive runs: `--ask deny` (default) or `--ask allow`. */
export class StaticApprover implements Approver {
  constructor(private readonly answer: 'allow' | 'deny') {}
  async approve(req: ApprovalRequest): Promise<ApprovalAnswer> {
    return this.answer === 'allow'
      ? { approved: true, note: 'approved by --ask allow' }
      : { approved: false, note: `denied: no one to ask (non-interactive run, --ask deny); to allow it: ${howToAllow(req)}` };
  }
}

/** What a user can do so that an `ask` they could not answer is allowed next time. */
export function howToAllow(req: Pick<ApprovalRequest, 'tool' | 'input' | 'rule'>): string {
  const input = (typeof req.input === 'object' && req.input !== null ? req.input : {}) as Record<string, unknown>;
  const alternatives = 'rerun with --ask allow, or run icode in a terminal (the TUI) and approve it';
  // deny > ask > allow: an allow rule cannot outvote a rule that asks, only the policy's default.
  if (req.rule !== null) return `rule ${req.rule} asks for it (an allow rule cannot override it); ${alternatives}`;
  const target =
    typeof input.command === 'string' ? `command: [${JSON.stringify(input.command)}]`
    : typeof input.path === 'string' ? `tool: ${req.tool}, paths: [${JSON.stringify(input.path)}]`
    : typeof input.url === 'string' ? `tool: ${req.tool}, host: [${JSON.stringify(hostOf(input.url))}]`
    : `tool: ${req.tool}`;
  return `add a rule to the policy, e.g. {id: allow-it, decision: allow, reason: "…", ${target}}; or ${alternatives}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** Ask the approver, bounded by a timeout; any failure is a deny. */
export async function settleAsk(approver: Approver, req: ApprovalRequest, timeoutMs: number, outer?: AbortSignal): Promise<ApprovalAnswer> {
  const ctl = new AbortController();
  const onOuter = (): void => ctl.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ApprovalAnswer>((resolve) => {
    timer = setTimeout(() => {
      ctl.abort();
      resolve({ approved: false, note: `denied: approval timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    if (outer?.aborted) return { approved: false, note: 'denied: the call was cancelled' };
    const answer = await Promise.race([approver.approve(req, ctl.signal), timeout]);
    if (typeof answer?.approved !== 'boolean') return { approved: false, note: 'denied: the approver gave no answer' };
    return answer;
  } catch (e) {
    return { approved: false, note: `denied: the approver failed (${(e as Error).message})` };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}
