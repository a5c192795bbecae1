/** `shell`: a bash command in the session's jail (the pipeline's shell executor runs it). */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { defineTool } from '../definition.js';

export const ShellInput = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: {
    command: { type: 'string', minLength: 1, maxLength: 65536 },
    timeout_ms: { type: 'integer', minimum: 100, maximum: 3600000 },
    description: { type: 'string', maxLength: 1000 },
  },
} as const satisfies JSONSchema;
export type ShellInput = FromSchema<typeof ShellInput>;

export const shellTool = defineTool({
  name: 'shell',
  description: 'Run a shell command (bash) in the session jail, starting in the workspace root.',
  inputSchema: ShellInput,
  kind: 'shell',
  // A command may change anything the jail lets it write.
  mutates: true,
  aliases: TOOL_ACCESS.shell.aliases.map((name) => (name === 'Bash' ? { name, renames: { timeout: 'timeout_ms' }, neutral: { run_in_background: false } } : name)),
});
