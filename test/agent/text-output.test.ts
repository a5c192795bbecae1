/**
 * Seeing what happened: the text output's tool lines (first lines of output and errors, edit diffs,
 * exit codes, colour only when asked), the whole stop-hook message, "no model" for scripted runs,
 * rounded durations, NO_COLOR / FORCE_COLOR, the bench table's width, and a local model server that
 * is not running named with its URL and how to start it.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { benchTable } from '../../cli/commands/bench.js';
import type { AgentEvent, RunResult } from '../../engine/agent/loop.js';
import { textOutput } from '../../engine/agent/output.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { editDiff, formatDuration, useColor } from '../../engine/agent/text-style.js';
import type { ToolCallResult } from '../../engine/pipeline-types.js';

function capture(opts: { color?: boolean; scripted?: boolean } = {}) {
  const err: string[] = [];
  const out: string[] = [];
  const on = textOutput({ out: (s) => void out.push(s), err: (s) => void err.push(s), ...opts });
  return { on, err: () => err.join(''), out: () => out.join('') };
}

function toolEvent(name: string, input: Record<string, unknown>, r: Partial<ToolCallResult>, content: string, isError = false): AgentEvent {
  const result: ToolCallResult = { callId: 'c1', tool: name, decision: 'allow', rule: null, reason: '', status: 'ok', durationMs: 12.4, ...r };
  return { type: 'tool_result', turn: 1, call: { type: 'tool_use', id: 'c1', name, input }, result, block: { type: 'tool_result', toolUseId: 'c1', content, isError } };
}

const lines = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n');

const runResult = (extra: Partial<RunResult> = {}): RunResult => ({
  subtype: 'success', isError: false, aborted: false, result: 'ok', numTurns: 1,
  usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
  totalCostUsd: 0, sessionId: null, stopReason: 'end_turn', durationMs: 1432, toolCalls: 0, denials: [], ...extra,
});

describe('text output', () => {
  it("shows the first 10 lines of a command's output and says how many more there were", () => {
    const c = capture();
    c.on(toolEvent('shell', { command: 'seq 25' }, { rule: 'ws.read-only' }, lines(25)));
    const e = c.err();
    expect(e).toContain('⏺ shell {"command":"seq 25"}  [allow (ws.read-only) → ok · 12 ms]');
    expect(e).toContain('    line 1\n');
    expect(e).toContain('    line 10\n');
    expect(e).not.toContain('line 11\n');
    expect(e).toContain('… 15 more lines');
    expect(e).not.toContain('\x1b[');
  });

  it("a failed command shows its exit code and its error's first lines, not only the first", () => {
    const c = capture();
    c.on(toolEvent('shell', { command: 'npm test' }, { status: 'error', exitCode: 2 }, 'FAIL src/a.test.ts\n  expected 1\n  received 2\n[exit 2]', true));
    const e = c.err();
    expect(e).toContain('→ error · exit 2 · 12 ms]');
    expect(e).toContain('    FAIL src/a.test.ts\n    expected 1'.replace('    expected', '      expected'));
    expect(e).toContain('      received 2\n');
  });

  it('an edit is shown as a unified diff, coloured on a terminal', () => {
    const c = capture({ color: true });
    c.on(toolEvent('edit', { path: 'src/sum.ts', old_string: 'export const sum = (a, b) => a - b;', new_string: 'export const sum = (a, b) => a + b;' }, {}, 'Edited src/sum.ts: 1 replacement'));
    const e = c.err();
    expect(e).toContain('\x1b[31m-export const sum = (a, b) => a - b;\x1b[0m');
    expect(e).toContain('\x1b[32m+export const sum = (a, b) => a + b;\x1b[0m');
    expect(e).toContain('\x1b[32mallow\x1b[0m');
    const plain = editDiff('f', 'a\nb\nc', 'a\nB\nc');
    expect(plain).toEqual(['--- f', '+++ f', '@@ -3 +3 @@', ' a', '-b', '+B', ' c']);
  });

  it('allow / ask / deny and outcomes have their colours', () => {
    const c = capture({ color: true });
    c.on(toolEvent('shell', { command: 'curl x | sh' }, { decision: 'deny', status: 'denied', rule: 'no-pipe' }, 'Denied by policy', true));
    c.on(toolEvent('write', { path: 'a' }, { decision: 'ask', status: 'ok' }, 'Wrote a'));
    expect(c.err()).toContain('\x1b[31mdeny\x1b[0m (no-pipe) → \x1b[31mdenied\x1b[0m');
    expect(c.err()).toContain('\x1b[33mask\x1b[0m → \x1b[32mok\x1b[0m');
  });

  it('the stop-hook message is shown whole', () => {
    const c = capture();
    c.on({ type: 'user_message', messageId: 1, origin: 'stop_hook', message: { role: 'user', content: [{ type: 'text', text: 'You have open todos:\n- fix the test\n- run npm test' }] } });
    expect(c.err()).toContain('stop refused by a hook:\n    You have open todos:\n    - fix the test\n    - run npm test\n');
  });

  it('a scripted run reports "no model", a real one its tokens and cost; durations are rounded', () => {
    const s = capture({ scripted: true });
    s.on({ type: 'result', result: runResult() });
    expect(s.err()).toContain('── done · 1 turn · 0 tool calls · no model (scripted) · 1.4 s');
    expect(s.err()).not.toContain('$0.0000');
    const m = capture();
    m.on({ type: 'result', result: runResult({ usage: { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 }, totalCostUsd: 0.0081 }) });
    expect(m.err()).toContain('1200 in / 300 out tokens · $0.0081 · 1.4 s');
  });

  it('formats durations for people', () => {
    expect([0.42, 12.4, 999.6, 1432, 12_400, 125_000].map(formatDuration)).toEqual(['0.4 ms', '12 ms', '1000 ms', '1.4 s', '12 s', '2 min 5 s']);
  });

  it('colour: a terminal yes, a pipe no, NO_COLOR off, FORCE_COLOR on', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('bench table', () => {
  it('fits a 100-column terminal, and explains the audit row', () => {
    const row = (name: string, baseline: string) => ({ name, p50_us: 1234.5, p99_us: 98765.4, ops_per_s: 123456, baseline: { name: baseline, p50_us: 2.5, ops_per_s: 1234567 }, ratio: 0.1 });
    const text = benchTable([row('policy.shell', 'cedar-wasm isAuthorized on the same 200 rules, pre-parsed'), row('audit', 'sqlite single-row autocommit insert'), row('fs.pool', 'fs.readFileSync in the main thread')]);
    for (const l of text.split('\n')) expect(l.length).toBeLessThanOrEqual(100);
    expect(text).toContain('audit: baseline = sqlite single-row autocommit insert');
    expect(text).toContain('p50/p99 are the wait for one group commit');
    expect(text).toContain('decisions committed per second');
    // compact: no rule between rows
    expect(text.split('\n').filter((l) => l.startsWith('├')).length).toBe(1);
  });
});

describe('a local model server that is not running', () => {
  it('the error names the URL tried and how to start the server', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const provider = createProvider({ kind: 'api', provider: 'ollama', model: 'qwen3' }, { baseUrl: `http://127.0.0.1:${port}/v1`, retry: { maxRetries: 0 }, env: {} });
    let message = '';
    try {
      for await (const _ of provider.stream({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [] })) void _;
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`tried http://127.0.0.1:${port}/v1`);
    expect(message).toContain('ollama serve');
  });
});
