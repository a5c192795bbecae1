/** Anthropic Messages API (streaming, tool_use blocks assembled from input_json_delta). */
import type Anthropic from '@anthropic-ai/sdk';
import type {
  MessageParam,
  RawMessageStreamEvent,
  TextBlockParam,
  Tool,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { abortError } from '../errors.js';
import type { ContentBlock, Message, StopReason, ToolSpec, Usage } from '../types.js';
import { costOf, priceOf, type Price } from './pricing.js';
import { withRetries } from './retry.js';
import { classifyOpenError, classifyStreamError, endedEarly, lazySdk } from './sdk-errors.js';
import { isPlainObject, toolUseFromArguments } from './tool-input.js';
import { tokenCount, usageObject } from './usage.js';
import type { Provider, ProviderEvent, ProviderRequest, RetryOptions } from './types.js';

export const ANTHROPIC_DEFAULT_MAX_TOKENS = 8192;

export interface AnthropicProviderOptions {
  model: string;
  apiKey: string;
  baseURL?: string;
  retry?: RetryOptions;
  /** Per-request timeout (SDK default 10 min). */
  timeoutMs?: number;
  maxTokens?: number;
  /** Prices from the config file, over the built-in table. */
  prices?: Readonly<Record<string, Price>>;
}

const { sdk, errorClasses } = lazySdk<typeof Anthropic>('@anthropic-ai/sdk');

export class AnthropicProvider implements Provider {
  readonly id = 'anthropic';
  readonly model: string;
  private readonly client: Anthropic;
  private readonly price: Price | null;

  constructor(private readonly opts: AnthropicProviderOptions) {
    this.model = opts.model;
    this.client = new (sdk())({
      apiKey: opts.apiKey,
      ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
      maxRetries: 0,
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    });
    this.price = priceOf('anthropic', opts.model, opts.prices);
  }

  cost(usage: Usage): number | null {
    return costOf(this.price, usage);
  }

  stream(req: ProviderRequest): AsyncIterable<ProviderEvent> {
    const body = {
      model: this.model,
      max_tokens: req.maxTokens ?? this.opts.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      messages: toAnthropicMessages(req.messages),
      ...(req.system ? { system: req.system } : {}),
      ...(req.tools.length ? { tools: req.tools.map(toAnthropicTool) } : {}),
      stream: true as const,
    };
    const signal = req.signal;
    return withRetries(
      () => this.client.messages.create(body, signal ? { signal } : {}),
      (e) => classifyOpenError('anthropic', errorClasses(), e, signal),
      (stream) => consume(stream, signal),
      { ...this.opts.retry, ...(signal ? { signal } : {}) },
    );
  }
}

export function toAnthropicTool(t: ToolSpec): Tool {
  return { name: t.name, description: t.description, input_schema: t.inputSchema as Tool.InputSchema };
}

type UserBlock = TextBlockParam | ToolResultBlockParam;
type AssistantBlock = TextBlockParam | ToolUseBlockParam;

/** Neutral messages → Anthropic params; consecutive same-role messages are merged, empty text dropped. */
export function toAnthropicMessages(messages: Message[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const m of messages) {
    const blocks = m.role === 'user' ? m.content.flatMap(userBlock) : m.content.flatMap(assistantBlock);
    if (blocks.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === m.role && Array.isArray(last.content)) {
      (last.content as Array<UserBlock | AssistantBlock>).push(...blocks);
    } else {
      out.push({ role: m.role, content: blocks } as MessageParam);
    }
  }
  return out;
}

function userBlock(b: ContentBlock): UserBlock[] {
  if (b.type === 'text') return b.text === '' ? [] : [{ type: 'text', text: b.text }];
  if (b.type === 'tool_result') {
    return [{ type: 'tool_result', tool_use_id: b.toolUseId, content: b.content, ...(b.isError ? { is_error: true } : {}) }];
  }
  return [];
}

function assistantBlock(b: ContentBlock): AssistantBlock[] {
  if (b.type === 'text') return b.text === '' ? [] : [{ type: 'text', text: b.text }];
  if (b.type === 'tool_use') return [{ type: 'tool_use', id: b.id, name: b.name, input: isPlainObject(b.input) ? b.input : {} }];
  return [];
}

export function normaliseAnthropicStop(raw: string | null): StopReason {
  switch (raw) {
    case 'end_turn':
    case 'tool_use':
    case 'max_tokens':
    case 'stop_sequence':
    case 'refusal':
      return raw;
    default:
      return 'other';
  }
}

type Building = { kind: 'text'; text: string } | { kind: 'tool'; id: string; name: string; json: string; done: boolean };

async function* consume(stream: AsyncIterable<RawMessageStreamEvent>, signal?: AbortSignal): AsyncGenerator<ProviderEvent> {
  const blocks = new Map<number, Building>();
  const usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  let rawStop: string | null = null;
  let stopped = false;
  try {
    for await (const ev of stream) {
      // Every event but a ping is meaningful for the idle timeout (deadline.ts).
      if ((ev.type as string) !== 'ping') yield { type: 'progress' };
      switch (ev.type) {
        case 'message_start': {
          const u = usageObject('anthropic', 'message_start.usage', (ev.message as { usage?: unknown } | undefined)?.usage);
          if (u) {
            usage.inputTokens = tokenCount('anthropic', 'input_tokens', u.input_tokens, 0);
            usage.outputTokens = tokenCount('anthropic', 'output_tokens', u.output_tokens, 0);
            usage.cacheReadTokens = tokenCount('anthropic', 'cache_read_input_tokens', u.cache_read_input_tokens, 0);
            usage.cacheWriteTokens = tokenCount('anthropic', 'cache_creation_input_tokens', u.cache_creation_input_tokens, 0);
          }
          break;
        }
        case 'content_block_start': {
          const cb = ev.content_block;
          if (cb.type === 'text') {
            blocks.set(ev.index, { kind: 'text', text: cb.text });
            if (cb.text) yield { type: 'text_delta', text: cb.text };
          } else if (cb.type === 'tool_use') {
            const initial = isPlainObject(cb.input) && Object.keys(cb.input).length ? JSON.stringify(cb.input) : '';
            blocks.set(ev.index, { kind: 'tool', id: cb.id, name: cb.name, json: initial, done: false });
          }
          break;
        }
        case 'content_block_delta': {
          const b = blocks.get(ev.index);
          const d = ev.delta;
          if (d.type === 'text_delta' && b?.kind === 'text') {
            b.text += d.text;
            yield { type: 'text_delta', text: d.text };
          } else if (d.type === 'input_json_delta' && b?.kind === 'tool') {
            b.json += d.partial_json;
          }
          break;
        }
        case 'content_block_stop': {
          const b = blocks.get(ev.index);
          if (b?.kind === 'tool') {
            b.done = true;
            yield { type: 'tool_call', call: toolUseFromArguments(b.id, b.name, b.json) };
          }
          break;
        }
        case 'message_delta': {
          rawStop = ev.delta.stop_reason ?? rawStop;
          const u = usageObject('anthropic', 'message_delta.usage', (ev as { usage?: unknown }).usage);
          if (u) {
            usage.inputTokens = tokenCount('anthropic', 'input_tokens', u.input_tokens, usage.inputTokens);
            usage.outputTokens = tokenCount('anthropic', 'output_tokens', u.output_tokens, usage.outputTokens);
            usage.cacheReadTokens = tokenCount('anthropic', 'cache_read_input_tokens', u.cache_read_input_tokens, usage.cacheReadTokens);
            usage.cacheWriteTokens = tokenCount('anthropic', 'cache_creation_input_tokens', u.cache_creation_input_tokens, usage.cacheWriteTokens);
          }
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        default:
          break;
      }
    }
  } catch (e) {
    throw classifyStreamError('anthropic', errorClasses(), e, signal);
  }
  // The SDK ends the iteration quietly when the request is aborted.
  if (signal?.aborted) throw abortError();
  if (!stopped) throw endedEarly('anthropic', 'message_stop event');
  const content: ContentBlock[] = [];
  for (const index of [...blocks.keys()].sort((a, b) => a - b)) {
    const b = blocks.get(index)!;
    if (b.kind === 'text') {
      if (b.text !== '') content.push({ type: 'text', text: b.text });
    } else {
      if (!b.done) throw endedEarly('anthropic', `content_block_stop for tool call ${b.id}`);
      content.push(toolUseFromArguments(b.id, b.name, b.json));
    }
  }
  const stopReason = normaliseAnthropicStop(rawStop);
  yield { type: 'usage', usage: { ...usage } };
  yield { type: 'stop', reason: stopReason, raw: rawStop };
  yield { type: 'message', message: { role: 'assistant', content }, usage: { ...usage }, stopReason, rawStopReason: rawStop };
}
