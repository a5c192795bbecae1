/**
 * Context compaction: keeps a session under its model's context window.
 *
 * Accounting: the prompt size of the next request is the provider's own figure for the previous
 * call (input + cache read + cache write + output tokens) plus an estimate (4 characters a token) of
 * the messages added since; before any call has been made, everything is estimated.
 *
 * When that reaches `threshold` (default 80 %) of the window (built-in table below, overridable with
 * `context_windows:` in the config), or on demand (`icode sessions compact ID`):
 *   1. the `pre_compact` hook fires: it may veto, or add context kept with the summary;
 *   2. old tool outputs are pruned first: every tool result before the last `keepTurns` assistant
 *      turns that is longer than PRUNE_MIN_CHARS is replaced by a stub saying what was removed;
 *   3. if still over, the model summarises the older turns with COMPACTION_PROMPT (fixed); the new
 *      view is [summary + open todos + latest file states + hook context] then the recent turns.
 * History is never deleted: the full messages stay in the store, the view is stored as a compaction
 * row at the session's head (SessionStore.addCompaction) and `sessions show --full` prints both.
 */
import { errorMessage } from './errors.js';
import type { Provider } from './providers/types.js';
import type { SessionStore } from './sessions.js';
import { textOf, type Message, type ToolResultBlock, type ToolSpec, type ToolUseBlock, type Usage } from './types.js';

export const DEFAULT_COMPACT_THRESHOLD = 0.8;
/** Tool results shorter than this are left as they are. */
export const PRUNE_MIN_CHARS = 400;
/** Recent assistant turns (and what follows them) kept verbatim. */
export const DEFAULT_KEEP_TURNS = 2;

/** The fixed instruction the model gets to summarise older turns (documented in docs/agent.md). */
export const COMPACTION_PROMPT = [
  'The conversation above is being compacted to fit your context window. Write a summary that lets you continue the task without it.',
  'Include, as short sections:',
  '1. Task: what the user asked for, with every constraint and preference they stated.',
  '2. Done so far: decisions made, commands run and what they showed, errors met and how they were fixed.',
  '3. Files: every file created, changed or deleted, with its current state (the important content, not a history).',
  '4. Open work: what remains, in order, including any unfinished todo items.',
  'Be factual and complete; do not invent anything; do not call tools. Reply with the summary only.',
].join('\n');

export const SUMMARY_HEADER = '[icode: earlier turns of this session were compacted. Summary of them:]';

/** Context windows in tokens: the first pattern that matches `provider/model` wins. */
const CONTEXT_WINDOWS: Array<[RegExp, number]> = [
  [/^anthropic\/claude-(sonnet-4|opus-4|haiku-4|3-7|3-5)/, 200_000],
  [/^anthropic\//, 200_000],
  [/^openai\/gpt-4\.1/, 1_047_576],
  [/^openai\/gpt-5/, 400_000],
  [/^openai\/(gpt-4o|gpt-4-turbo|o1|o3|o4)/, 128_000],
  [/^openai\/o[134]/, 200_000],
  [/^gemini\/gemini-(1\.5|2\.0|2\.5)/, 1_048_576],
  [/^(ollama|lmstudio|llamacpp|vllm|local)\//, 32_768],
];

/** The model's context window: config overrides (`provider/model` or bare model) first, then the table; null when unknown. */
export function contextWindowFor(provider: string, model: string, overrides: Record<string, number> = {}): number | null {
  const key = `${provider}/${model}`;
  const o = overrides[key] ?? overrides[model];
  if (o !== undefined) return o;
  for (const [re, n] of CONTEXT_WINDOWS) if (re.test(key)) return n;
  return null;
}

export function estimateTokens(messages: readonly Message[], system?: string): number {
  let chars = system?.length ?? 0;
  for (const m of messages) chars += JSON.stringify(m.content).length;
  return Math.ceil(chars / 4);
}

export interface PreCompactInfo {
  sessionId: string | null;
  trigger: 'auto' | 'manual';
  tokens: number;
}

export interface PreCompactAnswer {
  block?: boolean;
  reason?: string;
  context?: string;
}

export interface CompactionOptions {
  /** Writes the summary (usually the session's own model). */
  provider: Provider;
  /** Context window in tokens. */
  window: number;
  threshold?: number;
  keepTurns?: number;
  sessions?: SessionStore;
  onPreCompact?: (info: PreCompactInfo) => Promise<PreCompactAnswer | void>;
  /** Told what happened (CLI output, tests). */
  onCompact?: (e: CompactionEvent) => void;
  maxSummaryTokens?: number;
}

export interface CompactionEvent {
  trigger: 'auto' | 'manual';
  tokensBefore: number;
  tokensAfter: number;
  pruned: number;
  summarized: boolean;
  vetoed?: string;
  error?: string;
}

export interface RequestContext {
  sessionId: string | null;
  system?: string;
  tools: ToolSpec[];
  signal?: AbortSignal;
}

/** What the agent loop calls (two small hooks, so the loop stays unaware of how compaction works). */
export interface ContextCompaction {
  /** Before a model call: the compacted messages, or null to send them as they are. */
  beforeRequest(messages: readonly Message[], ctx: RequestContext): Promise<Message[] | null>;
  /** After a model call: its usage, and the number of messages (the reply included) it covered. */
  observe(usage: Usage, messageCount: number): void;
}

function stubFor(use: ToolUseBlock | undefined, r: ToolResultBlock): string {
  const input = use ? JSON.stringify(use.input) : '';
  const what = use ? `${use.name}(${input.length > 120 ? input.slice(0, 119) + '…' : input})` : 'a tool call';
  return `[icode compaction: the ${r.isError ? 'error output' : 'output'} of ${what} was removed (${r.content.length} characters); run the tool again if you need it]`;
}

/** Index of the k-th last assistant message (where the kept recent turns start), or -1. */
function recentStart(messages: readonly Message[], k: number): number {
  let seen = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'assistant' && ++seen === k) return i;
  }
  return -1;
}

