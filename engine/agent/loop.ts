/**
 * The agent loop, deterministic: the model streams → its tool calls are collected → each goes
 * through the ToolRunner (the policy pipeline), one after the other in the order given → the
 * results go back in that order, as one user message → repeat until the model ends its turn or a
 * limit (max turns, token budget, cost budget) is hit.
 *
 * A failed call goes back to the model as an error result and a denied call as a denial with its
 * reason, never as silence. A call whose arguments were not valid JSON is not run (the pipeline gets
 * it as `malformed`, denies and audits it) and the model gets an error result quoting them.
 * A model call that fails (after retries) or a stream cut mid-way ends the run with
 * `error_during_execution`; nothing half-streamed is stored or executed.
 *
 * With a SessionStore, every message, tool call and result is stored as it happens.
 */
import type { ToolCallResult, ToolRunner } from '../pipeline-types.js';
import { AgentConfigError, errorMessage } from './errors.js';
import { modelTurn, runToolBatch, syntheticResult } from './loop-steps.js';
import { addCost } from './providers/pricing.js';
import type { Provider } from './providers/types.js';
import { toMessages, type SessionStore } from './sessions.js';
import type { ContextCompaction } from './compaction.js';
import { toolUseIdsOf, withUniqueToolUseIds } from './tool-ids.js';
import {
  ZERO_USAGE,
  addUsage,
  textOf,
  toolUsesOf,
  totalTokens,
  type Message,
  type StopReason,
  type ToolResultBlock,
  type ToolSpec,
  type ToolUseBlock,
  type Usage,
} from './types.js';

export const DEFAULT_MAX_TURNS = 50;

export type RunSubtype = 'success' | 'error_max_turns' | 'error_max_tokens' | 'error_max_budget_usd' | 'error_during_execution';

export interface RunResult {
  subtype: RunSubtype;
  isError: boolean;
  /** The run was cancelled through the AbortSignal (subtype is then error_during_execution). */
  aborted: boolean;
  /** Text of the last assistant message. */
  result: string;
  /** What went wrong, when isError. */
  error?: string;
  /** For a failed model call: the ProviderError kind (http, stream_cut, …). */
  errorKind?: string;
  /** Model calls made in this run. */
  numTurns: number;
  usage: Usage;
  /** USD, or null when the model's prices are unknown. */
  totalCostUsd: number | null;
  sessionId: string | null;
  stopReason: StopReason | null;
  durationMs: number;
  /** Tool calls of this run, and those that were denied. */
  toolCalls: number;
  denials: Array<{ toolUseId: string; toolName: string; toolInput: unknown; reason: string }>;
}

/** What the loop tells its observers (output formatting, the TUI). */
export type AgentEvent =
  | { type: 'run_start'; sessionId: string | null; provider: string; model: string; tools: string[]; historyLength: number }
  | { type: 'user_message'; message: Message; messageId: number | null; origin: 'prompt' | 'tool_results' | 'stop_hook' | 'repair' }
  | { type: 'turn_start'; turn: number }
  | { type: 'retry'; turn: number; attempt: number; delayMs: number; reason: string; status?: number }
  | { type: 'text_delta'; turn: number; text: string }
  /** The model asked for a call (streamed); it has not been decided yet. A sub-agent's carries its name, depth and task call. */
  | ({ type: 'tool_use'; turn: number; call: ToolUseBlock } & SubagentFields)
  | { type: 'assistant_message'; turn: number; message: Message; messageId: number | null; usage: Usage; costUsd: number | null; stopReason: StopReason }
  /** A call went through the pipeline (result null: it never reached it — bad arguments, cancelled). */
  | ({ type: 'tool_result'; turn: number; call: ToolUseBlock; result: ToolCallResult | null; block: ToolResultBlock } & SubagentFields)
  /** A `task` call started a sub-agent (its tool events follow, carrying its name and depth). */
  | { type: 'subagent_start'; agent: string; depth: number; parentCallId: string; sessionId: string | null; description: string; tools: string[] }
  /** The sub-agent finished (or was cancelled); its report goes back to its parent as the task's result. */
  | { type: 'subagent_result'; agent: string; depth: number; parentCallId: string; sessionId: string | null; result: RunResult }
  | { type: 'result'; result: RunResult };

