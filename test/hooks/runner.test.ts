import { afterEach, describe, expect, it } from 'vitest';
import { HookConfigError } from '../../sandbox/hooks/errors.js';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import type { HooksConfig } from '../../sandbox/hooks/types.js';
import { TempDir, baseEvent } from './helpers.js';

const dirs: TempDir[] = [];
const runners: HookRunner[] = [];
afterEach(() => {
  for (const r of runners.splice(0)) r.dispose();
  for (const d of dirs.splice(0)) d.remove();
});

async function setup(files: Record<string, string>, config: HooksConfig | unknown): Promise<HookRunner> {
  const dir = new TempDir();
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) dir.write(name, content);
  const runner = await HookRunner.create(config, { baseDir: dir.path });
  runners.push(runner);
  return runner;
}

const shell = (command: string) => ({ ...baseEvent, tool: 'shell', input: { command } });

describe('HookRunner: selection and merging', () => {
  it('runs a ten-line TypeScript hook attached to a tool', async () => {
    const runner = await setup(
      {
        'no-force.ts': `interface Ev { tool: string; input: { command?: string } }
export default function (event: Ev): { decision?: 'deny'; reason?: string } {
  const cmd: string = event.input.command ?? '';
  if (/git\\s+push\\b.*--force/.test(cmd)) return { decision: 'deny', reason: 'no force pushes here' };
  return {};
}`,
      },
      { pre_tool: [{ match: { tool: 'shell' }, script: 'no-force.ts' }] },
    );
    const denied = await runner.run('pre_tool', shell('git push --force origin main'));
    expect(denied.result).toEqual({ decision: 'deny', reason: 'no-force.ts: no force pushes here', context: [] });
    expect(denied.outcomes).toHaveLength(1);
    expect(denied.outcomes[0]).toMatchObject({ hook: 'no-force.ts', kind: 'script', status: 'ok', result: { decision: 'deny' } });
    const fine = await runner.run('pre_tool', shell('git status'));
    expect(fine.result.decision).toBe('allow');
    const other = await runner.run('pre_tool', { ...baseEvent, tool: 'read', input: { path: 'x' } });
    expect(other.outcomes).toEqual([]); // not matched: not run
  });

  it('merges in declaration order: strictest decision, rewritten input passed on, contexts joined', async () => {
    const runner = await setup(
      {
        'rewrite.js': `export default (e) => ({ input: { ...e.input, command: e.input.command + ' --dry-run' }, context: 'rewritten' });`,
        'ask.js': `export default (e) => ({ decision: 'ask', reason: 'saw ' + e.input.command, context: 'asked' });`,
        'allow.js': `export default () => ({ decision: 'allow' });`,
      },
      { pre_tool: [{ script: 'rewrite.js' }, { script: 'allow.js' }, { script: 'ask.js' }] },
    );
    const { result, outcomes } = await runner.run('pre_tool', shell('make deploy'));
    expect(result.decision).toBe('ask');
    expect(result.reason).toBe('ask.js: saw make deploy --dry-run');
    expect(result.input).toEqual({ command: 'make deploy --dry-run' });
    expect(result.context).toEqual(['rewritten', 'asked']);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('skips the hooks after a deny, and records them', async () => {
    const runner = await setup(
      { 'deny.js': `export default () => ({ decision: 'deny', reason: 'no' });`, 'ctx.js': `export default () => ({ context: 'late' });` },
      { pre_tool: [{ script: 'deny.js' }, { script: 'ctx.js', name: 'late' }] },
    );
    const { result, outcomes } = await runner.run('pre_tool', shell('x'));
    expect(result.decision).toBe('deny');
    expect(result.context).toEqual([]);
    expect(outcomes[1]).toMatchObject({ hook: 'late', status: 'skipped' });
  });

  it('matches agents and tool globs', async () => {
    const runner = await setup(
      { 'ctx.js': `export default (e) => ({ context: e.agent + ':' + e.tool });` },
      { pre_tool: [{ match: { tool: ['mcp__github__*', 'write|edit'], agent: 'main' }, script: 'ctx.js' }] },
    );
    const ctx = async (tool: string, agent = 'main') => (await runner.run('pre_tool', { session: 's', agent, tool, input: {} })).result.context;
    expect(await ctx('mcp__github__create_issue')).toEqual(['main:mcp__github__create_issue']);
    expect(await ctx('edit')).toEqual(['main:edit']);
    expect(await ctx('mcp__gitlab__x')).toEqual([]);
    expect(await ctx('edit', 'helper')).toEqual([]);
  });

  it('post_tool: each hook sees the previous output; stop: any hook refuses', async () => {
    const runner = await setup(
      {
        'upper.js': `export function post_tool(e) { return { output: e.output.toUpperCase() }; }`,
        'tag.js': `export function post_tool(e) { return { output: '[' + e.output + ']', context: 'tagged' }; }`,
        'stop.js': `export function stop(e) { return e.final_message === 'done' ? {} : { block: true, message: 'keep going' }; }`,
      },
      { post_tool: [{ script: 'upper.js' }, { script: 'tag.js' }], stop: [{ script: 'stop.js' }] },
    );
    const post = await runner.run('post_tool', { ...baseEvent, tool: 'read', input: {}, output: 'abc', status: 'ok' });
    expect(post.result).toEqual({ output: '[ABC]', context: ['tagged'] });
    expect((await runner.run('stop', { ...baseEvent, final_message: 'half' })).result).toEqual({ block: true, message: 'keep going' });
    expect((await runner.run('stop', { ...baseEvent, final_message: 'done' })).result).toEqual({ block: false });
  });
});

describe('HookRunner: failures follow on_error', () => {
  const files = {
    'loop.js': `export default () => { for (;;) {} };`,
    'garbage.js': `export default () => ({ decision: 'maybe' });`,
    'extra.js': `export default () => ({ decision: 'allow', approve_everything: true });`,
    'throws.js': `export default () => { throw 'boom'; };`,
    'bomb.js': `export default () => { const a = []; for (;;) a.push(new Array(1e5).fill(0)); };`,
    'ok.js': `export default () => ({ decision: 'allow', context: 'ok' });`,
    'pending.js': `export default () => new Promise(() => {});`,
    'escape.js': `export default () => ({ decision: 'allow', reason: String(globalThis.constructor.constructor('return process')().env.HOME) });`,
    'cycle.js': `export default () => { const input = {}; input.self = input; return { decision: 'allow', input }; };`,
  };

  it('pre_tool defaults to deny, with the reason recorded, and icode goes on', async () => {
    const runner = await setup(files, {
      pre_tool: [
        { script: 'loop.js', timeout_ms: 100 },
        { script: 'ok.js' },
      ],
    });
    const { result, outcomes } = await runner.run('pre_tool', shell('ls'));
    expect(result.decision).toBe('deny');
    expect(result.reason).toMatch(/hook loop\.js failed: timeout/);
    expect(outcomes[0]).toMatchObject({ status: 'failed', failure: 'timeout', applied: 'deny' });
    expect(outcomes[1].status).toBe('skipped');
  });

  it.each([
    ['garbage.js', 'invalid_result'],
    ['extra.js', 'invalid_result'],
    ['throws.js', 'throw'],
    ['bomb.js', 'oom'],
    ['pending.js', 'never_settled'],
    ['escape.js', 'throw'],
    ['cycle.js', 'invalid_result'],
  ] as const)('%s fails as %s; on_error ask and allow are honoured', async (script, kind) => {
    const runner = await setup(files, {
      pre_tool: [
        { script, on_error: 'ask', memory_mb: 8, timeout_ms: 5000 },
        { script, on_error: 'allow', name: 'lenient', memory_mb: 8, timeout_ms: 5000 },
        { script: 'ok.js' },
      ],
    });
    const { result, outcomes } = await runner.run('pre_tool', shell('ls'));
    expect(outcomes.map((o) => [o.status, o.failure, o.applied])).toEqual([
      ['failed', kind, 'ask'],
      ['failed', kind, 'allow'],
      ['ok', undefined, undefined],
    ]);
    expect(result.decision).toBe('ask');
    expect(result.context).toEqual(['ok']);
    // The next event still gets an answer.
    expect((await runner.run('pre_tool', shell('ls'))).outcomes[2].status).toBe('ok');
  });

  it('post_tool: ignore keeps the output, withhold replaces it', async () => {
    const runner = await setup(files, {
      post_tool: [{ script: 'throws.js' }, { script: 'throws.js', name: 'strict', on_error: 'withhold' }],
    });
    const { result, outcomes } = await runner.run('post_tool', { ...baseEvent, tool: 'read', input: {}, output: 'secret', status: 'ok' });
    expect(outcomes.map((o) => o.applied)).toEqual(['ignore', 'withhold']);
    expect(result.output).toMatch(/^\[output withheld: hook strict failed/);
    expect(result.output).not.toContain('secret');
  });

  it('a failing stop hook lets the stop happen', async () => {
    const runner = await setup({ 'loop.js': `export function stop() { for (;;) {} }` }, { stop: [{ script: 'loop.js', timeout_ms: 50 }] });
    const { result, outcomes } = await runner.run('stop', { ...baseEvent });
    expect(result).toEqual({ block: false });
    expect(outcomes[0]).toMatchObject({ status: 'failed', failure: 'timeout', applied: 'ignore' });
  });

  it('after dispose every hook fails closed', async () => {
    const runner = await setup(files, { pre_tool: [{ script: 'ok.js' }] });
    runner.dispose();
    const { result, outcomes } = await runner.run('pre_tool', shell('ls'));
    expect(result.decision).toBe('deny');
    expect(outcomes[0].failure).toBe('disposed');
  });
});

describe('HookRunner: configuration errors are loud', () => {
  it.each([
    [{ pre_tool: [{ script: 'missing.js' }] }, /cannot read hook script/],
    [{ pre_tool: [{ script: 'x.js', builtin: 'secret_redactor' }] }, /exactly one of/],
    [{ pre_tool: [{ builtin: 'nope' }] }, /unknown builtin hook "nope"/],
    [{ pre_tool: [{ builtin: 'secret_redactor' }] }, /does not run at pre_tool/],
    [{ pre_tool: [{ script: 'post-only.js' }] }, /no handler for pre_tool/],
    [{ pre_tool: [{ command: 'true' }] }, /no command runner/],
    [{ post_tool: [{ script: 'post-only.js', on_error: 'deny' }] }, /on_error: expected one of ignore, withhold/],
    [{ pre_tool: [{ script: 'post-only.js', memory_mb: 4 }] }, /memory_mb/],
    [{ post_tool: [{ script: 'post-only.js', timeout_ms: 60_000 }] }, /timeout_ms of a script hook is at most 30000/],
    [{ before_tool: [] }, /unknown hook point/],
    [{ pre_tool: [{ builtin: 'doom_loop_guard', options: { treshold: 2 } }] }, /unknown option "treshold"/],
  ])('%j', async (config, message) => {
    await expect(setup({ 'post-only.js': 'export function post_tool() { return {}; }' }, config)).rejects.toThrow(message);
    await expect(setup({ 'post-only.js': 'export function post_tool() { return {}; }' }, config)).rejects.toBeInstanceOf(HookConfigError);
  });
});

describe('HookRunner: hooks are isolated from each other and from the caller', () => {
  it('gives each script its own isolate and a copy of the event', async () => {
    const runner = await setup(
      {
        'a.js': `export default (e) => { globalThis.shared = 'from a'; e.input.command = 'rm -rf /'; e.tools.push('shell'); return {}; };`,
        'b.js': `export default (e) => ({ context: String(globalThis.shared) + ' / ' + e.input.command });`,
      },
      { pre_tool: [{ script: 'a.js' }, { script: 'b.js' }] },
    );
    const event = { ...shell('ls'), tools: ['read'] };
    const { result } = await runner.run('pre_tool', event);
    expect(result.context).toEqual(['undefined / ls']);
    expect(result.input).toBeUndefined();
    expect(event).toEqual({ ...shell('ls'), tools: ['read'] });
  });
});

describe('HookRunner: per-session kv and switches', () => {
  it('keeps a script state per session and lets the host set a key', async () => {
    const runner = await setup(
      { 'count.js': `export default (e, api) => { const n = (api.kv.get('n') ?? 0) + 1; api.kv.set('n', n); return { context: String(n) }; };` },
      { pre_tool: [{ script: 'count.js', name: 'counter' }] },
    );
    const n = async (session: string) => (await runner.run('pre_tool', { session, agent: 'main', tool: 'x', input: {} })).result.context[0];
    expect(await n('a')).toBe('1');
    expect(await n('a')).toBe('2');
    expect(await n('b')).toBe('1');
    expect(runner.setKv('counter', 'a', 'n', 10)).toBe(true);
    expect(await n('a')).toBe('11');
    runner.endSession('a');
    expect(await n('a')).toBe('1');
    expect(runner.setKv('nobody', 'a', 'n', 1)).toBe(false);
  });
});
