/**
 * Output of one-shot runs: `text` (live text on stdout, tool activity on stderr), `json` (one
 * result object at the end) and `stream-json` (one JSON object per line, close to Claude Code's
 * `--output-format stream-json` so tools written for it can read it).
 *
 * stream-json lines, in order:
 *   {"type":"system","subtype":"init", session_id, model, tools, policy, policy_hash, permissionMode, cwd, instructions}
 *   {"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":…}}}
 *   {"type":"assistant","message":{role, model, content:[text|tool_use blocks], stop_reason, usage}}
 *   {"type":"tool_use", tool_use_id, name, input, decision, rule, reason, status, audit_id, duration_ms}  (one per call, once decided and run)
 *   {"type":"user","message":{"role":"user","content":[{"type":"tool_result", tool_use_id, content, is_error}]}}
 *   {"type":"system","subtype":"api_retry", attempt, delay_ms, error, status}
 *   {"type":"result", subtype, is_error, result, num_turns, usage, total_cost_usd, session_id, duration_ms, stop_reason, permission_denials}
 * Every line carries `session_id`.
 */
import type { AgentEvent, RunResult } from './loop.js';
import { editDiff, firstLines, formatDuration, painter, verdictHue, type Hue } from './text-style.js';
import type { ContentBlock, Usage } from './types.js';
import { terminalSafe, terminalSafeLine } from '../terminal-safe.js';

export type OutputFormat = 'text' | 'json' | 'stream-json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'stream-json'];

export interface InitInfo {
  sessionId: string;
  model: string;
  tools: string[];
  policy: string;
  policyHash: string | null;
  permissionMode: string;
  cwd: string;
  resumed: boolean;
  /** Project instruction files (AGENTS.md, CLAUDE.md) added to the system prompt, root-most first. */
  instructions?: string[];
}

export function usageJson(u: Usage): Record<string, number> {
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_read_input_tokens: u.cacheReadTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
  };
}

/** Blocks the way Anthropic (and Claude Code's stream-json) spell them. */
export function blocksJson(content: ContentBlock[]): Array<Record<string, unknown>> {
  return content.map((b) => {
    if (b.type === 'text') return { type: 'text', text: b.text };
    if (b.type === 'tool_use') return { type: 'tool_use', id: b.id, name: b.name, input: b.input, ...(b.inputError ? { input_error: b.inputError } : {}) };
    return { type: 'tool_result', tool_use_id: b.toolUseId, content: b.content, is_error: b.isError };
  });
}

export function initJson(init: InitInfo): Record<string, unknown> {
  return {
    type: 'system',
    subtype: 'init',
    session_id: init.sessionId,
    cwd: init.cwd,
    model: init.model,
    tools: init.tools,
    policy: init.policy,
    policy_hash: init.policyHash,
    permissionMode: init.permissionMode,
    resumed: init.resumed,
    instructions: init.instructions ?? [],
  };
}

export function resultJson(r: RunResult): Record<string, unknown> {
  return {
    type: 'result',
    subtype: r.subtype,
    is_error: r.isError,
    duration_ms: r.durationMs,
    num_turns: r.numTurns,
    result: r.result,
    session_id: r.sessionId,
    total_cost_usd: r.totalCostUsd,
    usage: usageJson(r.usage),
    stop_reason: r.stopReason,
    permission_denials: r.denials.map((d) => ({ tool_name: d.toolName, tool_use_id: d.toolUseId, tool_input: d.toolInput, reason: d.reason })),
    ...(r.aborted ? { aborted: true } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.errorKind !== undefined ? { error_kind: r.errorKind } : {}),
  };
}

/** stream-json: the loop's events as JSON lines. */
export function streamJsonLines(event: AgentEvent, sessionId: string, model: string): Array<Record<string, unknown>> {
  const sid = { session_id: sessionId };
  switch (event.type) {
    case 'text_delta':
      return [
        {
          type: 'stream_event',
          event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: event.text } },
          parent_tool_use_id: null,
          ...sid,
        },
      ];
    case 'assistant_message':
      return [
        {
          type: 'assistant',
          message: {
            ...(event.messageId !== null ? { id: `msg_${event.messageId}` } : {}),
            type: 'message',
            role: 'assistant',
            model,
            content: blocksJson(event.message.content),
            stop_reason: event.stopReason,
            usage: usageJson(event.usage),
          },
          cost_usd: event.costUsd,
          parent_tool_use_id: null,
          ...sid,
        },
      ];
    case 'tool_result': {
      const r = event.result;
      return [
        {
          type: 'tool_use',
          tool_use_id: event.call.id,
          name: event.call.name,
          input: event.call.input,
          decision: r?.decision ?? null,
          rule: r?.rule ?? null,
          reason: r?.reason ?? event.block.content,
          status: r?.status ?? 'error',
          audit_id: r?.auditId ?? null,
          duration_ms: r ? Math.round(r.durationMs) : null,
          ...sid,
        },
      ];
    }
    case 'user_message':
      if (event.origin === 'prompt') return [];
      return [{ type: 'user', message: { role: 'user', content: blocksJson(event.message.content) }, parent_tool_use_id: null, ...sid }];
    case 'retry':
      return [
        {
          type: 'system',
          subtype: 'api_retry',
          attempt: event.attempt,
          delay_ms: event.delayMs,
          error: event.reason,
          ...(event.status !== undefined ? { status: event.status } : {}),
          ...sid,
        },
      ];
    case 'result':
      return [resultJson(event.result)];
    default:
      return [];
  }
}

