/**
 * Context compaction with the real Anthropic SDK against the loopback fake server and a small
 * configured window: old tool outputs are stubbed, the model is asked for a summary with the fixed
 * prompt, the pre_compact hook fires (and can veto), the full history stays stored, and the loop
 * goes on under the threshold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPACTION_PROMPT, Compactor, SUMMARY_HEADER, contextWindowFor, type PreCompactInfo } from '../../engine/agent/compaction.js';
import { runAgent } from '../../engine/agent/loop.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { icodeInProcess } from '../helpers/cli.js';
import { FakeLLM, anthropicSse } from './fake-llm.js';
import { FAKE_TOOLS, FakeRunner } from './fake-runner.js';

let llm: FakeLLM;
let dir: string;
let store: SessionStore;
const WINDOW = 4000;
const LONG = 'x'.repeat(2000);

beforeEach(async () => {
  llm = await new FakeLLM().start();
  dir = mkdtempSync(join(tmpdir(), 'icode-compact-'));
  store = SessionStore.open(join(dir, 'sessions.db'));
});
afterEach(async () => {
  store.close();
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

function provider() {
  return createProvider({ kind: 'api', provider: 'anthropic', model: 'claude-test' }, { env: { ANTHROPIC_API_KEY: 'sk-test' }, baseUrl: llm.url, retry: { maxRetries: 0 } });
}

/** Three tool turns; the third reports a prompt close to the window, so the fourth request must be compacted. */
function script(): void {
  llm.enqueue(
    anthropicSse({
      toolUses: [
        { id: 't1', name: 'todo_write', json: JSON.stringify({ todos: [{ content: 'fix the parser', status: 'in_progress' }, { content: 'old item', status: 'completed' }] }) },
        { id: 'w1', name: 'write', json: JSON.stringify({ path: 'notes.md', content: 'parser notes' }) },
        { id: 's1', name: 'shell', json: JSON.stringify({ command: 'npm test' }) },
      ],
      stopReason: 'tool_use',
      inputTokens: 200,
    }),
    anthropicSse({ toolUses: [{ id: 's2', name: 'shell', json: JSON.stringify({ command: 'npm test -- parser' }) }], stopReason: 'tool_use', inputTokens: 900 }),
    anthropicSse({ toolUses: [{ id: 's3', name: 'shell', json: JSON.stringify({ command: 'git diff' }) }], stopReason: 'tool_use', inputTokens: 3500 }),
  );
}