/** Set on the tool events of a sub-agent (absent for the main agent's own calls). */
export interface SubagentFields {
  agent?: string;
  depth?: number;
  /** The `task` call that started the sub-agent. */
  parentCallId?: string;
}

export interface LoopState {
  sessionId: string | null;
  /** Model calls made in this run so far. */
  numTurns: number;
  messages: readonly Message[];
  lastMessage: Message;
  usage: Usage;
  costUsd: number | null;
  /** True when the previous turn was itself a continuation asked by onStop. */
  stopHookActive: boolean;
}

export interface StopHookResult {
  /** Keep going: `message` is given to the model as the next user message. */
  block: boolean;
  message?: string;
}

export interface UserPromptHookResult {
  /** Refuse the prompt: the run ends without calling the model. */
  block?: boolean;
  message?: string;
  /** Extra context appended to the prompt. */
  context?: string;
}

export interface LoopOptions {
  provider: Provider;
  runner: ToolRunner;
  tools: ToolSpec[];
  /**
   * The tools as they are now, read before every model request (an MCP server's tool list may change
   * mid-session); `tools` when absent.
   */
  toolsNow?: () => ToolSpec[];
  system?: string;
  /** Store every message and call here (needs sessionId). */
  sessions?: SessionStore;
  sessionId?: string;
  /** Conversation so far when not stored (ignored with `sessions`: the stored history is used). */
  history?: Message[];
  /** Agent name for the pipeline (default "main"). */
  agent?: string;
  maxTurns?: number;
  /** Token budget of this run (input + output + cache), checked before each model call. */
  maxBudgetTokens?: number;
  /** Cost budget of this run in USD; needs a model with known prices. */
  maxCostUsd?: number;
  maxOutputTokens?: number;
  signal?: AbortSignal;
  /**
   * Tools whose consecutive calls in one model turn run concurrently (the `task` tool: sub-agents), at
   * most `maxConcurrency` at a time; every other call runs alone, in order. Results keep the model's order.
   */
  concurrentTools?: ReadonlySet<string>;
  maxConcurrency?: number;
  onEvent?: (event: AgentEvent) => void;
  onUserPrompt?: (prompt: string, state: { sessionId: string | null }) => UserPromptHookResult | void | Promise<UserPromptHookResult | void>;
  onStop?: (state: LoopState) => StopHookResult | void | Promise<StopHookResult | void>;
  /** Context compaction (engine/agent/compaction.ts): checked before each model call. */
  compaction?: ContextCompaction;
  /** Called when a turn's results are in (and when the run ends its last turn): end-of-turn checkpoints. */
  onTurnEnd?: (state: { sessionId: string | null; turn: number }) => Promise<void>;
}

/**
 * Text for the model from a pipeline result. `output` is the pipeline's text for the model (tool
 * output, or the error/denial message); without it the message is composed from the other fields.
 */
export function toolResultBlock(call: ToolUseBlock, r: ToolCallResult): ToolResultBlock {
  let content: string;
  let isError: boolean;
  if (r.status === 'denied') {
    isError = true;
    const rule = r.rule ? ` (rule ${r.rule})` : '';
    content =
      r.output ||
      r.error ||
      (r.decision === 'ask'
        ? `Denied: this call needs approval and was not approved${rule}: ${r.reason}`
        : `Denied by policy${rule}: ${r.reason}`);
  } else if (r.status === 'error') {
    isError = true;
    content = r.output || r.error || 'the tool failed';
    // a command's exit code is a field of the result (its output is the command's bytes): told here
    if (typeof r.exitCode === 'number' && r.error && !(r.output ?? '').includes(r.error)) content = `${r.output ?? ''}${r.output && !r.output.endsWith('\n') ? '\n' : ''}[${r.error}]`;
  } else {
    isError = false;
    content = r.output ?? '';
  }
  if (r.truncated) content += '\n[output truncated]';
  if (r.context?.length) content += `\n\n${r.context.join('\n')}`;
  if (content === '') content = '(no output)';
  return { type: 'tool_result', toolUseId: call.id, content, isError, status: r.status, decision: r.decision };
}

