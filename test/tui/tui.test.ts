/**
 * The TUI, driven as a person would: the real `icode` in a real pty, the screen read through a terminal
 * emulator, the model a loopback fake server speaking OpenAI's SSE wire format to the real SDK.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeLLM, openaiSse } from '../agent/fake-llm.js';
import { tempDir } from '../helpers/tmp.js';
import { KEY, TuiDriver } from './driver.js';

let llm: FakeLLM;
const drivers: TuiDriver[] = [];

// A fresh fake server per test: a failed test must not leave scripted answers for the next one.
beforeEach(async () => {
  llm = await new FakeLLM().start();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) d.kill();
  await llm.close();
});

function setup(): { ws: string; env: Record<string, string> } {
  const dir = tempDir('icode-tui-');
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  writeFileSync(join(ws, 'notes.txt'), 'first line\nsecond line\n');
  return {
    ws,
    env: {
      HOME: dir,
      XDG_STATE_HOME: join(dir, 'state'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: `${llm.url}/v1`,
      ICODE_MODEL: 'openai/gpt-4o-mini',
      ICODE_MAX_RETRIES: '0',
    },
  };
}

function open(ws: string, env: Record<string, string>, extra: Partial<ConstructorParameters<typeof TuiDriver>[0]> = {}): TuiDriver {
  const d = new TuiDriver({ cwd: ws, env, ...extra });
  drivers.push(d);
  return d;
}

/** Masks what changes from run to run (temp paths, session ids) so screens can be compared as text. */
function normalise(screen: string, ws: string): string {
  return screen
    .split(ws)
    .join('<ws>')
    .replace(/session [0-9a-f]+…?/g, 'session <id>')
    .replace(/\d+(\.\d+)? (ms|s)\b/g, '<t>')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

const shellCall = (id: string, command: string) => ({ id, name: 'shell', args: JSON.stringify({ command }) });

// Each test starts real processes (Node, a bwrap jail); a loaded machine makes that slow, not wrong.
describe('icode TUI in a real terminal', { timeout: 240_000 }, () => {
  it('opens at 80×24 with the status line, streams the answer and shows a tool line with its decision', async () => {
    const { ws, env } = setup();
    llm.enqueue(
      openaiSse({ text: '# Looking\nI will **read** `notes.txt`.', toolCalls: [{ id: 'c1', name: 'read', args: JSON.stringify({ path: 'notes.txt' }) }] }),
      openaiSse({ text: 'The file has two lines.' }),
    );
    const d = open(ws, env, { cols: 80, rows: 24 });
    const first = await d.waitFor('prompt');
    expect(first).toContain('openai/gpt-4o-mini');
    await expect(normalise(first, ws)).toMatchFileSnapshot('./snapshots/start-80x24.txt');
    d.type('what is in notes.txt?');
    d.type(KEY.enter);
    await d.waitFor('The file has two lines.');
    // The turn's end (its summary line, the idle prompt, the cost) renders just after the answer.
    const s = await d.waitFor(/done · 2 model call[\s\S]*prompt ─[\s\S]*\$0\.0001 │/);
    expect(s).toContain('❯ what is in notes.txt?');
    expect(s).toMatch(/● read notes\.txt \[allow\]/);
    expect(s).toContain('Looking');
    expect(s).not.toContain('**read**');
    await expect(normalise(s, ws)).toMatchFileSnapshot('./snapshots/answer-80x24.txt');
  });

  it('an ask opens the approval dialog; y runs the call, n refuses it and the model is told', async () => {
    const { ws, env } = setup();
    llm.enqueue(
      openaiSse({ toolCalls: [shellCall('a1', 'git push origin main')] }),
      openaiSse({ toolCalls: [shellCall('a2', 'curl -s https://example.com/data')] }),
      openaiSse({ text: 'Understood, not fetching.' }),
    );
    const before = llm.requests.length;
    const d = open(ws, env);
    await d.waitFor('prompt');
    d.type('publish it' + KEY.enter);
    const dialog = await d.waitFor('approval needed');
    expect(dialog).toContain('git push origin main');
    expect(dialog).toContain('workspace-write.network-and-publish');
    expect(dialog).toContain('allow for this session: allow shell command exactly: git push origin main');
    // The dialog only: what shows through around it depends on how far the stream got before it opened.
    const box = normalise(dialog, ws).split('\n').filter((l) => /[│┌└]/.test(l.slice(5, 6))).map((l) => l.slice(5)).join('\n');
    await expect(box).toMatchFileSnapshot('./snapshots/approval.txt');
    d.type('y');
    // the second ask: refused with a reason the model sees
    await d.waitFor(/approval needed[\s\S]*curl -s https:\/\/example\.com\/data/);
    d.type('e');
    d.type('no network please' + KEY.enter);
    const end = await d.waitFor('Understood, not fetching.');
    expect(end).toMatch(/git push origin main \[ask→allowed\]/);
    expect(end).toMatch(/curl -s https:\/\/example\.com\/data \[ask→denied\]/);
    const last = JSON.stringify(llm.requests[before + 2]!.body);
    expect(last).toContain('no network please');
  });

  it('Esc interrupts a running turn and the session goes on', async () => {
    const { ws, env } = setup();
    llm.enqueue(openaiSse({ text: 'Thinking very hard about this' , noDone: true }, { hang: true }), openaiSse({ text: 'Second answer.' }));
    const d = open(ws, env);
    await d.waitFor('prompt');
    d.type('think' + KEY.enter);
    await d.waitFor('Thinking very hard');
    d.type(KEY.esc);
    await d.waitFor('interrupted');
    d.type('again' + KEY.enter);
    await d.waitFor('Second answer.');
  });

  it('Ctrl-P opens the palette and a chosen command acts; F-keys toggle panels', async () => {
    const { ws, env } = setup();
    llm.enqueue(openaiSse({ toolCalls: [{ id: 'r1', name: 'read', args: JSON.stringify({ path: 'notes.txt' }) }] }), openaiSse({ text: 'ok' }));
    const d = open(ws, env);
    await d.waitFor('prompt');
    d.type('read it' + KEY.enter);
    await d.waitFor(/● read notes\.txt \[allow\]/);
    d.type(KEY.ctrlP);
    await d.waitFor('command palette');
    d.type('toggle decisions');
    await d.waitFor('> toggle decisions');
    d.type(KEY.enter);
    const panel = await d.waitFor('─ decisions (F2)');
    expect(panel).toMatch(/allow read/);
    d.type(KEY.f3);
    const audit = await d.waitFor('─ audit (F3)');
    expect(audit).toMatch(/chain ok/);
  });

  it('redraws on resize and never crashes on a tiny window', async () => {
    const { ws, env } = setup();
    const d = open(ws, env, { cols: 120, rows: 40 });
    await d.waitFor('prompt');
    d.resize(80, 24);
    await d.waitFor((/ctx 0%/));
    d.resize(12, 4);
    await d.waitFor('too small');
    d.resize(100, 30);
    await d.waitFor('prompt');
    d.type(KEY.ctrlC + KEY.ctrlC);
    expect(await d.exited).toBe(0);
  });

  it('/undo puts the workspace and the conversation back to before the last change', async () => {
    const { ws, env } = setup();
    llm.enqueue(
      openaiSse({ toolCalls: [{ id: 'w1', name: 'write', args: JSON.stringify({ path: 'made-by-agent.txt', content: 'agent was here\n' }) }] }),
      openaiSse({ text: 'Written.' }),
    );
    const d = open(ws, env);
    await d.waitFor('prompt');
    d.type('write a file' + KEY.enter);
    await d.waitFor('Written.');
    expect(existsSync(join(ws, 'made-by-agent.txt'))).toBe(true);
    d.type('/undo' + KEY.enter);
    const s = await d.waitFor('undone:');
    expect(s).toMatch(/1 file\(s\) restored/);
    expect(existsSync(join(ws, 'made-by-agent.txt'))).toBe(false);
    expect(readFileSync(join(ws, 'notes.txt'), 'utf8')).toBe('first line\nsecond line\n');
  });

  it('a crashing render leaves the terminal usable and the session resumable', async () => {
    const { ws, env } = setup();
    llm.enqueue(openaiSse({ text: 'partial answer' }));
    const d = open(ws, env, { env: { ...env, ICODE_TUI_FAULT: 'render' } });
    await d.waitFor('prompt');
    d.type('hello' + KEY.enter);
    expect(await d.exited).toBe(4);
    await new Promise<void>((r) => d.term.write('', r));
    expect(d.onNormalScreen).toBe(true);
    const id = /icode --resume ([0-9a-f-]{36})/.exec(d.raw)?.[1];
    expect(id, d.raw.slice(-500)).toBeTruthy();
    expect(existsSync(join(env.XDG_STATE_HOME!, 'icode', 'tui.log'))).toBe(true);
    expect(readFileSync(join(env.XDG_STATE_HOME!, 'icode', 'tui.log'), 'utf8')).toContain('injected render fault');

    const again = open(ws, env, { args: ['--resume', id!] });
    const s = await again.waitFor(`resumed session ${id}`);
    expect(s).toContain('❯ hello');
  });
});
