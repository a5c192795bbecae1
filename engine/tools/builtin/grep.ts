/** `grep`: search file contents (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { GrepInput } from '../../../sandbox/fs/schemas.js';
import { defineTool } from '../definition.js';

export const grepTool = defineTool({
  name: 'grep',
  description: 'Search file contents with a regular expression (ripgrep-like; respects .gitignore).',
  inputSchema: GrepInput,
  kind: 'fs',
  mutates: false,
  aliases: TOOL_ACCESS.grep.aliases.map((name) => (name === 'Grep' ? { name, renames: { '-i': 'case_insensitive', '-C': 'context' }, neutral: { '-n': true } } : name)),
});
