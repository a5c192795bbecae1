/**
 * Hook events of other agents, read into one shape. Formats, from the agents' own documentation:
 *
 * - Claude Code (https://code.claude.com/docs/en/hooks, "Hooks reference"): stdin is one JSON object
 *   with `session_id`, `transcript_path`, `cwd`, `hook_event_name` and, for PreToolUse / PostToolUse,
 *   `tool_name`, `tool_input`, `tool_use_id` (PostToolUse adds `tool_response`). MCP tools are named
 *   `mcp__<server>__<tool>`.
 * - Gemini CLI (https://geminicli.com/docs/hooks/reference): the same base fields (`session_id`, `cwd`,
 *   `hook_event_name`, `timestamp`); BeforeTool / AfterTool carry `tool_name` and `tool_input`
 *   (AfterTool adds `tool_response`: `llmContent`, `returnDisplay`, an optional `error`); MCP tools
 *   carry `mcp_context`. There is no call id (see callBase). Its tools are `run_shell_command`, `read_file`, `write_file`,
 *   `replace`, `glob`, `grep_search` (formerly `search_file_content`), `list_directory`, `web_fetch`, MCP
 *   tools as `mcp__<server>__<tool>`; paths in `file_path` / `dir_path` (older `absolute_path` / `path`).
 *
 * Nothing here trusts the event: every field is checked, and a malformed tool event is a reason (the
 * caller denies it), never an exception.
 */
import { createHash } from 'node:crypto';

export type GuardAgent = 'claude-code' | 'gemini-cli';

export type GuardPhase = 'pre_tool' | 'post_tool' | 'prompt' | 'stop' | 'session_start' | 'other';

export interface GuardEvent {
  agent: GuardAgent;
  /** The event's own name (PreToolUse, BeforeTool, …). */
  name: string;
  phase: GuardPhase;
  session: string;
  cwd: string;
  /** tool_use_id (Claude Code). Gemini CLI sends no call id: see callBase. */
  callId?: string;
  /**
   * Gemini CLI: the stem of a call id derived from the session, tool and input (BeforeTool and its
   * AfterTool carry the same ones); run.ts numbers it per session (`STEM-1`, `STEM-2`, … for a call
   * repeated with the same input) and pairs an AfterTool with the latest such decision without outcome.
   */
  callBase?: string;
  /** The agent's tool name, as sent. */
  agentTool?: string;
  /** icode's tool name and input for the policy. */
  tool?: string;
  input?: Record<string, unknown>;
  response?: unknown;
  /** `agent` for the policy: `subagent` inside a Task. */
  role: string;
}

/** Events too large for a hook are refused (a hook payload is a tool call, not a file). */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;

const PHASES: Record<GuardAgent, Record<string, GuardPhase>> = {
  'claude-code': {
    PreToolUse: 'pre_tool',
    PostToolUse: 'post_tool',
    UserPromptSubmit: 'prompt',
    Stop: 'stop',
    SubagentStop: 'stop',
    SessionStart: 'session_start',
  },
  'gemini-cli': {
    BeforeTool: 'pre_tool',
    AfterTool: 'post_tool',
    BeforeAgent: 'prompt',
    AfterAgent: 'stop',
    SessionStart: 'session_start',
  },
};

