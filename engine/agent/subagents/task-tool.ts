/**
 * `task`: delegate a bounded job to a sub-agent (Claude Code's Task tool: same fields, `Task` alias).
 * Registered at runtime by enableSubagents (engine/agent/subagents/manager.ts), which brings the executor.
 */
import type { ExecContext, ExecResult, Executor } from '../../executors/types.js';
import { defineTool, type ToolDefinition } from '../../tools/definition.js';

export const TaskInput = {
  type: 'object',
  additionalProperties: false,
  required: ['subagent_type', 'description', 'prompt'],
  properties: {
    subagent_type: { type: 'string', minLength: 1, maxLength: 64 },
    description: { type: 'string', minLength: 1, maxLength: 200 },
    prompt: { type: 'string', minLength: 1, maxLength: 100_000 },
  },
} as const;

export interface TaskRunner {
  runTask(input: { subagent_type: string; description: string; prompt: string }, ctx: ExecContext): Promise<ExecResult>;
}

/** The `task` tool over a runner; `mutates` when a sub-agent it can start may change the workspace. */
export function taskTool(runner: TaskRunner, agents: ReadonlyArray<{ name: string; description: string }>, mutates: boolean): ToolDefinition {
  return defineTool({
    name: 'task',
    description:
      'Delegate a bounded task to a sub-agent that works in its own context and returns its final report. ' +
      'Give it everything it needs in `prompt` (it does not see this conversation). Several task calls in one turn run in parallel. Sub-agents:\n' +
      agents.map((a) => `- ${a.name}: ${a.description}`).join('\n'),
    inputSchema: TaskInput,
    kind: 'agent',
    mutates,
    aliases: ['Task'],
    executor: (): Executor => ({
      describe: () => 'sub-agent',
      run: (_tool, input, ctx) => runner.runTask(input as { subagent_type: string; description: string; prompt: string }, ctx),
      close: async () => undefined,
    }),
  });
}
