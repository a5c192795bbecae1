/**
 * `todo_write`: the agent's todo list, kept per session in memory (the audit log has every version).
 * The whole tool lives in this file (schema, definition, executor): the "how to add a tool" recipe.
 */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { TodoItem } from '../../../sandbox/hooks/index.js';
import type { ExecContext, ExecResult, Executor } from '../../executors/types.js';
import { defineTool } from '../definition.js';

export const TodoWriteInput = {
  type: 'object',
  additionalProperties: false,
  required: ['todos'],
  properties: {
    todos: {
      type: 'array',
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['content', 'status'],
        properties: {
          content: { type: 'string', minLength: 1, maxLength: 2000 },
          status: { enum: ['pending', 'in_progress', 'completed'] },
          id: { type: 'string', maxLength: 200 },
        },
      },
    },
  },
} as const satisfies JSONSchema;
export type TodoWriteInput = FromSchema<typeof TodoWriteInput>;

/** One pipeline's todo lists, by session. */
export class TodoWriteExecutor implements Executor {
  private readonly lists = new Map<string, TodoItem[]>();

  describe(): string {
    return 'in-process';
  }

  /** The session's current todo list (empty when the agent never wrote one). */
  todos(session: string): TodoItem[] {
    return this.lists.get(session) ?? [];
  }

  async run(_tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult> {
    // The pipeline validated the input against TodoWriteInput.
    const todos = (input as TodoWriteInput).todos.map((t) => ({ ...t }));
    this.lists.set(ctx.session, todos);
    const done = todos.filter((t) => t.status === 'completed').length;
    const mark = (t: TodoItem): string => (t.status === 'completed' ? 'x' : t.status === 'in_progress' ? '~' : ' ');
    const output = `Todo list updated: ${done}/${todos.length} done.` + (todos.length ? '\n' + todos.map((t) => `[${mark(t)}] ${t.content}`).join('\n') : '');
    return { ok: true, output, truncated: false, bytes: Buffer.byteLength(output) };
  }

  async close(): Promise<void> {
    this.lists.clear();
  }
}

export const todoWriteTool = defineTool({
  name: 'todo_write',
  description: 'Replace your todo list for this session (keep it current: hooks remind you of open items before you stop).',
  inputSchema: TodoWriteInput,
  kind: 'agent',
  mutates: false,
  aliases: ['TodoWrite'],
  executor: () => new TodoWriteExecutor(),
});
