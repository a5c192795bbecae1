/**
 * OpenAI chat completions (streaming): OpenAI itself, Gemini's OpenAI-compatible endpoint and local
 * servers (Ollama, llama.cpp, vLLM, LM Studio). Tool calls arrive split over chunks by `index`:
 * the id and name first, then argument fragments.
 */
import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions/completions';
import { ProviderError, abortError } from '../errors.js';
import type { ContentBlock, Message, StopReason, ToolSpec, ToolUseBlock, Usage } from '../types.js';
import { costOf, priceOf, type Price } from './pricing.js';
import { withRetries, type AttemptFailure } from './retry.js';
import { classifyOpenError, classifyStreamError, endedEarly, lazySdk } from './sdk-errors.js';
import { toolUseFromArguments } from './tool-input.js';
import { tokenCount, usageObject } from './usage.js';
import type { Provider, ProviderEvent, ProviderRequest, RetryOptions } from './types.js';

export interface OpenAIProviderOptions {
  /** Provider id shown to users: openai, gemini, ollama, local… */
  id: string;
  model: string;
  apiKey: string;
  baseURL?: string;
  /** Vendor for the price table (`openai`, `gemini`), or null for local servers. */
  priceVendor: string | null;
  retry?: RetryOptions;
  timeoutMs?: number;
  maxTokens?: number;
  /** Ask for the usage chunk (`stream_options.include_usage`); default true. */
  includeUsage?: boolean;
  /** Send the cap as `max_completion_tokens` (OpenAI) rather than `max_tokens` (everyone else). */
  maxCompletionTokens?: boolean;
  /** Prices from the config file, over the built-in table (keyed `id/model` for local servers). */
  prices?: Readonly<Record<string, Price>>;
}

/** How to start each local server, for a connection error that names the URL tried. */
const START_HINTS: Readonly<Record<string, string>> = Object.freeze({
  ollama: 'start it with `ollama serve` (and `ollama pull MODEL`)',
  llamacpp: 'start it with `llama-server -m MODEL.gguf --port 8080`',
  lmstudio: "start LM Studio's server (`lms server start`)",
  vllm: 'start it with `vllm serve MODEL`',
  local: 'start your OpenAI-compatible server, or pass its address with --base-url',
});

/** A connection error says which URL was tried and, for a local server, how to start one. */
function withServerHint(f: AttemptFailure, vendor: string, baseURL: string): AttemptFailure {
  if (f.error.kind !== 'connection') return f;
  const hint = START_HINTS[vendor] ?? 'check the address (--base-url) and your network';
  f.error.message = `${f.error.message} (tried ${baseURL}; ${hint})`;
  return f;
}

const { sdk, errorClasses } = lazySdk<typeof OpenAI>('openai');

export class OpenAIProvider implements Provider {
  readonly id: string;
  readonly model: string;
  private readonly client: OpenAI;
  private readonly price: Price | null;

  constructor(private readonly opts: OpenAIProviderOptions) {
    this.id = opts.id;
    this.model = opts.model;
    this.client = new (sdk())({
      apiKey: opts.apiKey,
      ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
      maxRetries: 0,
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    });
    this.price = priceOf(opts.priceVendor ?? opts.id, opts.model, opts.prices);
  }

  cost(usage: Usage): number | null {
    return costOf(this.price, usage);
  }

  stream(req: ProviderRequest): AsyncIterable<ProviderEvent> {
    const maxTokens = req.maxTokens ?? this.opts.maxTokens;
    const body: ChatCompletionCreateParamsStreaming = {
      model: this.model,
      messages: toOpenAIMessages(req.messages, req.system),
      stream: true,
      ...(this.opts.includeUsage === false ? {} : { stream_options: { include_usage: true } }),
      ...(req.tools.length ? { tools: req.tools.map(toOpenAITool) } : {}),
      ...(maxTokens === undefined ? {} : this.opts.maxCompletionTokens ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens }),
    };
    const signal = req.signal;
    const vendor = this.id;
    return withRetries(
      () => this.client.chat.completions.create(body, signal ? { signal } : {}),
      (e) => withServerHint(classifyOpenError(vendor, errorClasses(), e, signal), vendor, this.client.baseURL),
      (stream) => consume(vendor, stream, signal),
      { ...this.opts.retry, ...(signal ? { signal } : {}) },
    );
  }
}

export function toOpenAITool(t: ToolSpec): ChatCompletionFunctionTool {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } };
}

/**
 * Neutral messages → chat messages. A user message's tool results become `role: "tool"` messages,
 * in order, before any text of that message; an error result's content starts with "Error: ".
 * Arguments that were not valid JSON are sent back as `{}` (the error result quotes them).
 */
