/** The SQLite sessions store: history through parent pointers, forks that share it, tool-call links, exports. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportSession } from '../../engine/agent/export.js';
import { runAgent } from '../../engine/agent/loop.js';
import { ScriptProvider, parseScript } from '../../engine/agent/providers/script.js';
import type { ProviderRequest } from '../../engine/agent/providers/types.js';
import { SessionError, SessionStore, defaultSessionsPath } from '../../engine/agent/sessions.js';
import type { Message } from '../../engine/agent/types.js';
import { FAKE_TOOLS, FakeRunner, denied } from './fake-runner.js';

let dir: string;
let dbPath: string;
let store: SessionStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'icode-sessions-'));
  dbPath = join(dir, 'nested', 'sessions.db');
  store = SessionStore.open(dbPath);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] });

function countRows(table: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('SessionStore', () => {
  it('lives in its own private file under XDG state by default', () => {
    expect(defaultSessionsPath({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/icode/sessions.db');
    expect(defaultSessionsPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/icode/sessions.db');
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
  });

  it('keeps messages ordered through parent pointers and finds sessions by prefix', () => {
    const s = store.createSession({ title: 'first', model: 'openai/gpt-4o' });
    const m1 = store.appendMessage(s.id, user('one'));
    const m2 = store.appendMessage(s.id, assistant('two'), { model: 'openai/gpt-4o', stopReason: 'stop', usage: { inputTokens: 5, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 }, costUsd: 0.001 });
    expect(m2.parentId).toBe(m1.id);
    expect(store.history(s.id).map((m) => [m.seq, m.role, m.content])).toEqual([
      [1, 'user', [{ type: 'text', text: 'one' }]],
      [2, 'assistant', [{ type: 'text', text: 'two' }]],
    ]);
    expect(store.getSession(s.id.slice(0, 8)).id).toBe(s.id);
    expect(store.getSession(s.id).messageCount).toBe(2);
    expect(() => store.getSession('nope-nope')).toThrow(SessionError);
    expect(store.findSession('abc')).toBeNull(); // prefixes need 4 characters
  });

  it('forks share history without copying it, and each branch goes on alone', () => {
    const s = store.createSession({ title: 'base' });
    for (const m of [user('u1'), assistant('a1'), user('u2'), assistant('a2')]) store.appendMessage(s.id, m);
    const rowsBefore = countRows('messages');
    const fork = store.fork(s.id, 2);
    expect(countRows('messages')).toBe(rowsBefore);
    expect(fork.parentSessionId).toBe(s.id);
    expect(fork.messageCount).toBe(2);
    expect(store.history(fork.id).map((m) => m.id)).toEqual(store.history(s.id).slice(0, 2).map((m) => m.id));

    store.appendMessage(fork.id, user('fork u2'));
    store.appendMessage(s.id, user('base u3'));
    expect(store.history(fork.id).map((m) => (m.content[0] as { text: string }).text)).toEqual(['u1', 'a1', 'fork u2']);
    expect(store.history(s.id).map((m) => (m.content[0] as { text: string }).text)).toEqual(['u1', 'a1', 'u2', 'a2', 'base u3']);

    expect(store.history(store.fork(s.id, 0).id)).toEqual([]);
    expect(() => store.fork(s.id, 6)).toThrow(/between 0 and 5/);
    expect(store.listSessions().map((x) => x.id)).toContain(fork.id);
  });
});

describe('sessions through the loop', () => {
  it('stores tool calls linked to audit ids, and a fork resumed later sends the shared history', async () => {
    const s = store.createSession({ title: 'task', model: 'script:demo' });
    const first = new ScriptProvider(
      parseScript({
        model: 'demo',
        turns: [
          { text: 'Looking.', tool_calls: [{ id: 'c1', name: 'read', input: { path: 'a.ts' } }, { id: 'c2', name: 'shell', input: { command: 'rm -rf /' } }] },
          { text: 'Done ```code``` here.' },
        ],
      }),
    );
    const runner = new FakeRunner({ shell: denied('destructive') });
    await runAgent('do the task', { provider: first, runner, tools: FAKE_TOOLS, sessions: store, sessionId: s.id });
    const calls = store.toolCalls(s.id);
    expect(calls.map((c) => [c.callId, c.status, c.decision, c.rule, c.auditId])).toEqual([
      ['c1', 'ok', 'allow', 'test.allow', 1001],
      ['c2', 'denied', 'deny', 'test.deny', 1002],
    ]);

    // fork after the tool results (message 3), then resume the fork with a new prompt
    const fork = store.fork(s.id, 3);
    expect(store.toolCalls(fork.id)).toHaveLength(2); // the shared message's calls are visible from the fork
    const sent: ProviderRequest[] = [];
    const inner = new ScriptProvider(parseScript([{ text: 'Different ending.' }]));
    const second = { id: inner.id, model: inner.model, cost: () => 0, stream: (req: ProviderRequest) => (sent.push(structuredClone({ ...req, signal: undefined })), inner.stream(req)) };
    const r = await runAgent('try another way', { provider: second, runner, tools: FAKE_TOOLS, sessions: store, sessionId: fork.id });
    expect(r.result).toBe('Different ending.');
    expect(sent[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'user']);
    expect(sent[0]!.messages[3]).toEqual(user('try another way'));
    expect(store.history(fork.id)).toHaveLength(5);
    expect(store.history(s.id)).toHaveLength(4);
    expect(store.getSession(fork.id).turns).toBe(1);

    // exports
    const json = JSON.parse(exportSession(store, s.id, 'json')) as { session: { id: string }; messages: Array<{ seq: number; role: string; content: unknown[] }>; tool_calls: Array<{ audit_id: number }> };
    expect(json.session.id).toBe(s.id);
    expect(json.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(json.messages[1]!.content).toEqual([
      { type: 'text', text: 'Looking.' },
      { type: 'tool_use', id: 'c1', name: 'read', input: { path: 'a.ts' } },
      { type: 'tool_use', id: 'c2', name: 'shell', input: { command: 'rm -rf /' } },
    ]);
    expect(json.tool_calls.map((c) => c.audit_id)).toEqual([1001, 1002]);

    const lines = exportSession(store, s.id, 'jsonl').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['session', 'message', 'message', 'tool_call', 'tool_call', 'message', 'message']);

    const md = exportSession(store, fork.id, 'markdown');
    expect(md).toContain(`# Session ${fork.id}`);
    expect(md).toContain(`forked from ${s.id} after message 3`);
    expect(md).toContain('## 2. assistant (script/demo)');
    expect(md).toContain('**Tool call** `shell` (`c2`) — deny by `test.deny`, denied, audit #1002');
    expect(md).toContain('**Result** of `c2` (error)');
    expect(md).toContain('## 5. assistant');
    const mdBase = exportSession(store, s.id, 'markdown');
    expect(mdBase).toContain('Done ```code``` here.');
  });
});
