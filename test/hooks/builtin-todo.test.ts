import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import type { StopEvent, TodoItem } from '../../sandbox/hooks/types.js';

let runner: HookRunner;
beforeEach(async () => {
  runner = await HookRunner.create(
    {
      stop: [{ builtin: 'todo_continuation_enforcer', options: { max_reminders: 3 } }],
      subagent_stop: [{ builtin: 'todo_continuation_enforcer', options: { max_reminders: 3 } }],
    },
    { baseDir: '.' },
  );
});
afterEach(() => runner.dispose());

const todos = (...statuses: TodoItem['status'][]): TodoItem[] => statuses.map((status, i) => ({ content: `task ${i + 1}`, status }));
const stop = (extra: Partial<Omit<StopEvent, 'point'>> = {}) => runner.run('stop', { session: 's1', agent: 'main', tools: ['read', 'edit'], ...extra });

describe('todo_continuation_enforcer', () => {
  it('refuses a stop with open items and reports x/y done and the open items', async () => {
    const { result, outcomes } = await stop({ todos: todos('completed', 'in_progress', 'pending') });
    expect(result.block).toBe(true);
    expect(result.message).toContain('1/3 done');
    expect(result.message).toContain('- [in_progress] task 2');
    expect(result.message).toContain('- [pending] task 3');
    expect(result.message).not.toContain('task 1');
    expect(outcomes[0]).toMatchObject({ hook: 'todo_continuation_enforcer', kind: 'builtin', status: 'ok' });
  });

  it('lets the agent stop when everything is done or there is no list', async () => {
    expect((await stop({ todos: todos('completed', 'completed') })).result.block).toBe(false);
    expect((await stop({})).result.block).toBe(false);
  });

  it('no-progress guard: no second reminder while the todo list is unchanged', async () => {
    const list = todos('completed', 'pending');
    expect((await stop({ todos: list })).result.block).toBe(true);
    const again = await stop({ todos: list });
    expect(again.result.block).toBe(false);
    expect(again.outcomes[0].logs?.[0]).toMatch(/has not changed/);
    // Progress (a status changed) earns another reminder.
    expect((await stop({ todos: todos('completed', 'in_progress') })).result.block).toBe(true);
  });

  it('gives at most max_reminders per session, then lets it stop', async () => {
    const states: TodoItem['status'][][] = [
      ['pending', 'pending', 'pending', 'pending'],
      ['in_progress', 'pending', 'pending', 'pending'],
      ['completed', 'in_progress', 'pending', 'pending'],
      ['completed', 'completed', 'in_progress', 'pending'],
    ];
    const blocks = [];
    for (const s of states) blocks.push((await stop({ todos: todos(...s) })).result.block);
    expect(blocks).toEqual([true, true, true, false]);
    // Another session has its own budget.
    expect((await stop({ session: 's2', todos: todos('pending') })).result.block).toBe(true);
  });

  it.each([
    ['after an error', { last_error: 'provider returned 529' }],
    ['after a user abort', { aborted: true }],
    ['for an agent without write tools', { tools: ['read', 'grep', 'glob'] }],
    ['when switched off in the event', { disabled_hooks: ['todo_continuation_enforcer'] }],
  ])('stays quiet %s', async (_why, extra) => {
    expect((await stop({ todos: todos('pending'), ...extra })).result.block).toBe(false);
    // And the guard did not spend a reminder: the same list still gets one afterwards.
    expect((await stop({ todos: todos('pending') })).result.block).toBe(true);
  });

  it('can be switched off for one session through the kv flag', async () => {
    expect(runner.setKv('todo_continuation_enforcer', 's1', 'disabled', true)).toBe(true);
    expect((await stop({ todos: todos('pending') })).result.block).toBe(false);
    expect((await stop({ session: 's2', todos: todos('pending') })).result.block).toBe(true);
  });

  it('serves subagent_stop too', async () => {
    const { result } = await runner.run('subagent_stop', { session: 's1', agent: 'researcher', todos: todos('pending') });
    expect(result.block).toBe(true);
  });
});
