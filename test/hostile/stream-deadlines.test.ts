/**
 * Streams that never end (issue 19): a stream that sends its start and then only keep-alives, or
 * nothing, is an idle timeout; a turn that goes on too long is a turn timeout. Both are clear errors
 * and the session resumes. REAL SDKs against loopback servers, both wire formats.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../engine/agent/loop.js';
import { withStreamDeadlines } from '../../engine/agent/providers/deadline.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { FakeLLM, anthropicSse, anthropicStream, openaiSse, openaiStream } from '../agent/fake-llm.js';
import { FakeRunner } from '../agent/fake-runner.js';

let llm: FakeLLM;
let dir: string;
let store: SessionStore;
const noSleep = { sleep: async () => {}, random: () => 0, maxRetries: 0 };

const anthropicAt = (url: string) =>
  createProvider({ kind: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' }, { env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: url }, retry: noSleep });
const openaiAt = (url: string) =>
  createProvider({ kind: 'api', provider: 'openai', model: 'gpt-4o-mini' }, { env: { OPENAI_API_KEY: 'k' }, baseUrl: `${url}/v1`, retry: noSleep });

beforeEach(async () => {
  llm = await new FakeLLM().start();
  dir = mkdtempSync(join(tmpdir(), 'icode-deadline-'));
  store = SessionStore.open(join(dir, 'sessions.db'));
});
afterEach(async () => {
  store.close();
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A server that sends the stream's start, then a keep-alive every 20 ms, forever. */
async function pingForever(kind: 'anthropic' | 'openai'): Promise<{ url: string; close(): Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (kind === 'anthropic') {
      const start = anthropicStream({ text: 'x' })[0]!;
      res.write(`event: message_start\ndata: ${JSON.stringify(start.data)}\n\n`);
      const t = setInterval(() => res.write('event: ping\ndata: {"type":"ping"}\n\n'), 20);
      timers.add(t);
    } else {
      const first = openaiStream({ text: 'x' })[0]!;
      res.write(`data: ${JSON.stringify(first.data)}\n\n`);
      const empty = { ...(first.data as object), choices: [{ index: 0, delta: {}, finish_reason: null }] };
      const t = setInterval(() => {
        res.write(`data: ${JSON.stringify(empty)}\n\n`);
        res.write(': keep-alive\n\n');
      }, 20);
      timers.add(t);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('idle timeout: keep-alives are not progress', () => {
  for (const kind of ['anthropic', 'openai'] as const) {
    it(`${kind}: message start then pings forever ends the run with a timeout; the session resumes`, async () => {
      const srv = await pingForever(kind);
      try {
        const session = store.createSession({});
        const slow = withStreamDeadlines(kind === 'anthropic' ? anthropicAt(srv.url) : openaiAt(srv.url), { idleMs: 400 });
        const r = await runAgent('go', { provider: slow, runner: new FakeRunner(), tools: [], sessions: store, sessionId: session.id });
        expect(r.subtype).toBe('error_during_execution');
        expect(r.errorKind).toBe('timeout');
        expect(r.error).toMatch(/sent nothing meaningful for 0\.400 s.*resume the session.*--stream-idle-timeout/);
        expect(r.aborted).toBe(false);
        // Resume against a server that answers.
        llm.enqueue(kind === 'anthropic' ? anthropicSse({ text: 'back' }) : openaiSse({ text: 'back' }));
        const good = withStreamDeadlines(kind === 'anthropic' ? anthropicAt(llm.url) : openaiAt(llm.url), { idleMs: 30_000 });
        const again = await runAgent(null, { provider: good, runner: new FakeRunner(), tools: [], sessions: store, sessionId: session.id });
        expect(again.subtype).toBe('success');
        expect(again.result).toBe('back');
      } finally {
        await srv.close();
      }
    });
  }

  it('a stream that hangs after its first frames (fake server) times out too', async () => {
    const frames = anthropicStream({ text: 'never finished' }).slice(0, 3);
    llm.enqueue({ kind: 'sse', frames, hang: true });
    const r = await runAgent('go', { provider: withStreamDeadlines(anthropicAt(llm.url), { idleMs: 300 }), runner: new FakeRunner(), tools: [] });
    expect(r.errorKind).toBe('timeout');
    const o = openaiStream({ text: 'never finished' }).slice(0, 2);
    llm.enqueue({ kind: 'sse', frames: o, hang: true });
    const r2 = await runAgent('go', { provider: withStreamDeadlines(openaiAt(llm.url), { idleMs: 300 }), runner: new FakeRunner(), tools: [] });
    expect(r2.errorKind).toBe('timeout');
  });
});

describe('turn timeout', () => {
  it('bounds a turn even while meaningful events keep coming', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const frames = anthropicStream({ text: 'x' });
      res.write(`event: message_start\ndata: ${JSON.stringify(frames[0]!.data)}\n\n`);
      res.write(`event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`);
      const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'la ' } };
      timers.add(setInterval(() => res.write(`event: content_block_delta\ndata: ${JSON.stringify(delta)}\n\n`), 20));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runAgent('go', {
        provider: withStreamDeadlines(anthropicAt(url), { idleMs: 10_000, turnMs: 500 }),
        runner: new FakeRunner(),
        tools: [],
      });
      expect(r.errorKind).toBe('timeout');
      expect(r.error).toMatch(/turn timeout \(0\.500 s\).*--turn-timeout/);
    } finally {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