/** The event, or why it cannot be read. `phaseGuess` says whether a broken event was a pre-tool one. */
export function parseEvent(agent: GuardAgent, text: string): GuardEvent | { malformed: string; phaseGuess: GuardPhase } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { malformed: `the hook event is not valid JSON (${(e as Error).message})`, phaseGuess: 'pre_tool' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { malformed: 'the hook event is not a JSON object', phaseGuess: 'pre_tool' };
  const o = v as Record<string, unknown>;
  const name = typeof o.hook_event_name === 'string' ? o.hook_event_name : '';
  const phase = Object.hasOwn(PHASES[agent], name) ? PHASES[agent][name] : undefined;
  if (!phase) return { malformed: `unknown hook event "${name.slice(0, 80)}"`, phaseGuess: 'pre_tool' };
  const session = nonEmpty(o.session_id);
  const cwd = nonEmpty(o.cwd);
  if (!session) return { malformed: `${name} event without a session_id`, phaseGuess: phase };
  if (!cwd) return { malformed: `${name} event without a cwd`, phaseGuess: phase };
  const ev: GuardEvent = { agent, name, phase, session, cwd, role: 'main' };
  if (phase !== 'pre_tool' && phase !== 'post_tool') return ev;
  const agentTool = nonEmpty(o.tool_name);
  if (!agentTool) return { malformed: `${name} event without a tool_name`, phaseGuess: phase };
  const rawInput = o.tool_input ?? {};
  if (rawInput === null || typeof rawInput !== 'object' || Array.isArray(rawInput)) return { malformed: `${name} event whose tool_input is not an object`, phaseGuess: phase };
  const mapped = agent === 'claude-code' ? fromClaudeCode(agentTool, rawInput as Record<string, unknown>) : fromGemini(agentTool, rawInput as Record<string, unknown>);
  ev.agentTool = agentTool;
  ev.tool = mapped.tool;
  ev.input = mapped.input;
  ev.callId = nonEmpty(o.tool_use_id) ?? nonEmpty(o.tool_call_id) ?? undefined;
  if (!ev.callId && agent === 'gemini-cli') ev.callBase = `gemini-${createHash('sha256').update(canonicalJson([session, agentTool, rawInput])).digest('hex').slice(0, 24)}`;
  if (phase === 'post_tool') ev.response = o.tool_response;
  return ev;
}

/** JSON with object keys sorted (the same input gives the same text, whatever its key order). */
function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  return '{' + Object.keys(o).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k])).join(',') + '}';
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v.length <= 4096 ? v : undefined;
}

/**
 * Claude Code's tools are icode's aliases (the registry maps Read/Write/Edit/Bash/Glob/Grep/LS/
 * WebFetch/TodoWrite and their field names, as replay does for transcripts). MultiEdit changes one
 * file: it is decided as an edit of that file (the policy decides edits by path).
 */
function fromClaudeCode(tool: string, input: Record<string, unknown>): { tool: string; input: Record<string, unknown> } {
  if (tool === 'MultiEdit') {
    const first = Array.isArray(input.edits) && input.edits[0] && typeof input.edits[0] === 'object' ? (input.edits[0] as Record<string, unknown>) : {};
    return { tool: 'Edit', input: { file_path: input.file_path, old_string: first.old_string, new_string: first.new_string } };
  }
  return { tool, input };
}

/** Gemini CLI's tools and field names → icode's. Unknown tools keep their name (the policy decides). */
function fromGemini(tool: string, input: Record<string, unknown>): { tool: string; input: Record<string, unknown> } {
  const pick = (...keys: string[]): unknown => keys.map((k) => input[k]).find((x) => x !== undefined);
  switch (tool) {
    case 'run_shell_command':
      return { tool: 'shell', input: { command: input.command } };
    case 'read_file':
      return { tool: 'read', input: { path: pick('absolute_path', 'file_path', 'path') } };
    case 'write_file':
      return { tool: 'write', input: { path: pick('file_path', 'absolute_path', 'path'), content: input.content } };
    case 'replace':
      return { tool: 'edit', input: { path: pick('file_path', 'absolute_path', 'path'), old_string: input.old_string, new_string: input.new_string } };
    case 'glob':
      return { tool: 'glob', input: { pattern: input.pattern, ...(pick('dir_path', 'path') !== undefined ? { path: pick('dir_path', 'path') } : {}) } };
    case 'search_file_content': // the legacy name of grep_search
    case 'grep_search':
      return { tool: 'grep', input: { pattern: input.pattern, ...(pick('dir_path', 'path') !== undefined ? { path: pick('dir_path', 'path') } : {}) } };
    case 'list_directory':
      return { tool: 'list', input: { path: pick('path', 'dir_path') } };
    default:
      return { tool, input };
  }
}
