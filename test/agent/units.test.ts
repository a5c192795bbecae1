/** Small pieces: model specs, config file, prices, retry timing, script files, message conversion. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseModel, loadConfigFile, parseModelSpec } from '../../engine/agent/config.js';
import { AgentConfigError, ProviderError } from '../../engine/agent/errors.js';
import { toAnthropicMessages } from '../../engine/agent/providers/anthropic.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { toOpenAIMessages } from '../../engine/agent/providers/openai.js';
import { costOf, priceOf } from '../../engine/agent/providers/pricing.js';
import { backoffMs, retryAfterMs, withRetries } from '../../engine/agent/providers/retry.js';
import { chunks, loadScript } from '../../engine/agent/providers/script.js';
import type { ProviderEvent } from '../../engine/agent/providers/types.js';
import type { Message } from '../../engine/agent/types.js';

const dir = mkdtempSync(join(tmpdir(), 'icode-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe('model choice', () => {
  it('parses provider/model and script:FILE', () => {
    expect(parseModelSpec('anthropic/claude-haiku-4-5')).toEqual({ kind: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(parseModelSpec('ollama/library/qwen3:8b')).toEqual({ kind: 'api', provider: 'ollama', model: 'library/qwen3:8b' });
    expect(parseModelSpec('gpt-4o', 'openai')).toEqual({ kind: 'api', provider: 'openai', model: 'gpt-4o' });
    expect(parseModelSpec('openai/gpt-4o', 'openai')).toEqual({ kind: 'api', provider: 'openai', model: 'gpt-4o' });
    expect(parseModelSpec(undefined, 'script:demo.yaml')).toEqual({ kind: 'script', file: 'demo.yaml' });
    expect(parseModelSpec('script:x.json')).toEqual({ kind: 'script', file: 'x.json' });
    expect(() => parseModelSpec(undefined)).toThrow(AgentConfigError);
    expect(() => parseModelSpec('gpt-4o')).toThrow(/provider\/model/);
    expect(() => parseModelSpec('openai/')).toThrow(/provider\/model/);
  });

  it('takes the flag, then ICODE_MODEL, then the config file', () => {
    expect(chooseModel('a/b', { ICODE_MODEL: 'c/d' }, { model: 'e/f' })).toBe('a/b');
    expect(chooseModel(undefined, { ICODE_MODEL: 'c/d' }, { model: 'e/f' })).toBe('c/d');
    expect(chooseModel(undefined, {}, { model: 'e/f' })).toBe('e/f');
  });

  it('reads the config file (YAML) with base URLs, retries and prices', () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(
      path,
      'model: ollama/qwen3\nmax_retries: 5\nproviders:\n  ollama: { base_url: "http://gpu:11434/v1" }\nprices:\n  ollama/qwen3: { input: 0.01, output: 0.02 }\n',
    );
    const c = loadConfigFile({ ICODE_CONFIG: path });
    expect(c).toMatchObject({ model: 'ollama/qwen3', max_retries: 5, providers: { ollama: { base_url: 'http://gpu:11434/v1' } } });
    const p = createProvider({ kind: 'api', provider: 'ollama', model: 'qwen3' }, { env: {}, config: c });
    expect(p.cost({ inputTokens: 1e6, outputTokens: 1e6, cacheReadTokens: 0, cacheWriteTokens: 0 })).toBeCloseTo(0.03, 9);
    writeFileSync(path, 'max_retries: -1\n');
    expect(() => loadConfigFile({ ICODE_CONFIG: path })).toThrow(/max_retries/);
    expect(loadConfigFile({ HOME: join(dir, 'nohome') })).toEqual({});
  });

  it('builds each provider or says what is missing', () => {
    expect(createProvider({ kind: 'api', provider: 'gemini', model: 'gemini-2.5-flash' }, { env: { GEMINI_API_KEY: 'g' } }).id).toBe('gemini');
    expect(() => createProvider({ kind: 'api', provider: 'gemini', model: 'x' }, { env: {} })).toThrow(/GEMINI_API_KEY/);
    expect(() => createProvider({ kind: 'api', provider: 'local', model: 'x' }, { env: {} })).toThrow(/--base-url/);
    expect(createProvider({ kind: 'api', provider: 'local', model: 'x' }, { env: {}, baseUrl: 'http://127.0.0.1:9/v1' }).id).toBe('local');
    expect(() => createProvider({ kind: 'api', provider: 'bedrock', model: 'x' }, { env: {} })).toThrow(/unknown provider/);
  });
});

describe('prices', () => {
  it('matches dated snapshots but not other variants; unknown is null, not 0', () => {
    expect(priceOf('anthropic', 'claude-sonnet-4-5-20250929')).toEqual(priceOf('anthropic', 'claude-sonnet-4-5'));
    expect(priceOf('openai', 'gpt-4o-mini-2024-07-18')).toEqual(priceOf('openai', 'gpt-4o-mini'));
    expect(priceOf('openai', 'gpt-4o-mini')).not.toEqual(priceOf('openai', 'gpt-4o'));
    expect(priceOf('openai', 'gpt-4o-audio-preview')).toBeNull();
    expect(priceOf('gemini', 'models/gemini-2.5-flash')).not.toBeNull();
    expect(priceOf('ollama', 'llama3')).toBeNull();
    expect(costOf(null, { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0 })).toBeNull();
    expect(costOf(priceOf('openai', 'gpt-4o'), { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 })).toBe(0);
  });
});

describe('retry timing', () => {
  it('reads retry-after-ms, retry-after seconds and dates', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '7' }))).toBe(7000);
    expect(retryAfterMs(headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeNull();
    expect(retryAfterMs(headers({}))).toBeNull();
  });

  it('backs off exponentially up to the cap', () => {
    const o = { baseDelayMs: 1000, maxDelayMs: 5000, random: () => 0 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, o))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(backoffMs(1, { baseDelayMs: 1000, random: () => 0.999 })).toBeGreaterThanOrEqual(750);
  });

  it('does not wait for a retry-after beyond the limit', async () => {
    const err = new ProviderError('http', 'rate limited', { status: 429 });
    const gen = withRetries(
      async () => {
        throw err;
      },
      () => ({ error: err, retryable: true, headers: headers({ 'retry-after': '3600' }) }),
      async function* (): AsyncGenerator<ProviderEvent> {},
      { maxRetryAfterMs: 60_000, sleep: async () => undefined },
    );
    await expect(gen.next()).rejects.toThrow(/asked to wait 3600 s/);
  });
});

describe('script files', () => {
  it('loads JSON and YAML, and splits text into word chunks', () => {
    writeFileSync(join(dir, 's.json'), JSON.stringify([{ text: 'hi there' }, { tool_calls: [{ name: 'read', input: { path: 'x' } }] }]));
    const s = loadScript(join(dir, 's.json'));
    expect(s.model).toBe('s');
    expect(s.turns).toHaveLength(2);
    writeFileSync(join(dir, 'bad.yaml'), 'turns:\n  - tool_calls: [{ input: {} }]\n');
    expect(() => loadScript(join(dir, 'bad.yaml'))).toThrow(/turn 1, tool call 1: name must be a non-empty string/);
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(() => loadScript(join(dir, 'broken.json'))).toThrow(/not valid JSON/);
    expect(chunks('one two  three\n')).toEqual(['one ', 'two  ', 'three\n']);
  });
});

describe('message conversion', () => {
  const history: Message[] = [
    { role: 'user', content: [{ type: 'text', text: 'go' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read', input: { path: 'a' } }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'nope', isError: true }] },
    { role: 'user', content: [{ type: 'text', text: 'next prompt' }] },
  ];
  it('anthropic: consecutive user messages merge, tool results first', () => {
    expect(toAnthropicMessages(history)).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read', input: { path: 'a' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'nope', is_error: true },
          { type: 'text', text: 'next prompt' },
        ],
      },
    ]);
  });
  it('openai: tool results become role tool messages with "Error: "', () => {
    expect(toOpenAIMessages(history, 'sys')).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'read', arguments: '{"path":"a"}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'Error: nope' },
      { role: 'user', content: 'next prompt' },
    ]);
  });
});
