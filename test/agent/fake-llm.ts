/**
 * A fake LLM server on 127.0.0.1 (port 0) speaking the real wire formats: OpenAI chat-completions
 * SSE and Anthropic Messages SSE. Each request takes the next scripted response; every request body
 * is recorded. Responses can fail with a status, cut the socket mid-stream, or hang until the client
 * goes away.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SseFrame {
  /** SSE `event:` name (Anthropic); absent for OpenAI `data:`-only frames. */
  event?: string;
  /** JSON-encoded unless a string (e.g. "[DONE]"). */
  data: unknown;
}

export type FakeResponse =
  | {
      kind: 'sse';
      frames: SseFrame[];
      /** Destroy the socket after this many frames (a stream cut mid-way). */
      cutAfter?: number;
      /** After the frames, keep the response open until the client leaves. */
      hang?: boolean;
      /**
       * Send nothing until this many requests have arrived in all (proves concurrency: with calls made
       * one after the other the later request never comes, and the response is sent after `holdMs`).
       */
      holdUntilRequests?: number;
      holdMs?: number;
      headers?: Record<string, string>;
    }
  | { kind: 'status'; status: number; body: unknown; headers?: Record<string, string> };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export class FakeLLM {
  readonly requests: RecordedRequest[] = [];
  /** What happened, in order: `request N` when request N (0-based) arrived, `done N` when its response ended. */
  readonly timeline: string[] = [];
  private arrivals: Array<() => void> = [];
  private readonly queue: FakeResponse[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  enqueue(...responses: FakeResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  get pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    });
    const n = this.requests.length - 1;
    this.timeline.push(`request ${n}`);
    for (const wake of this.arrivals.splice(0)) wake();
    res.on('close', () => this.timeline.push(`done ${n}`));
    const next = this.queue.shift();
    if (!next) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'fake LLM: no scripted response left' } }));
      return;
    }
    if (next.kind === 'status') {
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify(next.body));
      return;
    }
    if (next.holdUntilRequests !== undefined) {
      const until = Date.now() + (next.holdMs ?? 3000);
      while (this.requests.length < next.holdUntilRequests && Date.now() < until) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(0, until - Date.now()));
          this.arrivals.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...next.headers });
    res.flushHeaders();
    const frames = next.cutAfter === undefined ? next.frames : next.frames.slice(0, next.cutAfter);
    for (const f of frames) {
      const data = typeof f.data === 'string' ? f.data : JSON.stringify(f.data);
      res.write(`${f.event ? `event: ${f.event}\n` : ''}data: ${data}\n\n`);
      await tick();
    }
    if (next.cutAfter !== undefined) {
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    if (next.hang) return;
    res.end();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Split a string into `n` roughly equal pieces (at least one). */
export function split(s: string, n: number): string[] {
  if (n <= 1 || s.length <= 1) return [s];
  const size = Math.ceil(s.length / n);
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

// ---------- OpenAI chat.completion.chunk streams ----------

export interface OpenAIToolCallSpec {
  id: string;
  name: string;
  /** Raw arguments text (may be malformed on purpose). */
  args: string;
}

let chunkSeq = 0;

function chunk(model: string, delta: Record<string, unknown>, finish: string | null = null): SseFrame {
  return {
    data: {
      id: `chatcmpl-fake${++chunkSeq}`,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    },
  };
}

export interface OpenAIStreamOptions {
  model?: string;
  text?: string;
  toolCalls?: OpenAIToolCallSpec[];
  /** Pieces each tool call's arguments are split into. */
  argPieces?: number;
  /** Interleave the argument fragments of parallel calls (by index) instead of one call after the other. */
  interleave?: boolean;
  finish?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number } | null;
  /** Leave out `data: [DONE]`. */
  noDone?: boolean;
}

export function openaiStream(o: OpenAIStreamOptions): SseFrame[] {
  const model = o.model ?? 'gpt-4o-mini';
  const frames: SseFrame[] = [chunk(model, { role: 'assistant', content: '' })];
  for (const piece of o.text ? split(o.text, 3) : []) frames.push(chunk(model, { content: piece }));
  const calls = o.toolCalls ?? [];
  const pieces = calls.map((c) => split(c.args, o.argPieces ?? 3));
  calls.forEach((c, index) => {
    frames.push(chunk(model, { tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    if (!o.interleave) for (const p of pieces[index]!) frames.push(chunk(model, { tool_calls: [{ index, function: { arguments: p } }] }));
  });
  if (o.interleave) {
    const longest = Math.max(0, ...pieces.map((p) => p.length));
    for (let i = 0; i < longest; i++) {
      pieces.forEach((p, index) => {
        if (p[i] !== undefined) frames.push(chunk(model, { tool_calls: [{ index, function: { arguments: p[i] } }] }));
      });
    }
  }
  frames.push(chunk(model, {}, o.finish ?? (calls.length ? 'tool_calls' : 'stop')));
  if (o.usage !== null) {
    const u = o.usage ?? { prompt_tokens: 100, completion_tokens: 20 };
    frames.push({
      data: {
        id: `chatcmpl-fake${++chunkSeq}`,
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model,
        choices: [],
        usage: {
          prompt_tokens: u.prompt_tokens,
          completion_tokens: u.completion_tokens,
          total_tokens: u.prompt_tokens + u.completion_tokens,
          ...(u.cached_tokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cached_tokens } } : {}),
        },
      },
    });
  }
  if (!o.noDone) frames.push({ data: '[DONE]' });
  return frames;
}

export const openaiSse = (o: OpenAIStreamOptions, extra: Partial<Extract<FakeResponse, { kind: 'sse' }>> = {}): FakeResponse => ({
  kind: 'sse',
  frames: openaiStream(o),
  ...extra,
});

// ---------- Anthropic Messages streams ----------

export interface AnthropicToolUseSpec {
  id: string;
  name: string;
  /** Raw JSON text of the input, streamed as input_json_delta pieces. */
  json: string;
}

export interface AnthropicStreamOptions {
  model?: string;
  text?: string;
  toolUses?: AnthropicToolUseSpec[];
  jsonPieces?: number;
  stopReason?: string;
  inputTokens?: number;
  outputTokens?: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Leave out message_stop. */
  noStop?: boolean;
  /** An `error` event after the first content block start. */
  errorEvent?: { type: string; message: string };
}

export function anthropicStream(o: AnthropicStreamOptions): SseFrame[] {
  const model = o.model ?? 'claude-sonnet-4-5-20250929';
  const frames: SseFrame[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: o.inputTokens ?? 100,
            output_tokens: 1,
            cache_read_input_tokens: o.cacheRead ?? 0,
            cache_creation_input_tokens: o.cacheWrite ?? 0,
          },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  let index = 0;
  if (o.text) {
    frames.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } } });
    if (o.errorEvent) frames.push({ event: 'error', data: { type: 'error', error: o.errorEvent } });
    for (const p of split(o.text, 3)) {
      frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } } });
    }
    frames.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index++;
  }
  for (const t of o.toolUses ?? []) {
    frames.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } },
    });
    for (const p of split(t.json, o.jsonPieces ?? 3)) {
      frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } } });
    }
    frames.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index++;
  }
  frames.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: o.stopReason ?? (o.toolUses?.length ? 'tool_use' : 'end_turn'), stop_sequence: null },
      usage: { output_tokens: o.outputTokens ?? 20 },
    },
  });
  if (!o.noStop) frames.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return frames;
}

export const anthropicSse = (o: AnthropicStreamOptions, extra: Partial<Extract<FakeResponse, { kind: 'sse' }>> = {}): FakeResponse => ({
  kind: 'sse',
  frames: anthropicStream(o),
  ...extra,
});
