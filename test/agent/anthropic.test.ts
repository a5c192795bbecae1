/** The Anthropic Messages provider through the real @anthropic-ai/sdk against a fake server, driven by the real loop. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../engine/agent/loop.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import type { RetryOptions } from '../../engine/agent/providers/types.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { FakeLLM, anthropicSse, anthropicStream } from './fake-llm.js';
import { FAKE_TOOLS, FakeRunner, denied, failed } from './fake-runner.js';

let llm: FakeLLM;
let dir: string;
let store: SessionStore;
let sleeps: number[];

function anthropic(extra: RetryOptions = {}, model = 'claude-haiku-4-5') {
  return createProvider(
    { kind: 'api', provider: 'anthropic', model },
    {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: llm.url },
      retry: {
        sleep: async (ms: number) => {
          sleeps.push(ms);
        },
        random: () => 0,
        ...extra,
      },
    },
  );
}

beforeEach(async () => {
  llm = await new FakeLLM().start();
  dir = mkdtempSync(join(tmpdir(), 'icode-anthropic-'));
  store = SessionStore.open(join(dir, 'sessions.db'));
  sleeps = [];
});

afterEach(async () => {
  store.close();
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('anthropic provider + loop', () => {
  it('assembles tool_use input from input_json_delta pieces and sends tool_result blocks back in order with is_error', async () => {
    llm.enqueue(
      anthropicSse({
        text: 'I will check three things.',
        toolUses: [
          { id: 'toolu_1', name: 'read', json: JSON.stringify({ path: 'package.json' }) },
          { id: 'toolu_2', name: 'shell', json: JSON.stringify({ command: 'npm test' }) },
          { id: 'toolu_3', name: 'shell', json: JSON.stringify({ command: 'cat ~/.ssh/id_rsa' }) },
        ],
        jsonPieces: 5,
        inputTokens: 1000,
        outputTokens: 50,
        cacheRead: 200,
        cacheWrite: 100,
      }),
      anthropicSse({ text: 'Tests fail; I could not read the key.', inputTokens: 1500, outputTokens: 30 }),
    );
    const runner = new FakeRunner({
      shell: (call) => ((call.input as { command: string }).command === 'npm test' ? failed('Tests: 1 failed') : denied('outside the workspace', 'untrusted.home')),
    });
    const session = store.createSession();
    const r = await runAgent('why do tests fail?', {
      provider: anthropic(),
      runner,
      tools: FAKE_TOOLS,
      system: 'Be brief.',
      sessions: store,
      sessionId: session.id,
    });
    expect(r.subtype).toBe('success');
    expect(r.result).toBe('Tests fail; I could not read the key.');
    expect(r.usage).toEqual({ inputTokens: 2500, outputTokens: 80, cacheReadTokens: 200, cacheWriteTokens: 100 });
    // claude-haiku-4-5: 1 in, 5 out, 0.1 cache read, 1.25 cache write per million
    expect(r.totalCostUsd).toBeCloseTo((2500 * 1 + 80 * 5 + 200 * 0.1 + 100 * 1.25) / 1e6, 12);
    expect(runner.calls.map((c) => [c.callId, c.input])).toEqual([
      ['toolu_1', { path: 'package.json' }],
      ['toolu_2', { command: 'npm test' }],
      ['toolu_3', { command: 'cat ~/.ssh/id_rsa' }],
    ]);

    const [first, second] = llm.requests;
    expect(first!.path).toBe('/v1/messages');
    // this SDK release sends the key as a bearer token
    expect(first!.headers['x-api-key'] ?? first!.headers.authorization).toMatch(/^(Bearer )?sk-ant-test$/);
    expect(first!.headers['anthropic-version']).toBeTruthy();
    expect(first!.body).toMatchObject({ model: 'claude-haiku-4-5', stream: true, system: 'Be brief.', max_tokens: 8192 });
    expect(first!.body.tools).toEqual(FAKE_TOOLS.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })));
    expect(first!.body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'why do tests fail?' }] }]);
    expect(second!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'why do tests fail?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'I will check three things.' },
          { type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'package.json' } },
          { type: 'tool_use', id: 'toolu_2', name: 'shell', input: { command: 'npm test' } },
          { type: 'tool_use', id: 'toolu_3', name: 'shell', input: { command: 'cat ~/.ssh/id_rsa' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'ran read {"path":"package.json"}' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'Tests: 1 failed', is_error: true },
          { type: 'tool_result', tool_use_id: 'toolu_3', content: 'Denied by policy (rule untrusted.home): outside the workspace', is_error: true },
        ],
      },
    ]);

    const hist = store.history(session.id);
    expect(hist.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(hist[1]!.usage).toEqual({ inputTokens: 1000, outputTokens: 50, cacheReadTokens: 200, cacheWriteTokens: 100 });
    expect(hist[1]!.stopReason).toBe('tool_use');
    expect(store.toolCalls(session.id).map((c) => [c.callId, c.status, c.auditId])).toEqual([
      ['toolu_1', 'ok', 1001],
      ['toolu_2', 'error', 1002],
      ['toolu_3', 'denied', 1003],
    ]);
  });

  it('retries a 429 honouring retry-after, then succeeds', async () => {
    llm.enqueue(
      { kind: 'status', status: 429, headers: { 'retry-after': '3' }, body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } },
      { kind: 'status', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      anthropicSse({ text: 'hello' }),
    );
    const r = await runAgent('hi', { provider: anthropic({ baseDelayMs: 250 }), runner: new FakeRunner(), tools: [] });
    expect(r.subtype).toBe('success');
    expect(r.result).toBe('hello');
    expect(llm.requests).toHaveLength(3);
    expect(sleeps).toEqual([3000, 500]);
  });

  it('reports a stream cut inside a tool call as an error; nothing runs', async () => {
    const frames = anthropicStream({ text: 'Reading', toolUses: [{ id: 'toolu_x', name: 'read', json: '{"path":"a.txt"}' }] });
    const cut = frames.findIndex((f) => f.event === 'content_block_delta' && JSON.stringify(f.data).includes('input_json_delta')) + 1;
    llm.enqueue({ kind: 'sse', frames, cutAfter: cut });
    const runner = new FakeRunner();
    const r = await runAgent('go', { provider: anthropic(), runner, tools: FAKE_TOOLS });
    expect(r.subtype).toBe('error_during_execution');
    expect(r.errorKind).toBe('stream_cut');
    expect(r.error).toContain('anthropic');
    expect(runner.calls).toEqual([]);
  });

  it('reports a stream that ends cleanly without message_stop as cut', async () => {
    llm.enqueue(anthropicSse({ text: 'almost', noStop: true }));
    const r = await runAgent('go', { provider: anthropic(), runner: new FakeRunner(), tools: [] });
    expect(r.errorKind).toBe('stream_cut');
    expect(r.error).toContain('message_stop');
  });

  it('reports an error event in the middle of the stream', async () => {
    llm.enqueue(anthropicSse({ text: 'hello', errorEvent: { type: 'overloaded_error', message: 'Overloaded' } }));
    const r = await runAgent('go', { provider: anthropic(), runner: new FakeRunner(), tools: [] });
    expect(r.subtype).toBe('error_during_execution');
    expect(r.errorKind).toBe('protocol');
    expect(r.error).toContain('Overloaded');
  });

  it('treats tool JSON truncated by max_tokens as malformed and tells the model', async () => {
    llm.enqueue(
      anthropicSse({ toolUses: [{ id: 'toolu_t', name: 'shell', json: '{"command": "echo hel' }], stopReason: 'max_tokens' }),
      anthropicSse({ text: 'sorry' }),
    );
    const runner = new FakeRunner();
    const r = await runAgent('go', { provider: anthropic(), runner, tools: FAKE_TOOLS });
    expect(r.subtype).toBe('success');
    expect(runner.calls[0]!.malformed).toContain('not valid JSON');
    const msgs = llm.requests[1]!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    expect(msgs[1]!.content[0]).toEqual({ type: 'tool_use', id: 'toolu_t', name: 'shell', input: {} });
    expect(msgs[2]!.content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_t', is_error: true });
    expect(String(msgs[2]!.content[0]!.content)).toContain('not valid JSON');
  });

  it('cancels while streaming, and while waiting to retry', async () => {
    llm.enqueue({ kind: 'sse', frames: anthropicStream({ text: 'a long answer is coming' }).slice(0, 4), hang: true });
    const ctl = new AbortController();
    const r = await runAgent('go', {
      provider: anthropic(),
      runner: new FakeRunner(),
      tools: [],
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type === 'text_delta') ctl.abort();
      },
    });
    expect(r).toMatchObject({ aborted: true, subtype: 'error_during_execution', error: 'cancelled' });

    // a real (abortable) wait for a retry-after of 60 s, cut short by the signal
    llm.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '60' }, body: { type: 'error', error: { type: 'rate_limit_error', message: 'wait' } } });
    const ctl2 = new AbortController();
    const provider = createProvider(
      { kind: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' },
      { env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: llm.url } },
    );
    const r2 = await runAgent('go', {
      provider,
      runner: new FakeRunner(),
      tools: [],
      signal: ctl2.signal,
      onEvent: (e) => {
        if (e.type === 'retry') setTimeout(() => ctl2.abort(), 10);
      },
    });
    expect(r2).toMatchObject({ aborted: true, error: 'cancelled' });
  });

  it('needs a key', () => {
    expect(() => createProvider({ kind: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' }, { env: {} })).toThrow(/ANTHROPIC_API_KEY/);
  });
});
