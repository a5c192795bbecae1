/** `grep`: search file contents (the fs worker pool runs it). */
import { TOOL_ACCESS } from '../../../policies/tools.js';
import { GrepInput } from '../../../sandbox/fs/schemas.js';
import { defineTool } from '../definition.js';

export const grepTool = defineTool({
  name: 'grep',
  description: 'Search file contents with a regular expression (ripgrep\'s Rust regex syntax and output; respects .gitignore; hidden files are searched, .git is not).',
  inputSchema: GrepInput,
  kind: 'fs',
  mutates: false,
  // Claude Code's Grep spellings (-i, -n, -A, -B, -C, type, multiline) are fields of the one schema.
  aliases: TOOL_ACCESS.grep.aliases,
});
