/** `read`: a text file, numbered like cat -n (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { ReadInput } from '../../../sandbox/fs/schemas.js';
import { defineTool } from '../definition.js';

export const readTool = defineTool({
  name: 'read',
  description: 'Read a text file; lines are numbered like cat -n. Long lines and long files are cut with a marker that says how to read on.',
  inputSchema: ReadInput,
  kind: 'fs',
  mutates: false,
  aliases: TOOL_ACCESS.read.aliases.map((name) => ({ name, renames: { file_path: 'path' } })),
});