/** Replace long tool outputs before `until` with stubs. Returns the new list and what was removed. */
export function pruneToolOutputs(messages: readonly Message[], until: number): { messages: Message[]; pruned: number; removedChars: number } {
  const uses = new Map<string, ToolUseBlock>();
  let pruned = 0;
  let removedChars = 0;
  const out = messages.map((m, i) => {
    for (const b of m.content) if (b.type === 'tool_use') uses.set(b.id, b);
    if (i >= until || m.role !== 'user') return m;
    let changed = false;
    const content = m.content.map((b) => {
      if (b.type !== 'tool_result' || b.content.length < PRUNE_MIN_CHARS || b.content.startsWith('[icode compaction:')) return b;
      const stub = stubFor(uses.get(b.toolUseId), b);
      pruned++;
      removedChars += b.content.length - stub.length;
      changed = true;
      return { ...b, content: stub };
    });
    return changed ? { ...m, content } : m;
  });
  return { messages: out, pruned, removedChars };
}

/** Open todos (from the last todo_write) and the latest written content of files, from the summarised turns. */
export function stateOf(messages: readonly Message[]): string {
  type Todo = { content?: unknown; status?: unknown };
  let todos: Todo[] | null = null;
  const files = new Map<string, string>();
  for (const m of messages) {
    for (const b of m.content) {
      if (b.type !== 'tool_use' || !b.input || typeof b.input !== 'object') continue;
      const input = b.input as Record<string, unknown>;
      if (b.name === 'todo_write' && Array.isArray(input.todos)) todos = input.todos as Todo[];
      if ((b.name === 'write' || b.name === 'Write') && typeof (input.path ?? input.file_path) === 'string' && typeof input.content === 'string') {
        const c = input.content;
        files.set(String(input.path ?? input.file_path), c.length > 2000 ? `${c.slice(0, 2000)}\n[… ${c.length - 2000} more characters]` : c);
      }
      if ((b.name === 'edit' || b.name === 'Edit') && typeof (input.path ?? input.file_path) === 'string') {
        const p = String(input.path ?? input.file_path);
        files.set(p, `${files.has(p) ? files.get(p) + '\n' : ''}[edited afterwards: read the file for its current content]`);
      }
    }
  }
  const parts: string[] = [];
  const open = ((todos ?? []) as Todo[]).filter((t) => t.status !== 'completed');
  if (open.length) parts.push(`Open todos:\n${open.map((t) => `- [${String(t.status ?? 'pending')}] ${String(t.content ?? '')}`).join('\n')}`);
  if (files.size) parts.push(`Files written in the compacted turns (latest content):\n${[...files].map(([p, c]) => `--- ${p}\n${c}`).join('\n')}`);
  return parts.join('\n\n');
}

export class Compactor implements ContextCompaction {
  private last: { tokens: number; count: number } | null = null;
  private readonly threshold: number;
  private readonly keepTurns: number;

  constructor(private readonly opts: CompactionOptions) {
    this.threshold = opts.threshold ?? DEFAULT_COMPACT_THRESHOLD;
    this.keepTurns = opts.keepTurns ?? DEFAULT_KEEP_TURNS;
  }

