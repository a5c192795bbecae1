/** `list`: one directory (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { ListInput } from '../../../sandbox/fs/schemas.js';
import { defineTool } from '../definition.js';

export const listTool = defineTool({
  name: 'list',
  description: 'List a directory (directories end with /, symlinks are shown, not followed).',
  inputSchema: ListInput,
  kind: 'fs',
  mutates: false,
  aliases: TOOL_ACCESS.list.aliases,
});
