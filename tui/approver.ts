/**
 * The TUI's approver: every `ask` verdict waits here for the person at the keyboard. Answers:
 *   y  allow once
 *   a  allow for this session — a rule scoped to this exact command or path, never a blanket allow
 *   p  allow and save that rule to the project's policy file (the person confirms a YAML diff first)
 *   n  deny
 *   e  deny and tell the model why
 * Every answer is recorded by the pipeline in the audit log (the note says `tui`). A request that is
 * cancelled (the turn was interrupted) or times out is a deny; nothing is approved by default.
 */
import type { ApprovalAnswer, ApprovalRequest, Approver } from '../engine/approval.js';

/** A rule the person allowed for the rest of the session: one tool, one exact command or path. */
export interface SessionRule {
  tool: string;
  command?: string;
  path?: string;
  /** Exact input (JSON), for tools that have neither a command nor a path. */
  input?: string;
}

export function ruleFor(req: Pick<ApprovalRequest, 'tool' | 'input'>): SessionRule {
  const o = (req.input && typeof req.input === 'object' ? req.input : {}) as Record<string, unknown>;
  if (typeof o.command === 'string') return { tool: req.tool, command: o.command };
  if (typeof o.path === 'string') return { tool: req.tool, path: o.path };
  return { tool: req.tool, input: stableJson(req.input) };
}

export function ruleMatches(rule: SessionRule, req: Pick<ApprovalRequest, 'tool' | 'input'>): boolean {
  const other = ruleFor(req);
  return rule.tool === other.tool && rule.command === other.command && rule.path === other.path && rule.input === other.input;
}

/** How a rule reads to the person (the dialog shows exactly this). */
export function describeRule(rule: SessionRule): string {
  if (rule.command !== undefined) return `allow ${rule.tool} command exactly: ${rule.command}`;
  if (rule.path !== undefined) return `allow ${rule.tool} on path exactly: ${rule.path}`;
  return `allow ${rule.tool} with exactly this input: ${rule.input}`;
}

function stableJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, val: unknown) =>
      val && typeof val === 'object' && !Array.isArray(val)
        ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
        : val,
    );
  } catch {
    return String(v);
  }
}

export type Choice = 'once' | 'session' | 'project' | 'deny' | 'deny_with_reason';

export interface PendingApproval {
  req: ApprovalRequest;
  answer(choice: Choice, note?: string): void;
}

export class TuiApprover implements Approver {
  readonly sessionRules: SessionRule[] = [];
  private readonly queue: PendingApproval[] = [];
  /** Called when the head of the queue changes (a dialog should be shown, or closed). */
  onChange: (head: PendingApproval | null) => void = () => undefined;

  approve(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    const rule = this.sessionRules.find((r) => ruleMatches(r, req));
    if (rule) return Promise.resolve({ approved: true, note: `approved by tui: session rule (${describeRule(rule)})` });
    return new Promise<ApprovalAnswer>((resolve) => {
      let settled = false;
      const pending: PendingApproval = {
        req,
        answer: (choice, note) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          this.remove(pending);
          resolve(this.answerFor(req, choice, note));
        },
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        this.remove(pending);
        resolve({ approved: false, note: 'denied by tui: the request was cancelled or timed out' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      if (this.queue.length === 1) this.onChange(pending);
    });
  }

  get head(): PendingApproval | null {
    return this.queue[0] ?? null;
  }

  /** Deny everything still waiting (the TUI is closing). */
  denyAll(): void {
    for (const p of [...this.queue]) p.answer('deny', 'the TUI was closed');
  }

  private answerFor(req: ApprovalRequest, choice: Choice, note?: string): ApprovalAnswer {
    switch (choice) {
      case 'once':
        return { approved: true, note: 'approved by tui: allow once' };
      case 'session':
      case 'project': {
        const rule = ruleFor(req);
        this.sessionRules.push(rule);
        return { approved: true, note: `approved by tui: ${choice === 'project' ? 'saved to the project policy' : 'allowed for this session'} (${describeRule(rule)})` };
      }
      case 'deny_with_reason':
        return { approved: false, note: `denied by tui: ${note?.trim() || 'no reason given'}` };
      default:
        return { approved: false, note: `denied by tui${note ? `: ${note}` : ''}` };
    }
  }

  private remove(p: PendingApproval): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    if (i === 0) this.onChange(this.queue[0] ?? null);
  }
}
