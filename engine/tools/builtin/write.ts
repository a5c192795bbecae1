/** `write`: a whole file, atomically (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { WriteInput } from '../../../sandbox/fs/schemas.js';
import { defineTool, inputPath } from '../definition.js';

export const writeTool = defineTool({
  name: 'write',
  description: 'Write a file atomically (creates parent directories inside the workspace).',
  inputSchema: WriteInput,
  kind: 'fs',
  mutates: true,
  writtenPath: inputPath,
  aliases: TOOL_ACCESS.write.aliases.map((name) => ({ name, renames: { file_path: 'path' } })),
});
