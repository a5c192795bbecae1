import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookRunner } from '../../sandbox/hooks/runner.js';

let runner: HookRunner;
beforeEach(async () => {
  runner = await HookRunner.create({ pre_tool: [{ builtin: 'doom_loop_guard' }] }, { baseDir: '.' });
});
afterEach(() => runner.dispose());

const call = (input: Record<string, unknown>, extra: { session?: string; agent?: string; tool?: string } = {}) =>
  runner.run('pre_tool', { session: extra.session ?? 's1', agent: extra.agent ?? 'main', tool: extra.tool ?? 'read', input });

describe('doom_loop_guard', () => {
  it('asks on the third identical call in a row, with the count in the reason', async () => {
    expect((await call({ path: 'a', limit: 10 })).result.decision).toBe('allow');
    expect((await call({ limit: 10, path: 'a' })).result.decision).toBe('allow'); // key order does not matter
    const third = await call({ path: 'a', limit: 10 });
    expect(third.result.decision).toBe('ask');
    expect(third.result.reason).toMatch(/same read call was made 3 times in a row/);
    expect((await call({ path: 'a', limit: 10 })).result.reason).toMatch(/4 times/);
  });

  it('resets on a different call, and counts per session and per tool', async () => {
    await call({ path: 'a' });
    await call({ path: 'a' });
    await call({ path: 'b' });
    expect((await call({ path: 'a' })).result.decision).toBe('allow');
    await call({ path: 'a' }, { session: 's2' });
    await call({ path: 'a' }, { session: 's2', tool: 'list' });
    expect((await call({ path: 'a' }, { session: 's2' })).result.decision).toBe('allow');
  });

  it('honours threshold and decision options', async () => {
    const strict = await HookRunner.create({ pre_tool: [{ builtin: 'doom_loop_guard', options: { threshold: 2, decision: 'deny' } }] }, { baseDir: '.' });
    try {
      const ev = { session: 's', agent: 'main', tool: 'shell', input: { command: 'npm test' } };
      expect((await strict.run('pre_tool', ev)).result.decision).toBe('allow');
      expect((await strict.run('pre_tool', ev)).result.decision).toBe('deny');
    } finally {
      strict.dispose();
    }
  });
});
