/**
 * Project instructions: AGENTS.md and CLAUDE.md from the repository root down to the workspace reach
 * the model's system prompt, root-most first, capped; symlinks are not followed; the init event lists
 * the files read.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../cli/commands/run.js';
import { instructionDirs, loadProjectInstructions } from '../../engine/agent/instructions.js';
import { FakeLLM, openaiSse } from './fake-llm.js';
import { FakeRunner, fakeAgentRunner } from './fake-runner.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'icode-instr-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function repo(name: string): { root: string; pkg: string } {
  const root = join(base, name);
  const pkg = join(root, 'packages', 'app');
  mkdirSync(join(root, '.git'), { recursive: true });
  mkdirSync(pkg, { recursive: true });
  return { root, pkg };
}

describe('loadProjectInstructions', () => {
  it('reads AGENTS.md and CLAUDE.md from the repository root down to the workspace, root-most first', () => {
    const { root, pkg } = repo('mono');
    writeFileSync(join(root, 'AGENTS.md'), 'ROOT RULES\n');
    writeFileSync(join(root, 'packages', 'CLAUDE.md'), 'PACKAGES RULES\n');
    writeFileSync(join(pkg, 'AGENTS.md'), 'APP RULES\n');
    writeFileSync(join(pkg, 'CLAUDE.md'), 'APP CLAUDE\n');
    writeFileSync(join(base, 'AGENTS.md'), 'ABOVE THE REPOSITORY\n');
    const r = loadProjectInstructions(pkg);
    expect(r.files).toEqual([join(root, 'AGENTS.md'), join(root, 'packages', 'CLAUDE.md'), join(pkg, 'AGENTS.md'), join(pkg, 'CLAUDE.md')]);
    const order = ['ROOT RULES', 'PACKAGES RULES', 'APP RULES', 'APP CLAUDE'].map((t) => r.text.indexOf(t));
    expect(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    expect(r.text).not.toContain('ABOVE THE REPOSITORY');
    expect(r.truncated).toBe(false);
  });

  it('outside a repository reads only the workspace itself', () => {
    const ws = join(base, 'loose', 'ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(base, 'loose', 'AGENTS.md'), 'PARENT\n');
    writeFileSync(join(ws, 'AGENTS.md'), 'OWN\n');
    expect(instructionDirs(ws)).toEqual([ws]);
    expect(loadProjectInstructions(ws).files).toEqual([join(ws, 'AGENTS.md')]);
  });

  it('a .git file (a worktree or submodule) marks the repository root too', () => {
    const root = join(base, 'wt');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, '.git'), 'gitdir: /elsewhere\n');
    expect(instructionDirs(join(root, 'sub'))).toEqual([root, join(root, 'sub')]);
  });

  it('never follows a symlink named AGENTS.md (it could point at a key), and skips directories', () => {
    const ws = join(base, 'evil');
    mkdirSync(join(ws, '.git'), { recursive: true });
    writeFileSync(join(base, 'secret-key'), 'PRIVATE KEY MATERIAL\n');
    symlinkSync(join(base, 'secret-key'), join(ws, 'AGENTS.md'));
    mkdirSync(join(ws, 'CLAUDE.md'));
    const r = loadProjectInstructions(ws);
    expect(r.files).toEqual([]);
    expect(r.text).toBe('');
  });

  it('caps the total size and says so', () => {
    const { root, pkg } = repo('big');
    writeFileSync(join(root, 'AGENTS.md'), 'A'.repeat(3000));
    writeFileSync(join(pkg, 'AGENTS.md'), 'B'.repeat(3000));
    const r = loadProjectInstructions(pkg, 4000);
    expect(r.truncated).toBe(true);
    expect(r.text).toContain('[… cut at 4000 bytes of project instructions]');
    expect((r.text.match(/A{100,}|B{100,}/g) ?? []).join('').length).toBe(4000);
  });
});

describe('icode run with project instructions', () => {
  let llm: FakeLLM;
  beforeAll(async () => {
    llm = await new FakeLLM().start();
  });
  afterAll(async () => llm.close());
  afterEach(() => llm.requests.splice(0));

  it('adds them to the system prompt sent to the model, lists them in stream-json init and in text output', async () => {
    const { root, pkg } = repo('run');
    writeFileSync(join(root, 'AGENTS.md'), 'Always run npm test before finishing.\n');
    const out: string[] = [];
    const err: string[] = [];
    const deps = {
      createRunner: async () => fakeAgentRunner(new FakeRunner({}), pkg),
      stdout: (s: string) => void out.push(s),
      stderr: (s: string) => void err.push(s),
      env: { HOME: base, OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: `${llm.url}/v1` },
      cwd: pkg,
    };
    llm.enqueue(openaiSse({ text: 'ok' }), openaiSse({ text: 'ok' }), openaiSse({ text: 'ok' }));
    const db = join(base, 'sessions.db');
    expect(await runCommand('hi', { model: 'openai/gpt-4o', sessionsDb: db, outputFormat: 'stream-json', system: 'BE BRIEF' }, deps)).toBe(0);
    const init = JSON.parse(out.join('').split('\n')[0]!) as Record<string, unknown>;
    expect(init).toMatchObject({ type: 'system', subtype: 'init', instructions: [join(root, 'AGENTS.md')] });
    const messages = llm.requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content).toContain('BE BRIEF');
    expect(messages[0]!.content).toContain('Always run npm test before finishing.');
    expect(messages[0]!.content.indexOf('BE BRIEF')).toBeLessThan(messages[0]!.content.indexOf('Always run npm test'));

    out.length = 0;
    expect(await runCommand('hi', { model: 'openai/gpt-4o', sessionsDb: db }, deps)).toBe(0);
    expect(err.join('')).toContain(`icode: project instructions from ${join(root, 'AGENTS.md')}`);

    expect(await runCommand('hi', { model: 'openai/gpt-4o', sessionsDb: db, projectInstructions: false }, deps)).toBe(0);
    const last = llm.requests[2]!.body.messages as Array<{ role: string; content: string }>;
    expect(JSON.stringify(last)).not.toContain('Always run npm test');
  });
});
