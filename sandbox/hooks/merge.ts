/**
 * Folding the results of the hooks of one point, in declaration order, into one merged result:
 * pre_tool: strictest decision wins (deny > ask > allow), the last rewritten input wins, contexts are
 * concatenated; post_tool: the last replacement output wins; stop: any hook may refuse the stop.
 * Failures are folded in according to the hook's `on_error`.
 */
import { strictest, type Decision } from '../../policies/types.js';
import type { HookPoint, HookResult, MergedResultMap, OnError } from './types.js';

export class Accumulator {
  decision: Decision = 'allow';
  readonly reasons: string[] = [];
  input: Record<string, unknown> | undefined;
  output: string | undefined;
  readonly context: string[] = [];
  block = false;
  readonly messages: string[] = [];

  constructor(readonly point: HookPoint) {}

  /** Folds in a valid result of hook `name`. */
  add(name: string, result: HookResult): void {
    const r = result as {
      decision?: Decision;
      reason?: string;
      input?: Record<string, unknown>;
      output?: string;
      context?: string;
      block?: boolean;
      message?: string;
    };
    if (r.context) this.context.push(r.context);
    switch (this.point) {
      case 'pre_tool':
        if (r.input) this.input = r.input;
        if (r.decision) this.decide(r.decision, `${name}: ${r.reason || `decided ${r.decision}`}`);
        break;
      case 'post_tool':
        if (r.output !== undefined) this.output = r.output;
        break;
      case 'stop':
      case 'subagent_stop':
        if (r.block) {
          this.block = true;
          this.messages.push(r.message || `${name} refused the stop`);
        }
        break;
      case 'user_prompt':
        if (r.block) {
          this.block = true;
          this.messages.push(`${name}: ${r.reason || 'blocked the prompt'}`);
        }
        break;
      case 'pre_compact':
        if (r.block) {
          this.block = true;
          this.messages.push(`${name}: ${r.reason || 'vetoed the compaction'}`);
        }
        break;
      default:
        break;
    }
  }

  /** Folds in the failure of hook `name` according to its `on_error`. */
  fail(name: string, onError: OnError, why: string): void {
    const text = `hook ${name} failed: ${why}`;
    if (this.point === 'pre_tool' && (onError === 'deny' || onError === 'ask')) this.decide(onError, text);
    if (this.point === 'post_tool' && onError === 'withhold') this.output = `[output withheld: ${text}]`;
  }

  private decide(decision: Decision, reason: string): void {
    if (decision !== 'allow') this.reasons.push(reason);
    this.decision = strictest(this.decision, decision);
  }

  result<P extends HookPoint>(): MergedResultMap[P] {
    switch (this.point) {
      case 'pre_tool': {
        const merged: MergedResultMap['pre_tool'] = { decision: this.decision, reason: this.reasons.join('; '), context: this.context };
        if (this.input) merged.input = this.input;
        return merged as MergedResultMap[P];
      }
      case 'post_tool': {
        const merged: MergedResultMap['post_tool'] = { context: this.context };
        if (this.output !== undefined) merged.output = this.output;
        return merged as MergedResultMap[P];
      }
      case 'stop':
      case 'subagent_stop': {
        const merged: MergedResultMap['stop'] = { block: this.block };
        if (this.block) merged.message = this.messages.join('\n\n');
        return merged as MergedResultMap[P];
      }
      case 'user_prompt': {
        const merged: MergedResultMap['user_prompt'] = { context: this.context, block: this.block };
        if (this.block) merged.reason = this.messages.join('; ');
        return merged as MergedResultMap[P];
      }
      case 'pre_compact': {
        const merged: MergedResultMap['pre_compact'] = { context: this.context, block: this.block };
        if (this.block) merged.reason = this.messages.join('; ');
        return merged as MergedResultMap[P];
      }
      default:
        return { context: this.context } as MergedResultMap[P];
    }
  }
}