export interface TextWriters {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Colour the activity lines (decisions, outcomes, diffs); the caller decides (useColor). */
  color?: boolean;
  /** A scripted provider: the summary says "no model" instead of token counts and cost. */
  scripted?: boolean;
  /** Lines of a command's output or an error shown under its call (default 10). */
  maxLines?: number;
}

function brief(input: unknown, max = 100): string {
  const s = JSON.stringify(input) ?? '';
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function formatCost(cost: number | null): string {
  return cost === null ? 'cost unknown' : `$${cost.toFixed(4)}`;
}

/** text: assistant text streams to stdout; tool calls, their decisions and the summary go to stderr. */
export function textOutput(raw: TextWriters): (event: AgentEvent) => void {
  // Model text, tool names, inputs and results are untrusted: escapes are shown, never sent raw. The
  // activity lines on stderr are sanitised piece by piece (see safe() below) so that icode's own colours
  // survive; assistant text on stdout is sanitised whole. A high surrogate at the end of a delta waits for
  // its pair in the next one.
  let held = '';
  const w: TextWriters = {
    ...raw,
    out: (s) => {
      let t = held + s;
      held = '';
      const last = t.charCodeAt(t.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        held = t.slice(-1);
        t = t.slice(0, -1);
      }
      raw.out(terminalSafe(t));
    },
    err: (s) => {
      if (held) raw.out(terminalSafe(held));
      held = '';
      raw.err(s);
    },
  };
  const safe = terminalSafe;
  const paint = painter(w.color === true);
  const maxLines = w.maxLines ?? 10;
  /** Indented lines under a call, at most maxLines, with a note of what was left out. */
  const block = (text: string, hue?: Hue): void => {
    const { lines, more } = firstLines(text, maxLines);
    for (const l of lines.map(safe)) w.err(`    ${hue ? paint(hue, l) : l}\n`);
    if (more) w.err(`    ${paint('grey', `… ${more} more line${more === 1 ? '' : 's'}`)}\n`);
  };
  let midLine = false;
  const endLine = (): void => {
    if (midLine) w.out('\n');
    midLine = false;
  };
  return (event) => {
    switch (event.type) {
      case 'text_delta':
        w.out(event.text);
        midLine = !event.text.endsWith('\n');
        break;
      case 'assistant_message':
        endLine();
        break;
      case 'user_message':
        if (event.origin === 'stop_hook') {
          endLine();
          const text = event.message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
          w.err(`  ${paint('yellow', '↺')} stop refused by a hook:\n`);
          for (const l of text.replace(/\n+$/, '').split('\n')) w.err(`    ${safe(l)}\n`);
        }
        break;
      case 'tool_result': {
        endLine();
        const r = event.result;
        const exit = r && r.exitCode !== undefined && r.exitCode !== null && r.exitCode !== 0 ? ` · exit ${r.exitCode}` : '';
        const took = r ? ` · ${formatDuration(r.durationMs)}` : '';
        const verdict = r
          ? `${paint(verdictHue(r.decision), r.decision)}${r.rule ? ` (${terminalSafeLine(r.rule)})` : ''} → ${paint(verdictHue(r.status), r.status)}${exit}${took}`
          : paint('red', 'not run');
        const args = terminalSafeLine(event.call.inputError ? (event.call.rawInput ?? '') : brief(event.call.input));
        w.err(`  ${paint(r?.status === 'ok' ? 'green' : 'red', '⏺')} ${paint('bold', terminalSafeLine(event.call.name))} ${args.length > 100 ? args.slice(0, 99) + '…' : args}  [${verdict}]\n`);
        const input = (event.call.input ?? {}) as Record<string, unknown>;
        if (event.block.isError) block(event.block.content, 'red');
        else if (r?.tool === 'edit' && typeof input.old_string === 'string' && typeof input.new_string === 'string') {
          for (const l of editDiff(String(input.path ?? ''), input.old_string, input.new_string, maxLines * 2)) {
            const hue: Hue | undefined = l.startsWith('+++') || l.startsWith('---') ? 'bold' : l.startsWith('@@') ? 'cyan' : l.startsWith('+') ? 'green' : l.startsWith('-') ? 'red' : undefined;
            w.err(`    ${hue ? paint(hue, safe(l)) : safe(l)}\n`);
          }
        } else if (r?.tool === 'shell' || r?.tool === 'web_fetch') block(event.block.content, 'grey');
        break;
      }
      case 'retry':
        w.err(`  … ${safe(event.reason)}; retrying in ${Math.ceil(event.delayMs / 1000)} s (attempt ${event.attempt + 1})\n`);
        break;
      case 'result': {
        endLine();
        const r = event.result;
        const status = r.isError ? paint('red', `${r.subtype}${r.error ? `: ${safe(r.error)}` : ''}`) : paint('green', 'done');
        const tokens = r.usage.inputTokens + r.usage.cacheReadTokens + r.usage.cacheWriteTokens;
        const usage = w.scripted ? 'no model (scripted)' : `${tokens} in / ${r.usage.outputTokens} out tokens · ${formatCost(r.totalCostUsd)}`;
        w.err(
          `── ${status} · ${r.numTurns} turn${r.numTurns === 1 ? '' : 's'} · ${r.toolCalls} tool call${r.toolCalls === 1 ? '' : 's'} · ` +
            `${usage} · ${formatDuration(r.durationMs)}${r.sessionId ? ` · session ${r.sessionId}` : ''}\n`,
        );
        break;
      }
      default:
        break;
    }
  };
}

/** Exit code of a finished run: 0 success, 130 cancelled, 1 anything else (failure or limit). */
export function exitCodeFor(r: RunResult): number {
  if (r.aborted) return 130;
  return r.isError ? 1 : 0;
}
