/**
 * The model's output is untrusted input (issue 19): duplicate tool-call ids and nonsense usage
 * figures, through the REAL SDKs against the loopback fake LLM server, driven by the real loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../engine/agent/loop.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { FakeLLM, anthropicSse, anthropicStream, openaiSse, openaiStream, type SseFrame } from '../agent/fake-llm.js';
import { FAKE_TOOLS, FakeRunner } from '../agent/fake-runner.js';

let llm: FakeLLM;
let dir: string;
let store: SessionStore;
const noSleep = { sleep: async () => {}, random: () => 0, maxRetries: 0 };

const anthropic = () =>
  createProvider(
    { kind: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' },
    { env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: llm.url }, retry: noSleep },
  );
const openai = () =>
  createProvider({ kind: 'api', provider: 'openai', model: 'gpt-4o-mini' }, { env: { OPENAI_API_KEY: 'sk-test' }, baseUrl: `${llm.url}/v1`, retry: noSleep });

beforeEach(async () => {
  llm = await new FakeLLM().start();
  dir = mkdtempSync(join(tmpdir(), 'icode-hostile-'));
  store = SessionStore.open(join(dir, 'sessions.db'));
});
afterEach(async () => {
  store.close();
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('duplicate tool-use ids in one turn', () => {
  const cases = [
    {
      name: 'anthropic',
      provider: anthropic,
      turn: () =>
        anthropicSse({
          toolUses: [
            { id: 'toolu_same', name: 'read', json: '{"path":"a.txt"}' },
            { id: 'toolu_same', name: 'read', json: '{"path":"b.txt"}' },
            { id: 'toolu_same', name: 'shell', json: '{"command":"ls"}' },
          ],
        }),
      done: () => anthropicSse({ text: 'done' }),
    },
    {
      name: 'openai',
      provider: openai,
      turn: () =>
        openaiSse({
          toolCalls: [
            { id: 'call_same', name: 'read', args: '{"path":"a.txt"}' },
            { id: 'call_same', name: 'read', args: '{"path":"b.txt"}' },
            { id: 'call_same', name: 'shell', args: '{"command":"ls"}' },
          ],
        }),
      done: () => openaiSse({ text: 'done' }),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: every call runs and is recorded under a unique id, and the run goes on`, async () => {
      // Turn 2 repeats the id of turn 1 as well.
      llm.enqueue(c.turn(), c.turn(), c.done());
      const runner = new FakeRunner();
      const session = store.createSession({});
      const r = await runAgent('go', { provider: c.provider(), runner, tools: FAKE_TOOLS, sessions: store, sessionId: session.id });
      expect(r.subtype).toBe('success');
      expect(runner.calls).toHaveLength(6);
      const ids = runner.calls.map((call) => call.callId);
      expect(new Set(ids).size).toBe(6);
      const stored = store.toolCalls(session.id);
      expect(stored.map((s) => s.callId)).toEqual(ids);
      expect(stored.map((s) => (s.input as { path?: string }).path ?? 'shell')).toEqual(['a.txt', 'b.txt', 'shell', 'a.txt', 'b.txt', 'shell']);
      // The results sent back answer each call once, by the same ids.
      const body = JSON.stringify(llm.requests[1]!.body);
      for (const id of ids.slice(0, 3)) expect(body).toContain(JSON.stringify(id));
    });
  }
});

function withAnthropicUsage(patch: (u: Record<string, unknown>) => void): SseFrame[] {
  const frames = anthropicStream({ text: 'hi' });
  const start = frames[0]!.data as { message: { usage: Record<string, unknown> } };
  patch(start.message.usage);
  return frames;
}

function withOpenAIUsage(value: unknown): SseFrame[] {
  const frames = openaiStream({ text: 'hi' });
  const u = frames.find((f) => typeof f.data === 'object' && f.data !== null && 'usage' in (f.data as object))!;
  (u.data as { usage: unknown }).usage = value;
  return frames;
}

describe('usage figures are token counts only', () => {
  const nonsense: Array<[string, unknown]> = [
    ['an object', { n: 1 }],
    ['a string', '100'],
    ['a negative number', -1_000_000],
    ['a fraction', 1.5],
    ['a huge number', 1e300],
  ];
  for (const [what, v] of nonsense) {
    it(`anthropic: ${what} is a protocol error, not spend or a refund`, async () => {
      llm.enqueue({ kind: 'sse', frames: withAnthropicUsage((u) => (u.input_tokens = v)) });
      const r = await runAgent('go', { provider: anthropic(), runner: new FakeRunner(), tools: [], maxBudgetTokens: 10_000 });
      expect(r.subtype).toBe('error_during_execution');
      expect(r.errorKind).toBe('protocol');
      expect(r.error).toMatch(/usage figure/);
      expect(r.usage.inputTokens).toBe(0);
    });
    it(`openai: ${what} is a protocol error`, async () => {
      llm.enqueue({ kind: 'sse', frames: withOpenAIUsage({ prompt_tokens: v, completion_tokens: 5 }) });
      const r = await runAgent('go', { provider: openai(), runner: new FakeRunner(), tools: [] });
      expect(r.errorKind).toBe('protocol');
      expect(r.error).toMatch(/usage figure/);
    });
  }
  it('openai: a usage that is not an object, or more cached tokens than prompt tokens, is an error', async () => {
    llm.enqueue({ kind: 'sse', frames: withOpenAIUsage('lots') });
    let r = await runAgent('go', { provider: openai(), runner: new FakeRunner(), tools: [] });
    expect(r.error).toMatch(/usage figure/);
    llm.enqueue(openaiSse({ text: 'hi', usage: { prompt_tokens: 10, completion_tokens: 1, cached_tokens: 1_000 } }));
    r = await runAgent('go', { provider: openai(), runner: new FakeRunner(), tools: [] });
    expect(r.error).toMatch(/usage figure/);
  });
  it('a negative figure in a later turn cannot undo a token budget', async () => {
    llm.enqueue(
      anthropicSse({ toolUses: [{ id: 't1', name: 'read', json: '{"path":"a"}' }], inputTokens: 900 }),
      { kind: 'sse', frames: withAnthropicUsage((u) => (u.input_tokens = -900)) },
    );
    const r = await runAgent('go', { provider: anthropic(), runner: new FakeRunner(), tools: FAKE_TOOLS, maxBudgetTokens: 1_000 });
    expect(r.subtype).toBe('error_during_execution');
    expect(r.usage.inputTokens).toBe(900);
  });
  it('sane figures still count', async () => {
    llm.enqueue(anthropicSse({ text: 'hi', inputTokens: 123, outputTokens: 7 }));
    const r = await runAgent('go', { provider: anthropic(), runner: new FakeRunner(), tools: [] });
    expect(r.subtype).toBe('success');
    expect(r.usage).toMatchObject({ inputTokens: 123, outputTokens: 7 });
  });
});
