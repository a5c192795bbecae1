/** The built-in tools, in the order the model is shown them. One file per tool. */
import type { ToolDefinition } from '../definition.js';
import { editTool } from './edit.js';
import { globTool } from './glob.js';
import { grepTool } from './grep.js';
import { listTool } from './list.js';
import { readTool } from './read.js';
import { shellTool } from './shell.js';
import { todoWriteTool } from './todo-write.js';
import { webFetchTool } from './web-fetch.js';
import { writeTool } from './write.js';

export const BUILTIN_TOOLS: readonly ToolDefinition[] = Object.freeze([readTool, writeTool, editTool, globTool, grepTool, listTool, shellTool, todoWriteTool, webFetchTool]);
