/** `glob`: find files by pattern (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { GlobInput } from '../../../sandbox/fs/schemas.js';
import { defineTool } from '../definition.js';

export const globTool = defineTool({
  name: 'glob',
  description: 'Find files by glob pattern; paths relative to the workspace root, sorted; files .gitignore excludes are skipped unless include_ignored is true.',
  inputSchema: GlobInput,
  kind: 'fs',
  mutates: false,
  aliases: TOOL_ACCESS.glob.aliases,
});