export function toOpenAIMessages(messages: Message[], system?: string): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (system) out.push({ role: 'system', content: system });
  for (const m of messages) {
    if (m.role === 'user') {
      const texts: string[] = [];
      for (const b of m.content) {
        if (b.type === 'tool_result') {
          out.push({ role: 'tool', tool_call_id: b.toolUseId, content: b.isError ? errorText(b.content) : b.content });
        } else if (b.type === 'text' && b.text !== '') {
          texts.push(b.text);
        }
      }
      if (texts.length) out.push({ role: 'user', content: texts.join('\n\n') });
    } else {
      const text = m.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('');
      const calls = m.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
      if (!text && !calls.length) continue;
      out.push({
        role: 'assistant',
        content: text || (calls.length ? null : ''),
        ...(calls.length
          ? {
              tool_calls: calls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.inputError ? '{}' : JSON.stringify(c.input ?? {}) },
              })),
            }
          : {}),
      });
    }
  }
  return out;
}

function errorText(content: string): string {
  return content.startsWith('Error:') ? content : `Error: ${content}`;
}

export function normaliseOpenAIStop(raw: string | null): StopReason {
  switch (raw) {
    case 'stop':
      return 'end_turn';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    default:
      return 'other';
  }
}

interface BuildingCall {
  id: string;
  name: string;
  args: string;
}

async function* consume(vendor: string, stream: AsyncIterable<ChatCompletionChunk>, signal?: AbortSignal): AsyncGenerator<ProviderEvent> {
  const calls: BuildingCall[] = [];
  const byIndex = new Map<number, BuildingCall>();
  let text = '';
  let finish: string | null = null;
  const usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  try {
    for await (const chunk of stream) {
      const u = usageObject(vendor, 'usage', (chunk as { usage?: unknown }).usage);
      if (u) {
        const details = usageObject(vendor, 'usage.prompt_tokens_details', u.prompt_tokens_details);
        const cached = tokenCount(vendor, 'prompt_tokens_details.cached_tokens', details?.cached_tokens, 0);
        const prompt = tokenCount(vendor, 'prompt_tokens', u.prompt_tokens, 0);
        // Cached tokens are part of prompt_tokens: more cached than prompt is nonsense, not a discount.
        if (cached > prompt) {
          throw new ProviderError('protocol', `${vendor} sent a usage figure that is not a token count: cached_tokens ${cached} > prompt_tokens ${prompt}`);
        }
        usage.inputTokens = prompt - cached;
        usage.cacheReadTokens = cached;
        usage.outputTokens = tokenCount(vendor, 'completion_tokens', u.completion_tokens, 0);
      }
      const choice = chunk.choices?.[0];
      // A chunk with an empty delta and no finish is a keep-alive, not progress (deadline.ts).
      if (u || choice?.finish_reason || (choice?.delta && Object.entries(choice.delta).some(([k, v]) => k !== 'role' && v !== '' && v !== null && v !== undefined))) yield { type: 'progress' };
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') {
        text += delta.content;
        yield { type: 'text_delta', text: delta.content };
      }
      for (const tc of delta.tool_calls ?? []) {
        // Some local servers omit `index` or reuse 0 for every call; a new id then means a new call.
        const index = typeof tc.index === 'number' ? tc.index : calls.length;
        let entry = byIndex.get(index);
        if (!entry || (tc.id && entry.id && tc.id !== entry.id)) {
          entry = { id: tc.id ?? '', name: '', args: '' };
          calls.push(entry);
          byIndex.set(index, entry);
        }
        if (tc.id && !entry.id) entry.id = tc.id;
        if (tc.function?.name) entry.name = entry.name || tc.function.name;
        if (tc.function?.arguments) entry.args += tc.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  } catch (e) {
    throw classifyStreamError(vendor, errorClasses(), e, signal);
  }
  // The SDK ends the iteration quietly when the request is aborted.
  if (signal?.aborted) throw abortError();
  if (finish === null) throw endedEarly(vendor, 'finish_reason');
  const content: ContentBlock[] = [];
  if (text) content.push({ type: 'text', text });
  for (const c of calls) {
    // A server that sends no id still needs a unique one: results are matched (and audited) by it.
    const block = toolUseFromArguments(c.id || `call_${randomUUID().slice(0, 12)}`, c.name, c.args);
    if (!c.name) block.inputError = `tool call ${block.id} has no tool name`;
    content.push(block);
  }
  for (const b of content) if (b.type === 'tool_use') yield { type: 'tool_call', call: b };
  const stopReason = normaliseOpenAIStop(finish);
  yield { type: 'usage', usage: { ...usage } };
  yield { type: 'stop', reason: stopReason, raw: finish };
  yield { type: 'message', message: { role: 'assistant', content }, usage: { ...usage }, stopReason, rawStopReason: finish };
}
