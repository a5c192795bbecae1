/** `edit`: replace a unique string in a file (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { EditInput } from '../../../sandbox/fs/schemas.js';
import { defineTool, inputPath } from '../definition.js';

export const editTool = defineTool({
  name: 'edit',
  description: 'Replace old_string with new_string in a file; old_string must be unique unless replace_all is true.',
  inputSchema: EditInput,
  kind: 'fs',
  mutates: true,
  writtenPath: inputPath,
  // Only Claude Code's `Edit` shares edit's fields (MultiEdit's `edits` list has no icode equivalent).
  aliases: TOOL_ACCESS.edit.aliases.map((name) => (name === 'Edit' ? { name, renames: { file_path: 'path' } } : name)),
});