describe('context compaction', () => {
  it('prunes old tool outputs, summarises older turns with the fixed prompt, fires pre_compact, keeps history, and continues', async () => {
    script();
    llm.enqueue(anthropicSse({ text: 'SUMMARY: the user wants the parser fixed; tests were run.', inputTokens: 600 }), anthropicSse({ text: 'All done.', inputTokens: 900 }));
    const session = store.createSession({ model: 'anthropic/claude-test' }).id;
    const fired: PreCompactInfo[] = [];
    const p = provider();
    const compactor = new Compactor({
      provider: p,
      window: contextWindowFor('anthropic', 'claude-test', { 'anthropic/claude-test': WINDOW })!,
      sessions: store,
      onPreCompact: async (info) => {
        fired.push(info);
        return { context: 'KEEP-ME: the user prefers tabs' };
      },
    });
    const runner = new FakeRunner({ shell: { output: LONG } });
    const r = await runAgent('fix the parser', { provider: p, runner, tools: FAKE_TOOLS, sessions: store, sessionId: session, compaction: compactor });
    expect(r.subtype).toBe('success');
    expect(r.result).toBe('All done.');
    expect(llm.requests).toHaveLength(5);

    // the pre_compact hook fired once, automatically, over the threshold
    expect(fired).toHaveLength(1);
    expect(fired[0]!.trigger).toBe('auto');
    expect(fired[0]!.tokens).toBeGreaterThanOrEqual(WINDOW * 0.8);

    // the summary request: the older turns, the oldest tool output already stubbed, the fixed prompt last
    const summaryReq = JSON.stringify(llm.requests[3]!.body.messages);
    expect(summaryReq).toContain('[icode compaction: the output of shell({\\"command\\":\\"npm test\\"}) was removed (2000 characters)');
    expect(summaryReq).not.toContain(LONG);
    const lastMsg = (llm.requests[3]!.body.messages as Array<{ content: Array<{ type: string; text?: string }> }>).at(-1)!;
    expect(lastMsg.content.at(-1)!.text).toContain(COMPACTION_PROMPT);
    expect(lastMsg.content.at(-1)!.text).toContain('KEEP-ME');

    // the next real request starts from the summary, keeps open todos and file states, and is under the threshold
    const next = llm.requests[4]!.body as { messages: Array<{ role: string; content: Array<{ type: string; text?: string }> }> };
    const first = next.messages[0]!.content[0]!.text!;
    expect(first.startsWith(SUMMARY_HEADER)).toBe(true);
    expect(first).toContain('SUMMARY: the user wants the parser fixed');
    expect(first).toContain('[in_progress] fix the parser');
    expect(first).not.toContain('old item');
    expect(first).toContain('--- notes.md\nparser notes');
    expect(first).toContain('KEEP-ME');
    expect(JSON.stringify(next.messages).length / 4).toBeLessThan(WINDOW * 0.8);

    // history is never deleted: every message is stored, the compaction is marked
    const hist = store.history(session);
    expect(hist).toHaveLength(8);
    expect(JSON.stringify(hist)).toContain(LONG);
    const cs = store.compactions(session);
    expect(cs).toHaveLength(1);
    expect(cs[0]).toMatchObject({ trigger: 'auto', pruned: 1, summary: 'SUMMARY: the user wants the parser fixed; tests were run.' });
    expect(store.contextMessages(session)[0]!.content[0]).toMatchObject({ type: 'text' });

    // sessions show: the model's view by default, everything with --full
    const shown = await icodeInProcess(['sessions', 'show', session, '--sessions-db', store.path]);
    expect(shown.stdout).toContain('compacted 1×');
    expect(shown.stdout).toContain('SUMMARY');
    const full = await icodeInProcess(['sessions', 'show', session, '--sessions-db', store.path, '--full']);
    expect(full.stdout).toContain('older turns summarised');
    expect(full.stdout).toMatch(/│ 8 /);
  });

  it('a pre_compact veto leaves the conversation as it is', async () => {
    script();
    llm.enqueue(anthropicSse({ text: 'Done anyway.', inputTokens: 3900 }));
    const session = store.createSession({}).id;
    const p = provider();
    const events: string[] = [];
    const compactor = new Compactor({ provider: p, window: WINDOW, sessions: store, onPreCompact: async () => ({ block: true, reason: 'not now' }), onCompact: (e) => void events.push(e.vetoed ?? 'compacted') });
    const r = await runAgent('go', { provider: p, runner: new FakeRunner({ shell: { output: LONG } }), tools: FAKE_TOOLS, sessions: store, sessionId: session, compaction: compactor });
    expect(r.subtype).toBe('success');
    expect(llm.requests).toHaveLength(4);
    expect(events).toEqual(['not now']);
    expect(JSON.stringify(llm.requests[3]!.body.messages)).toContain(LONG);
    expect(store.compactions(session)).toEqual([]);
  });

  it('icode sessions compact ID: on demand, with the script model writing the summary', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    const scriptFile = join(dir, 'summary.yaml');
    writeFileSync(scriptFile, 'turns:\n  - text: "SCRIPTED SUMMARY"\n');
    const session = store.createSession({ model: `script:${scriptFile}`, workspace: ws, policy: 'builtin:workspace-write' }).id;
    for (let i = 0; i < 4; i++) {
      store.appendMessage(session, { role: 'user', content: i === 0 ? [{ type: 'text', text: 'go' }] : [{ type: 'tool_result', toolUseId: `c${i}`, content: LONG, isError: false }] });
      store.appendMessage(session, { role: 'assistant', content: [{ type: 'tool_use', id: `c${i + 1}`, name: 'shell', input: { command: `step ${i}` } }] });
    }
    store.appendMessage(session, { role: 'user', content: [{ type: 'tool_result', toolUseId: 'c4', content: LONG, isError: false }] });
    const r = await icodeInProcess(['sessions', 'compact', session, '--sessions-db', store.path, '--audit', join(dir, 'audit.db'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ compacted: true, pruned: 2, summarized: true });
    const view = store.contextMessages(session);
    expect(JSON.stringify(view[0])).toContain('SCRIPTED SUMMARY');
    expect(view[view.length - 1]).toMatchObject({ role: 'user' });
    expect(store.history(session)).toHaveLength(9);
  });

  it('a real pre_compact hook (isolated-vm) can veto or add context: its result is validated and merged', async () => {
    const { HookRunner } = await import('../../sandbox/hooks/runner.js');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(dir, 'guard.ts'),
      `export default function (e: { tokens: number; trigger: string }) {
  if (e.tokens > 100000) return { block: true, reason: 'too big to summarise safely' };
  return { context: 'hook saw ' + e.trigger };
}`,
    );
    const hooks = await HookRunner.create({ pre_compact: [{ script: 'guard.ts' }] }, { baseDir: dir });
    try {
      const veto = await hooks.run('pre_compact', { session: 's', agent: 'main', trigger: 'auto', tokens: 200000 });
      expect(veto.result).toEqual({ context: [], block: true, reason: 'guard.ts: too big to summarise safely' });
      const add = await hooks.run('pre_compact', { session: 's', agent: 'main', trigger: 'manual', tokens: 10 });
      expect(add.result).toEqual({ context: ['hook saw manual'], block: false });
    } finally {
      hooks.dispose();
    }
  });

  it('knows context windows, with config overrides', () => {
    expect(contextWindowFor('anthropic', 'claude-sonnet-4-5')).toBe(200_000);
    expect(contextWindowFor('openai', 'gpt-4o')).toBe(128_000);
    expect(contextWindowFor('script', 'demo')).toBeNull();
    expect(contextWindowFor('script', 'demo', { 'script/demo': 1000 })).toBe(1000);
  });
});