const INTERRUPTED = 'Error: this call was not run (the session was interrupted or forked before it ran).';

/** Run the loop for one prompt (or, with prompt null, continue a conversation that ends with a user message). */
export async function runAgent(prompt: string | null, opts: LoopOptions): Promise<RunResult> {
  const started = Date.now();
  const store = opts.sessions;
  const sessionId = opts.sessionId ?? null;
  if (store && !sessionId) throw new AgentConfigError('runAgent: `sessions` needs a `sessionId`');
  const maxTurns = opts.maxTurns ?? DEFAULT_MAX_TURNS;
  const emit = (e: AgentEvent): void => opts.onEvent?.(e);
  const signal = opts.signal;
  const provider = opts.provider;

  if (opts.maxCostUsd !== undefined && provider.cost(ZERO_USAGE) === null) {
    throw new AgentConfigError(`a cost budget needs known prices, and ${provider.id}/${provider.model} has none`);
  }

  const messages: Message[] = store ? store.contextMessages(sessionId!) : [...(opts.history ?? [])];
  let usage: Usage = { ...ZERO_USAGE };
  let cost: number | null = 0;
  let numTurns = 0;
  let toolCalls = 0;
  let stopReason: StopReason | null = null;
  let lastText = '';
  const denials: RunResult['denials'] = [];

  const append = (message: Message, meta?: Parameters<SessionStore['appendMessage']>[2]): number | null => {
    messages.push(message);
    return store ? store.appendMessage(sessionId!, message, meta).id : null;
  };

  const finish = (subtype: RunSubtype, extra: { error?: string; errorKind?: string; aborted?: boolean } = {}): RunResult => {
    const result: RunResult = {
      subtype,
      isError: subtype !== 'success',
      aborted: extra.aborted ?? false,
      result: lastText,
      numTurns,
      usage,
      totalCostUsd: cost,
      sessionId,
      stopReason,
      durationMs: Date.now() - started,
      toolCalls,
      denials,
    };
    if (extra.error !== undefined) result.error = extra.error;
    if (extra.errorKind !== undefined) result.errorKind = extra.errorKind;
    if (store) store.updateSession(sessionId!, { status: result.aborted ? 'aborted' : subtype, error: extra.error ?? null });
    emit({ type: 'result', result });
    return result;
  };

  // A history that ends with unanswered tool calls (interrupted run, fork) gets error results first.
  const tail = messages[messages.length - 1];
  const dangling = tail?.role === 'assistant' ? toolUsesOf(tail) : [];
  if (prompt === null && !dangling.length && tail?.role !== 'user') {
    throw new AgentConfigError('nothing to continue: the conversation does not end with a user message; give a prompt');
  }

  emit({
    type: 'run_start',
    sessionId,
    provider: provider.id,
    model: provider.model,
    tools: opts.tools.map((t) => t.name),
    historyLength: messages.length,
  });
  if (store) store.updateSession(sessionId!, { status: 'running', error: null });

  try {
    if (dangling.length) {
      const repair: Message = { role: 'user', content: dangling.map((c) => syntheticResult(c, INTERRUPTED)) };
      const id = append(repair);
      emit({ type: 'user_message', message: repair, messageId: id, origin: 'repair' });
    }

    if (prompt !== null) {
      let text = prompt;
      const hook = await opts.onUserPrompt?.(prompt, { sessionId });
      if (hook?.block) return finish('error_during_execution', { error: `prompt blocked${hook.message ? `: ${hook.message}` : ''}` });
      if (hook?.context) text += `\n\n${hook.context}`;
      const message: Message = { role: 'user', content: [{ type: 'text', text }] };
      const id = append(message);
      emit({ type: 'user_message', message, messageId: id, origin: 'prompt' });
    }

    let stopHookActive = false;
    for (;;) {
      if (signal?.aborted) return finish('error_during_execution', { error: 'cancelled', aborted: true });
      if (numTurns >= maxTurns) return finish('error_max_turns', { error: `reached the limit of ${maxTurns} turns` });
      if (opts.maxBudgetTokens !== undefined && totalTokens(usage) >= opts.maxBudgetTokens) {
        return finish('error_max_tokens', { error: `used ${totalTokens(usage)} tokens, budget ${opts.maxBudgetTokens}` });
      }
      if (opts.maxCostUsd !== undefined && cost !== null && cost >= opts.maxCostUsd) {
        return finish('error_max_budget_usd', { error: `spent $${cost.toFixed(4)}, budget $${opts.maxCostUsd}` });
      }

      const tools = opts.toolsNow?.() ?? opts.tools;
      const compacted = await opts.compaction?.beforeRequest(messages, { sessionId, ...(opts.system ? { system: opts.system } : {}), tools, ...(signal ? { signal } : {}) });
      if (compacted) messages.splice(0, messages.length, ...compacted);
      const turn = ++numTurns;
      emit({ type: 'turn_start', turn });
      const ended = await modelTurn(
        provider,
        {
          ...(opts.system ? { system: opts.system } : {}),
          messages: [...messages],
          tools,
          ...(opts.maxOutputTokens ? { maxTokens: opts.maxOutputTokens } : {}),
          ...(signal ? { signal } : {}),
        },
        turn,
        emit,
      );
      if ('end' in ended) {
        const { end, ...extra } = ended;
        return finish(end, extra);
      }
      const final = ended.final;

      const turnCost = provider.cost(final.usage);
      usage = addUsage(usage, final.usage);
      cost = addCost(cost, turnCost);
      stopReason = final.stopReason;
      // Model-chosen ids may repeat: made unique before anything is stored or run (tool-ids.ts).
      const assistant = withUniqueToolUseIds(final.message, toolUseIdsOf(messages));
      lastText = textOf(assistant) || lastText;
      const assistantId = append(assistant, {
        model: `${provider.id}/${provider.model}`,
        stopReason: final.rawStopReason ?? final.stopReason,
        usage: final.usage,
        costUsd: turnCost,
      });
      if (store) store.addTurn(sessionId!, final.usage, turnCost);
      opts.compaction?.observe(final.usage, messages.length);
      emit({ type: 'assistant_message', turn, message: assistant, messageId: assistantId, usage: final.usage, costUsd: turnCost, stopReason: final.stopReason });

      const uses = toolUsesOf(assistant);
      if (uses.length === 0) {
        const hook = await opts.onStop?.({
          sessionId,
          numTurns,
          messages,
          lastMessage: assistant,
          usage,
          costUsd: cost,
          stopHookActive,
        });
        if (hook?.block) {
          const cont: Message = { role: 'user', content: [{ type: 'text', text: hook.message || 'Continue.' }] };
          const id = append(cont);
          emit({ type: 'user_message', message: cont, messageId: id, origin: 'stop_hook' });
          stopHookActive = true;
          continue;
        }
        await opts.onTurnEnd?.({ sessionId, turn });
        return finish('success');
      }
      stopHookActive = false;

      const batch = await runToolBatch(uses, { runner: opts.runner, agent: opts.agent ?? 'main', sessionId, store, assistantId, turn, signal, emit, toBlock: toolResultBlock, ...(opts.concurrentTools ? { concurrentTools: opts.concurrentTools } : {}), ...(opts.maxConcurrency ? { maxConcurrency: opts.maxConcurrency } : {}) });
      toolCalls += batch.calls;
      denials.push(...batch.denials);
      const results = batch.results;
      const resultsMessage: Message = { role: 'user', content: results };
      const resultsId = append(resultsMessage);
      if (store && assistantId !== null && resultsId !== null) store.linkToolResults(assistantId, resultsId);
      emit({ type: 'user_message', message: resultsMessage, messageId: resultsId, origin: 'tool_results' });
      await opts.onTurnEnd?.({ sessionId, turn });
    }
  } catch (e) {
    if (store) {
      try {
        store.updateSession(sessionId!, { status: 'error_internal', error: errorMessage(e) });
      } catch {
        // The store itself may be what failed; the original error matters more.
      }
    }
    throw e;
  }
}