  get limit(): number {
    return Math.floor(this.opts.window * this.threshold);
  }

  observe(usage: Usage, messageCount: number): void {
    this.last = { tokens: usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens + usage.outputTokens, count: messageCount };
  }

  /** Tokens of a request with these messages: the last call's real figure plus an estimate of what came since. */
  tokensOf(messages: readonly Message[], system?: string): number {
    if (this.last && this.last.count <= messages.length && this.last.tokens > 0) return this.last.tokens + estimateTokens(messages.slice(this.last.count));
    return estimateTokens(messages, system);
  }

  async beforeRequest(messages: readonly Message[], ctx: RequestContext): Promise<Message[] | null> {
    const tokens = this.tokensOf(messages, ctx.system);
    if (tokens < this.limit) return null;
    return this.compact(messages, ctx, 'auto', tokens);
  }

  /** Compact now (manual: also summarises when pruning alone would do). Returns the new view, or null when nothing changed. */
  async compact(messages: readonly Message[], ctx: RequestContext, trigger: 'auto' | 'manual', tokens = this.tokensOf(messages, ctx.system), opts: { pruneOnly?: boolean } = {}): Promise<Message[] | null> {
    const report = (e: Omit<CompactionEvent, 'trigger' | 'tokensBefore'>): void => this.opts.onCompact?.({ trigger, tokensBefore: tokens, ...e });
    const hook = (await this.opts.onPreCompact?.({ sessionId: ctx.sessionId, trigger, tokens })) ?? {};
    if (hook.block) {
      report({ tokensAfter: tokens, pruned: 0, summarized: false, vetoed: hook.reason || 'vetoed by a pre_compact hook' });
      return null;
    }
    const start = recentStart(messages, this.keepTurns);
    const until = start < 0 ? messages.length : start;
    const p = pruneToolOutputs(messages, until);
    let view = p.messages;
    let after = Math.max(0, tokens - Math.ceil(p.removedChars / 4));
    let summary: string | null = null;
    const wantSummary = !opts.pruneOnly && (trigger === 'manual' || after >= this.limit);
    if (wantSummary && start > 0) {
      try {
        summary = await this.summarise(view.slice(0, start), ctx, hook.context);
        const head = [SUMMARY_HEADER, summary, stateOf(messages.slice(0, start)), hook.context ? `Context kept by a pre_compact hook:\n${hook.context}` : '']
          .filter(Boolean)
          .join('\n\n');
        view = [{ role: 'user', content: [{ type: 'text', text: head }] }, ...view.slice(start)];
        after = estimateTokens(view, ctx.system);
      } catch (e) {
        // A failed summary leaves the pruned view: the run goes on, and says why.
        report({ tokensAfter: after, pruned: p.pruned, summarized: false, error: errorMessage(e) });
        summary = null;
      }
    }
    if (!p.pruned && summary === null) return null;
    this.last = null; // the provider's last figure no longer describes this history
    const head = this.opts.sessions && ctx.sessionId ? this.opts.sessions.findSession(ctx.sessionId)?.headMessageId : null;
    if (this.opts.sessions && ctx.sessionId && head) {
      this.opts.sessions.addCompaction({ sessionId: ctx.sessionId, atMessageId: head, trigger, tokensBefore: tokens, tokensAfter: after, pruned: p.pruned, summary, view });
    }
    report({ tokensAfter: after, pruned: p.pruned, summarized: summary !== null });
    return view;
  }

  private async summarise(older: Message[], ctx: RequestContext, hookContext?: string): Promise<string> {
    const last = older[older.length - 1]!;
    const prompt = hookContext ? `${COMPACTION_PROMPT}\n\nAlso keep: ${hookContext}` : COMPACTION_PROMPT;
    // The prompt joins the last (user) message so that roles keep alternating.
    const request: Message[] =
      last.role === 'user'
        ? [...older.slice(0, -1), { role: 'user', content: [...last.content, { type: 'text', text: prompt }] }]
        : [...older, { role: 'user', content: [{ type: 'text', text: prompt }] }];
    let text = '';
    for await (const ev of this.opts.provider.stream({
      ...(ctx.system ? { system: ctx.system } : {}),
      messages: request,
      tools: ctx.tools,
      maxTokens: this.opts.maxSummaryTokens ?? 4096,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    })) {
      if (ev.type === 'message') text = textOf(ev.message);
    }
    if (!text.trim()) throw new Error('the model returned an empty summary');
    return text.trim();
  }
}
