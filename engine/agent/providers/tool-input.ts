/** Turning streamed tool-call argument text into a tool input, without ever crashing on bad JSON. */
import type { ToolUseBlock } from '../types.js';

export function toolUseFromArguments(id: string, name: string, raw: string): ToolUseBlock {
  const block: ToolUseBlock = { type: 'tool_use', id, name, input: {} };
  if (raw.trim() === '') return block;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    block.rawInput = raw;
    block.inputError = `the arguments of tool call ${id} (${name}) are not valid JSON (${(e as Error).message}); they were: ${excerpt(raw)}`;
    return block;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    block.rawInput = raw;
    block.inputError = `the arguments of tool call ${id} (${name}) must be a JSON object; they were: ${excerpt(raw)}`;
    return block;
  }
  block.input = parsed;
  return block;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function excerpt(raw: string, max = 300): string {
  return raw.length > max ? raw.slice(0, max) + '…' : raw;
}
