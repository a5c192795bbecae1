/** The loop's limits, hooks, failure paths and repairs, with the scripted provider as the model. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentConfigError } from '../../engine/agent/errors.js';
import { runAgent, toolResultBlock, type LoopState } from '../../engine/agent/loop.js';
import { ScriptProvider, parseScript } from '../../engine/agent/providers/script.js';
import type { Provider, ProviderRequest } from '../../engine/agent/providers/types.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import type { Message, Usage } from '../../engine/agent/types.js';
import { FAKE_TOOLS, FakeRunner } from './fake-runner.js';

/** A provider wrapper that records what the loop sent. */
function recording(inner: Provider, price: number | null = null): Provider & { sent: ProviderRequest[] } {
  const sent: ProviderRequest[] = [];
  return {
    id: inner.id,
    model: inner.model,
    sent,
    cost: (u: Usage) => (price === null ? inner.cost(u) : ((u.inputTokens + u.outputTokens) * price) / 1e6),
    stream(req: ProviderRequest) {
      sent.push({ ...req, messages: structuredClone(req.messages) });
      return inner.stream(req);
    },
  };
}

const script = (doc: unknown): ScriptProvider => new ScriptProvider(parseScript(doc, 'test-script.yaml'));
const toolTurn = (command: string, usage?: { input_tokens: number; output_tokens: number }) => ({
  tool_calls: [{ name: 'shell', input: { command } }],
  ...(usage ? { usage } : {}),
});

