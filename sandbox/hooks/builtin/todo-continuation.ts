/**
 * todo_continuation_enforcer (stop, subagent_stop): when an agent stops while its todo list has open
 * items, refuse the stop and hand it a reminder (`x/y done` and the open items).
 *
 * Guards against the loops such hooks are known for — no reminder when:
 * - the hook is switched off for the session (`event.disabled_hooks` names it, or kv key `disabled` is true);
 * - the turn ended on an error (`event.last_error`) or a user abort (`event.aborted`);
 * - the agent has no write tools (`event.tools` given and without write, edit or shell);
 * - `max_reminders` reminders were given in this session already (default 3);
 * - the todo list has not changed since the last reminder to this agent (no-progress fingerprint).
 */
import type { HookApi, HookEvent, HookPoint, StopEvent, StopResult, TodoItem } from '../types.js';
import { fingerprint } from '../stable-json.js';
import { checkKeys, intOption, stringListOption } from './options.js';
import type { BuiltinHook } from './types.js';

export const TODO_ENFORCER = 'todo_continuation_enforcer';

function isOpen(t: TodoItem): boolean {
  return t.status === 'pending' || t.status === 'in_progress';
}

function validTodos(todos: unknown): TodoItem[] {
  if (!Array.isArray(todos)) return [];
  return todos.filter(
    (t): t is TodoItem => typeof t === 'object' && t !== null && typeof (t as TodoItem).content === 'string' && typeof (t as TodoItem).status === 'string',
  );
}

function reminderText(todos: TodoItem[], n: number, max: number): string {
  const done = todos.filter((t) => t.status === 'completed').length;
  const open = todos.filter(isOpen);
  const lines = open.slice(0, 20).map((t) => `- [${t.status}] ${t.content.length > 200 ? t.content.slice(0, 199) + '…' : t.content}`);
  if (open.length > 20) lines.push(`- … and ${open.length - 20} more`);
  return [
    `Your todo list is not finished: ${done}/${todos.length} done. Open items:`,
    ...lines,
    'Continue with the open items. If an item is no longer needed, update the todo list (mark it completed or remove it) before you stop.',
    `(reminder ${n} of ${max})`,
  ].join('\n');
}

export function createTodoContinuationEnforcer(options: Record<string, unknown>): BuiltinHook {
  checkKeys(TODO_ENFORCER, options, ['max_reminders', 'write_tools']);
  const max = intOption(TODO_ENFORCER, options, 'max_reminders', 3, 0, 100);
  const writeTools = stringListOption(TODO_ENFORCER, options, 'write_tools', ['write', 'edit', 'shell']);

  return {
    name: TODO_ENFORCER,
    points: ['stop', 'subagent_stop'],
    invoke(_point: HookPoint, raw: HookEvent, api: HookApi): StopResult {
      const event = raw as StopEvent;
      const skip = (why: string): StopResult => {
        api.log(`no reminder: ${why}`);
        return {};
      };
      if (event.disabled_hooks?.includes(TODO_ENFORCER) || api.kv.get('disabled') === true) return skip('switched off for this session');
      if (event.aborted) return skip('the user aborted');
      if (event.last_error) return skip('the turn ended on an error');
      if (Array.isArray(event.tools) && !event.tools.some((t) => writeTools.includes(t))) return skip('the agent has no write tools');
      const todos = validTodos(event.todos);
      if (!todos.some(isOpen)) return {};
      const count = typeof api.kv.get('reminders') === 'number' ? (api.kv.get('reminders') as number) : 0;
      if (count >= max) return skip(`${max} reminders given already`);
      const fpKey = `fp:${event.agent}`;
      const fp = fingerprint(todos.map((t) => [t.content, t.status]));
      if (api.kv.get(fpKey) === fp) return skip('the todo list has not changed since the last reminder');
      api.kv.set('reminders', count + 1);
      api.kv.set(fpKey, fp);
      return { block: true, message: reminderText(todos, count + 1, max) };
    },
  };
}
