/**
 * Provider-neutral conversation model of the agent runtime.
 *
 * A conversation is a list of user/assistant messages made of blocks, close to Anthropic's shape:
 * tool calls are `tool_use` blocks of an assistant message and their results are `tool_result`
 * blocks of the next user message, in the same order. Providers translate to and from their wire
 * formats (Anthropic blocks, OpenAI `tool_calls` + `role: "tool"` messages).
 */
import type { Decision } from '../../policies/types.js';
import type { CallStatus } from '../pipeline-types.js';

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  /** The provider's tool-call id. */
  id: string;
  name: string;
  /** Parsed arguments (an object), or `{}` when the model sent arguments that are not valid JSON. */
  input: unknown;
  /** The arguments exactly as streamed, kept when they did not parse (see `inputError`). */
  rawInput?: string;
  /** Why the arguments could not be used; such a call is never run and gets an error result. */
  inputError?: string;
}

export interface ToolResultBlock {
  type: 'tool_result';
  toolUseId: string;
  /** Text for the model: the tool output, or the error/denial message. */
  content: string;
  isError: boolean;
  /** What became of the call (absent on results made up by the loop for calls that never ran). */
  status?: CallStatus;
  decision?: Decision;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

export type Role = 'user' | 'assistant';

export interface Message {
  role: Role;
  content: ContentBlock[];
}

/** A tool as offered to the model. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the input object. */
  inputSchema: Record<string, unknown>;
}

/**
 * Token counts of one model call. `inputTokens` excludes cached tokens: the prompt's total is
 * inputTokens + cacheReadTokens + cacheWriteTokens.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

export function totalTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
}

/** Why the model stopped, normalised over providers. */
export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'refusal' | 'other';

export function textOf(message: Message): string {
  return message.content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');
}

export function toolUsesOf(message: Message): ToolUseBlock[] {
  return message.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
}
