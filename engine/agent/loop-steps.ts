/**
 * The two steps of the agent loop (loop.ts): one model turn (stream the reply, surface its events) and
 * one batch of tool calls (each through the ToolRunner, in order; results stored and reported).
 */
import type { ToolCallResult, ToolRunner } from '../pipeline-types.js';
import { ProviderError, errorMessage } from './errors.js';
import type { Provider, ProviderEvent, ProviderRequest } from './providers/types.js';
import type { SessionStore } from './sessions.js';
import type { ToolResultBlock, ToolUseBlock } from './types.js';
import type { AgentEvent, RunResult, RunSubtype } from './loop.js';

export type FinalMessage = Extract<ProviderEvent, { type: 'message' }>;

/** How a turn ended: the model's final message, or the run ends (a failed or cancelled model call). */
export type TurnEnd = { final: FinalMessage } | { end: RunSubtype; error: string; errorKind?: string; aborted?: boolean };

/** One model call: its stream's events are emitted as they come; nothing half-streamed is returned. */
export async function modelTurn(provider: Provider, req: ProviderRequest, turn: number, emit: (e: AgentEvent) => void): Promise<TurnEnd> {
  const signal = req.signal;
  let final: FinalMessage | null = null;
  try {
    for await (const ev of provider.stream(req)) {
      switch (ev.type) {
        case 'text_delta':
          emit({ type: 'text_delta', turn, text: ev.text });
          break;
        case 'tool_call':
          emit({ type: 'tool_use', turn, call: ev.call });
          break;
        case 'retry': {
          const r: AgentEvent = { type: 'retry', turn, attempt: ev.attempt, delayMs: ev.delayMs, reason: ev.reason };
          if (ev.status !== undefined) r.status = ev.status;
          emit(r);
          break;
        }
        case 'message':
          final = ev;
          break;
        default:
          break;
      }
    }
    if (!final) throw new ProviderError('protocol', `${provider.id}: the stream ended without a final message`);
  } catch (e) {
    if (e instanceof ProviderError) {
      if (e.kind === 'aborted' || signal?.aborted) return { end: 'error_during_execution', error: 'cancelled', aborted: true };
      return { end: 'error_during_execution', error: e.message, errorKind: e.kind };
    }
    if (signal?.aborted) return { end: 'error_during_execution', error: 'cancelled', aborted: true };
    throw e;
  }
  return { final };
}

export function syntheticResult(call: ToolUseBlock, content: string): ToolResultBlock {
  return { type: 'tool_result', toolUseId: call.id, content, isError: true };
}

const CANCELLED = 'Error: this call was not run: the user cancelled the run.';

export interface ToolBatch {
  runner: ToolRunner;
  agent: string;
  sessionId: string | null;
  store: SessionStore | undefined;
  /** The stored assistant message that asked for the calls (null without a store). */
  assistantId: number | null;
  turn: number;
  signal: AbortSignal | undefined;
  emit: (e: AgentEvent) => void;
  /** Turns a pipeline result into the block the model gets. */
  toBlock: (call: ToolUseBlock, r: ToolCallResult) => ToolResultBlock;
  /** Tools whose consecutive calls run concurrently (sub-agents' `task`). */
  concurrentTools?: ReadonlySet<string>;
  maxConcurrency?: number;
}

/**
 * Runs the calls in the order given; a run of consecutive calls to a concurrent tool (sub-agents' `task`)
 * starts together, at most `maxConcurrency` at a time. Results (and stored rows, and events) keep the
 * model's order.
 */
export async function runToolBatch(uses: readonly ToolUseBlock[], b: ToolBatch): Promise<{ results: ToolResultBlock[]; calls: number; denials: RunResult['denials'] }> {
  const results: ToolResultBlock[] = [];
  const denials: RunResult['denials'] = [];
  let calls = 0;
  // One call through the pipeline (or not run, when cancelled): its result and the block for the model.
  const runCall = async (call: ToolUseBlock): Promise<{ result: ToolCallResult | null; block: ToolResultBlock }> => {
    if (b.signal?.aborted) return { result: null, block: syntheticResult(call, CANCELLED) };
    let result: ToolCallResult | null = null;
    let block: ToolResultBlock;
    const base = { tool: call.name, agent: b.agent, ...(b.sessionId ? { session: b.sessionId } : {}), callId: call.id };
    try {
      // Arguments that are not valid JSON still go through the pipeline (denied there, and audited).
      result = await b.runner.call(call.inputError ? { ...base, input: call.rawInput ?? '', malformed: call.inputError } : { ...base, input: call.input }, b.signal);
      block = call.inputError
        ? { ...syntheticResult(call, `Error: ${call.inputError}. The call was not run; send it again with a valid JSON object.`), status: result.status, decision: result.decision }
        : b.toBlock(call, result);
    } catch (e) {
      block = syntheticResult(call, `Error: icode failed to run this call: ${errorMessage(e)}`);
    }
    return { result, block };
  };
  const concurrent = (call: ToolUseBlock): boolean => !call.inputError && (b.concurrentTools?.has(call.name) ?? false);
  for (let i = 0; i < uses.length; ) {
    let j = i + 1;
    if (concurrent(uses[i]!)) while (j < uses.length && concurrent(uses[j]!)) j++;
    const group = uses.slice(i, j);
    const outcomes = await mapBounded(group, Math.max(1, b.maxConcurrency ?? 4), runCall);
    for (let k = 0; k < group.length; k++) {
      const call = group[k]!;
      const { result, block } = outcomes[k]!;
      if (!(block.content === CANCELLED && result === null)) calls++;
      if (result?.status === 'denied' && !call.inputError) {
        denials.push({ toolUseId: call.id, toolName: call.name, toolInput: call.input, reason: result.reason });
      }
      results.push(block);
      if (b.store && b.assistantId !== null) {
        b.store.recordToolCall({
          sessionId: b.sessionId!,
          messageId: b.assistantId,
          position: i + k,
          callId: call.id,
          tool: call.name,
          canonicalTool: result?.tool ?? null,
          input: call.inputError ? (call.rawInput ?? null) : call.input,
          status: result?.status ?? 'error',
          decision: result?.decision ?? null,
          rule: result?.rule ?? null,
          reason: result?.reason ?? null,
          output: result && !call.inputError ? (result.output ?? null) : null,
          error: result && !call.inputError ? (result.error ?? null) : block.content,
          exitCode: result?.exitCode ?? null,
          truncated: result?.truncated ?? false,
          durationMs: result?.durationMs ?? null,
          auditId: result?.auditId ?? null,
          auditPath: b.runner.auditPath ?? null,
        });
      }
      b.emit({ type: 'tool_result', turn: b.turn, call, result, block });
    }
    i = j;
  }
  return { results, calls, denials };
}

/** `fn` over `items`, at most `limit` at a time; results in the items' order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 1) return [await fn(items[0]!)];
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
