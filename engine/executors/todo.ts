/** The `todo_write` tool: the agent's todo list, kept per session in memory (the audit log has every version). */
import type { TodoItem } from '../../sandbox/hooks/index.js';
import type { ExecContext, ExecResult, Executor } from './types.js';

export class TodoExecutor implements Executor {
  private readonly lists = new Map<string, TodoItem[]>();

  describe(): string {
    return 'in-process';
  }

  /** The session's current todo list (empty when the agent never wrote one). */
  todos(session: string): TodoItem[] {
    return this.lists.get(session) ?? [];
  }

  async run(_tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult> {
    // The input was validated against todo_write's schema by the pipeline.
    const todos = (input.todos as TodoItem[]).map((t) => ({ ...t }));
    this.lists.set(ctx.session, todos);
    const done = todos.filter((t) => t.status === 'completed').length;
    const output = `Todo list updated: ${done}/${todos.length} done.` + (todos.length ? '\n' + todos.map((t) => `[${t.status === 'completed' ? 'x' : t.status === 'in_progress' ? '~' : ' '}] ${t.content}`).join('\n') : '');
    return { ok: true, output, truncated: false, bytes: Buffer.byteLength(output) };
  }

  async close(): Promise<void> {
    this.lists.clear();
  }
}
