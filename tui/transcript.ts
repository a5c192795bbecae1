/**
 * The message stream as the TUI shows it, built from the engine's AgentEvents (the same events
 * `stream-json` prints): user turns, streamed assistant text rendered as markdown, one compact line per
 * tool call with its decision badge and outcome, an expandable result, hook context where it happened.
 * Pure: it produces tagged text; the app puts it on the screen.
 */
import type { AgentEvent } from '../engine/agent/loop.js';
import type { ToolCallResult } from '../engine/pipeline-types.js';
import { badge, colourDiff, editDiff, formatMs, oneLine, plain, renderMarkdown, shortInput, type Badge } from './text.js';

interface ToolEntry {
  kind: 'tool';
  id: string;
  name: string;
  input: unknown;
  result: ToolCallResult | null;
  /** Text the model was given (output, error or denial). */
  text: string;
  done: boolean;
  /** Nesting depth (sub-agent calls under their `task`). */
  depth: number;
}

type Entry =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'note'; text: string; colour: string }
  | ToolEntry;


export class Transcript {
  private readonly entries: Entry[] = [];
  private readonly tools = new Map<string, ToolEntry>();
  private streaming: { kind: 'assistant'; text: string } | null = null;
  /** Ctrl-O: show every tool result expanded. */
  expanded = false;
  /** Bumped on every change, so the app re-renders only when something changed. */
  version = 0;

  note(text: string, colour = 'gray'): void {
    this.entries.push({ kind: 'note', text, colour });
    this.version++;
  }

  user(text: string): void {
    this.entries.push({ kind: 'user', text });
    this.version++;
  }

  clear(): void {
    this.entries.length = 0;
    this.tools.clear();
    this.streaming = null;
    this.version++;
  }

  /** Apply one engine event. */
  apply(e: AgentEvent): void {
    switch (e.type) {
      case 'text_delta':
        if (!this.streaming) {
          this.streaming = { kind: 'assistant', text: '' };
          this.entries.push(this.streaming);
        }
        this.streaming.text += e.text;
        break;
      case 'tool_use': {
        this.streaming = null;
        const depth = depthOf(e as { agent?: unknown });
        const entry: ToolEntry = { kind: 'tool', id: e.call.id, name: e.call.name, input: e.call.input, result: null, text: '', done: false, depth };
        this.tools.set(e.call.id, entry);
        this.entries.push(entry);
        break;
      }
      case 'tool_result': {
        let entry = this.tools.get(e.call.id);
        if (!entry) {
          entry = { kind: 'tool', id: e.call.id, name: e.call.name, input: e.call.input, result: null, text: '', done: false, depth: depthOf(e as { agent?: unknown }) };
          this.tools.set(e.call.id, entry);
          this.entries.push(entry);
        }
        entry.result = e.result;
        entry.done = true;
        entry.text = typeof e.block.content === 'string' ? e.block.content : JSON.stringify(e.block.content);
        for (const c of e.result?.context ?? []) this.entries.push({ kind: 'note', text: `hook: ${c}`, colour: 'magenta' });
        break;
      }
      case 'assistant_message':
        this.streaming = null;
        break;
      case 'retry':
        this.entries.push({ kind: 'note', text: `retrying the model call (attempt ${e.attempt}): ${e.reason}`, colour: 'yellow' });
        break;
      case 'user_message':
        if (e.origin === 'stop_hook') this.entries.push({ kind: 'note', text: `stop hook: ${textOfMessage(e.message)}`, colour: 'magenta' });
        break;
      case 'result': {
        const r = e.result;
        if (r.isError) this.entries.push({ kind: 'note', text: r.aborted ? 'interrupted' : `run ended: ${r.subtype}${r.error ? ` — ${r.error}` : ''}`, colour: 'red' });
        break;
      }
      default:
        break;
    }
    this.version++;
  }

  /** The whole stream as tagged text for a box `width` columns wide. */
  render(width: number): string {
    const out: string[] = [];
    for (const entry of this.entries) {
      switch (entry.kind) {
        case 'user':
          out.push('', `{bold}{blue-fg}❯{/blue-fg} ${plain(entry.text).replace(/\n/g, '\n  ')}{/bold}`);
          break;
        case 'assistant':
          out.push('', renderMarkdown(entry.text));
          break;
        case 'note':
          out.push(`{${entry.colour}-fg}${plain(entry.text)}{/${entry.colour}-fg}`);
          break;
        case 'tool':
          out.push(...this.toolLines(entry, width));
          break;
      }
    }
    return out.join('\n');
  }

  private toolLines(t: ToolEntry, width: number): string[] {
    const pad = '  '.repeat(t.depth);
    const r = t.result;
    const decision = (r?.decision ?? null) as Badge | null;
    let status = '{gray-fg}…{/gray-fg}';
    if (t.done) {
      if (!r) status = '{red-fg}✗ not run{/red-fg}';
      else if (r.status === 'ok') status = `{green-fg}✓{/green-fg} ${formatMs(r.durationMs)}`;
      else if (r.status === 'denied') status = '{red-fg}✗ refused{/red-fg}';
      else status = `{red-fg}✗ error${r.exitCode != null ? ` (exit ${r.exitCode})` : ''}{/red-fg}`;
    }
    const approved = decision === 'ask' && r ? r.status !== 'denied' : undefined;
    const head = [
      `${pad}{bold}●{/bold} {bold}${plain(t.name)}{/bold}`,
      plain(shortInput(t.name, t.input, Math.max(20, width - 40 - pad.length))),
      decision ? badge(decision, approved) : '',
      r?.rule ? `{gray-fg}${plain(r.rule)}{/gray-fg}` : '',
      status,
    ]
      .filter(Boolean)
      .join(' ');
    const lines = [head];
    const input = (t.input && typeof t.input === 'object' ? t.input : {}) as Record<string, unknown>;
    if (t.name === 'edit' && typeof input.old_string === 'string' && typeof input.new_string === 'string') {
      lines.push(indent(colourDiff(editDiff(String(input.path ?? ''), input.old_string, input.new_string)), pad + '  '));
    }
    if (t.done && t.text) {
      const all = t.text.split('\n');
      const show = this.expanded || r?.status !== 'ok' ? all.slice(0, this.expanded ? 200 : 4) : [];
      for (const l of show) lines.push(`${pad}  {gray-fg}│{/gray-fg} ${plain(oneLine(l, width - 6 - pad.length) || ' ')}`);
      if (show.length < all.length) lines.push(`${pad}  {gray-fg}│ … ${all.length - show.length} more line(s) — Ctrl-O expands{/gray-fg}`);
    }
    return lines;
  }

  /** Text of the last tool result or assistant message (for "copy the last result"). */
  lastResult(): string {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.kind === 'tool' && e.done) return e.text;
      if (e.kind === 'assistant') return e.text;
    }
    return '';
  }
}

/** Depth of a call from an event that names its agent (sub-agent events carry `agent`/`depth`). */
function depthOf(e: { agent?: unknown; depth?: unknown }): number {
  if (typeof e.depth === 'number' && Number.isInteger(e.depth)) return Math.min(6, Math.max(0, e.depth));
  return typeof e.agent === 'string' && e.agent !== 'main' ? 1 : 0;
}

function textOfMessage(m: { content: Array<{ type: string; text?: string }> }): string {
  return m.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('\n');
}

function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