let dir: string;
let store: SessionStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'icode-loop-'));
  store = SessionStore.open(join(dir, 'sessions.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('limits', () => {
  it('stops at max turns after running the last turn’s calls', async () => {
    const runner = new FakeRunner();
    const session = store.createSession();
    const r = await runAgent('loop forever', {
      provider: script({ turns: [toolTurn('a'), toolTurn('b'), toolTurn('c'), { text: 'never' }] }),
      runner,
      tools: FAKE_TOOLS,
      maxTurns: 2,
      sessions: store,
      sessionId: session.id,
    });
    expect(r.subtype).toBe('error_max_turns');
    expect(r.isError).toBe(true);
    expect(r.numTurns).toBe(2);
    expect(runner.calls.map((c) => (c.input as { command: string }).command)).toEqual(['a', 'b']);
    expect(store.getSession(session.id).status).toBe('error_max_turns');
    // the stored history is consistent: it ends with the results of the last calls
    const hist = store.history(session.id);
    expect(hist.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(hist[4]!.content[0]!.type).toBe('tool_result');
  });

  it('stops when the token budget is spent', async () => {
    const u = { input_tokens: 100, output_tokens: 50 };
    const r = await runAgent('go', {
      provider: script({ turns: [toolTurn('a', u), toolTurn('b', u), toolTurn('c', u)] }),
      runner: new FakeRunner(),
      tools: FAKE_TOOLS,
      maxBudgetTokens: 200,
    });
    expect(r.subtype).toBe('error_max_tokens');
    expect(r.numTurns).toBe(2);
    expect(r.usage.inputTokens + r.usage.outputTokens).toBe(300);
  });

  it('stops when the cost budget is spent, and refuses a cost budget for a model without prices', async () => {
    const u = { input_tokens: 500_000, output_tokens: 500_000 };
    const provider = recording(script({ turns: [toolTurn('a', u), toolTurn('b', u), { text: 'x' }] }), 1); // $1 per million
    const r = await runAgent('go', { provider, runner: new FakeRunner(), tools: FAKE_TOOLS, maxCostUsd: 1.5 });
    expect(r.subtype).toBe('error_max_budget_usd');
    expect(r.numTurns).toBe(2);
    expect(r.totalCostUsd).toBeCloseTo(2, 9);

    const unpriced: Provider = { id: 'local', model: 'm', cost: () => null, stream: () => script({ turns: [{ text: 'x' }] }).stream({ messages: [], tools: [] }) };
    await expect(runAgent('go', { provider: unpriced, runner: new FakeRunner(), tools: [], maxCostUsd: 1 })).rejects.toBeInstanceOf(AgentConfigError);
  });
});

describe('hooks', () => {
  it('onStop can block the end of the turn and make the model continue', async () => {
    const provider = recording(script({ turns: [{ text: 'done?' }, { text: 'now really done' }] }));
    const states: LoopState[] = [];
    const r = await runAgent('task', {
      provider,
      runner: new FakeRunner(),
      tools: [],
      onStop: (state) => {
        states.push({ ...state });
        return state.stopHookActive ? undefined : { block: true, message: 'You have open todos: finish them.' };
      },
    });
    expect(r.subtype).toBe('success');
    expect(r.result).toBe('now really done');
    expect(r.numTurns).toBe(2);
    expect(states.map((s) => s.stopHookActive)).toEqual([false, true]);
    const last = provider.sent[1]!.messages;
    expect(last[last.length - 1]).toEqual({ role: 'user', content: [{ type: 'text', text: 'You have open todos: finish them.' }] });
  });

  it('onUserPrompt can block a prompt (no model call) or add context', async () => {
    const provider = recording(script({ turns: [{ text: 'ok' }] }));
    const blocked = await runAgent('rm -rf everything', { provider, runner: new FakeRunner(), tools: [], onUserPrompt: () => ({ block: true, message: 'not today' }) });
    expect(blocked.subtype).toBe('error_during_execution');
    expect(blocked.error).toBe('prompt blocked: not today');
    expect(provider.sent).toHaveLength(0);

    const r = await runAgent('hello', { provider, runner: new FakeRunner(), tools: [], onUserPrompt: () => ({ context: 'branch: main' }) });
    expect(r.subtype).toBe('success');
    expect(provider.sent[0]!.messages[0]).toEqual({ role: 'user', content: [{ type: 'text', text: 'hello\n\nbranch: main' }] });
  });
});

describe('failures and repairs', () => {
  it('a runner that throws becomes an error result for the model', async () => {
    const provider = recording(script({ turns: [toolTurn('x'), { text: 'handled' }] }));
    const runner = new FakeRunner({
      shell: () => {
        throw new Error('audit log is locked');
      },
    });
    const r = await runAgent('go', { provider, runner, tools: FAKE_TOOLS });
    expect(r.subtype).toBe('success');
    const results = provider.sent[1]!.messages[2]!.content[0];
    expect(results).toMatchObject({ type: 'tool_result', isError: true });
    expect(JSON.stringify(results)).toContain('icode failed to run this call: audit log is locked');
  });

  it('cancellation during a tool call answers the remaining calls as cancelled and stores them', async () => {
    const ctl = new AbortController();
    const runner = new FakeRunner({
      shell: () => {
        ctl.abort();
        return { status: 'error', output: 'interrupted', error: 'interrupted' };
      },
    });
    const session = store.createSession();
    const r = await runAgent('go', {
      provider: script({ turns: [{ tool_calls: [{ name: 'shell', input: { command: 'sleep 100' } }, { name: 'read', input: { path: 'a' } }] }] }),
      runner,
      tools: FAKE_TOOLS,
      signal: ctl.signal,
      sessions: store,
      sessionId: session.id,
    });
    expect(r.aborted).toBe(true);
    expect(runner.calls).toHaveLength(1);
    const hist = store.history(session.id);
    const results = hist[2]!.content;
    expect(results.map((b) => (b.type === 'tool_result' ? b.isError : null))).toEqual([true, true]);
    expect(JSON.stringify(results[1])).toContain('cancelled');
    expect(store.getSession(session.id).status).toBe('aborted');
    expect(store.toolCalls(session.id)).toHaveLength(2);
  });

  it('answers dangling tool calls of a resumed history before going on', async () => {
    const history: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'start' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_old', name: 'shell', input: { command: 'make' } }] },
    ];
    const provider = recording(script({ turns: [{ text: 'resumed' }] }));
    const r = await runAgent('go on', { provider, runner: new FakeRunner(), tools: FAKE_TOOLS, history });
    expect(r.result).toBe('resumed');
    const sent = provider.sent[0]!.messages;
    expect(sent[2]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', toolUseId: 'toolu_old', isError: true }] });
    expect(sent[3]).toEqual({ role: 'user', content: [{ type: 'text', text: 'go on' }] });

    // without a prompt, a dangling history is continued after the repair
    const provider2 = recording(script({ turns: [{ text: 'continued' }] }));
    const r2 = await runAgent(null, { provider: provider2, runner: new FakeRunner(), tools: FAKE_TOOLS, history });
    expect(r2.result).toBe('continued');
    expect(provider2.sent[0]!.messages).toHaveLength(3);
  });

  it('refuses to continue a finished conversation without a prompt', async () => {
    const history: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
    ];
    await expect(runAgent(null, { provider: script([{ text: 'x' }]), runner: new FakeRunner(), tools: [], history })).rejects.toThrow(/nothing to continue/);
  });

  it('a script that runs out of turns is a clear error', async () => {
    const r = await runAgent('go', { provider: script([toolTurn('a')]), runner: new FakeRunner(), tools: FAKE_TOOLS });
    expect(r.subtype).toBe('error_during_execution');
    expect(r.errorKind).toBe('script');
    expect(r.error).toContain('has 1 turns and the loop asked for turn 2');
  });
});

describe('tool result text', () => {
  const call = { type: 'tool_use' as const, id: 't1', name: 'shell', input: {} };
  const base = { callId: 't1', tool: 'shell', rule: null, reason: 'r', durationMs: 1 };
  it('uses the pipeline text and marks errors and denials', () => {
    expect(toolResultBlock(call, { ...base, decision: 'allow', status: 'ok', output: 'hi' })).toMatchObject({ content: 'hi', isError: false });
    expect(toolResultBlock(call, { ...base, decision: 'allow', status: 'ok', output: '' }).content).toBe('(no output)');
    expect(toolResultBlock(call, { ...base, decision: 'allow', status: 'error', error: 'exit 2' })).toMatchObject({ content: 'exit 2', isError: true });
    expect(toolResultBlock(call, { ...base, decision: 'deny', rule: 'x.y', status: 'denied', reason: 'nope' })).toMatchObject({
      content: 'Denied by policy (rule x.y): nope',
      isError: true,
    });
    expect(toolResultBlock(call, { ...base, decision: 'ask', status: 'denied', reason: 'needs a human' }).content).toContain('needs approval');
    expect(toolResultBlock(call, { ...base, decision: 'allow', status: 'ok', output: 'a', truncated: true, context: ['hook says hi'] }).content).toBe(
      'a\n[output truncated]\n\nhook says hi',
    );
  });
});
