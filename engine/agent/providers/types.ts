/** The one streaming interface every model provider implements. */
import type { Message, StopReason, ToolSpec, ToolUseBlock, Usage } from '../types.js';

export interface ProviderRequest {
  system?: string;
  /** The whole conversation so far, oldest first. */
  messages: Message[];
  tools: ToolSpec[];
  /** Output token cap of this call. */
  maxTokens?: number;
  signal?: AbortSignal;
}

/** Normalised streaming events; a successful stream always ends with exactly one `message` event. */
export type ProviderEvent =
  | { type: 'text_delta'; text: string }
  /** A tool call whose arguments are complete (possibly malformed: see `ToolUseBlock.inputError`). */
  | { type: 'tool_call'; call: ToolUseBlock }
  | { type: 'usage'; usage: Usage }
  /** Something meaningful arrived that has no event of its own (tool-call argument deltas): resets the idle timer. */
  | { type: 'progress' }
  | { type: 'stop'; reason: StopReason; raw: string | null }
  /** The request failed with a retryable error and will be sent again after `delayMs`. */
  | { type: 'retry'; attempt: number; delayMs: number; reason: string; status?: number }
  /** The final assistant message of this call. */
  | { type: 'message'; message: Message; usage: Usage; stopReason: StopReason; rawStopReason: string | null };

export interface Provider {
  /** Provider id: anthropic, openai, gemini, ollama, local, script… */
  readonly id: string;
  /** Model name as sent to the API. */
  readonly model: string;
  /** Price of a call's usage in USD, or null when the model's prices are unknown. */
  cost(usage: Usage): number | null;
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
}

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** First backoff delay (default 1000 ms); doubled per retry. */
  baseDelayMs?: number;
  /** Backoff cap (default 30 s). */
  maxDelayMs?: number;
  /** A `retry-after` longer than this is not waited for: the error is reported (default 120 s). */
  maxRetryAfterMs?: number;
  /** Injected for tests: how to wait (default: an abortable timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}
