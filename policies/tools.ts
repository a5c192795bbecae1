/**
 * Canonical tool names, their aliases, and what each tool touches — the policy's access model.
 * The engine owns the tools' JSON Schemas; the policy only needs to know which input fields are paths.
 */

export const FS_READ_TOOLS = ['read', 'glob', 'grep', 'list'] as const;
export const FS_WRITE_TOOLS = ['write', 'edit'] as const;
export const BUILTIN_TOOLS = [...FS_READ_TOOLS, ...FS_WRITE_TOOLS, 'shell', 'task', 'todo_write'] as const;

/** Claude Code's and other agents' names for icode's tools. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  Read: 'read',
  Write: 'write',
  Edit: 'edit',
  MultiEdit: 'edit',
  Glob: 'glob',
  Grep: 'grep',
  LS: 'list',
  ls: 'list',
  Bash: 'shell',
  bash: 'shell',
  Task: 'task',
  TodoWrite: 'todo_write',
});

/** The canonical name for a tool name as an agent or a rule wrote it (unknown names are returned as given). */
export function canonicalToolName(name: string): string {
  return Object.prototype.hasOwnProperty.call(ALIASES, name) ? ALIASES[name] : name;
}

export type PathAccess = 'read' | 'write';

/** A path a tool call touches, as written in its input (not yet resolved). */
export interface AccessedPath {
  path: string;
  access: PathAccess;
}

/** The paths an fs tool call touches. Search tools default to the workspace root. */
export function accessedPaths(tool: string, input: Record<string, unknown>): AccessedPath[] {
  const p = input.path;
  switch (tool) {
    case 'read':
      return typeof p === 'string' ? [{ path: p, access: 'read' }] : [];
    case 'write':
    case 'edit':
      return typeof p === 'string' ? [{ path: p, access: 'write' }] : [];
    case 'glob':
    case 'grep':
    case 'list':
      return [{ path: typeof p === 'string' && p !== '' ? p : '.', access: 'read' }];
    default:
      return [];
  }
}

/** The network host a call reaches, for tools that take a `url` or `host`. */
export function accessedHost(input: Record<string, unknown>): string | null {
  if (typeof input.host === 'string') return input.host.toLowerCase();
  if (typeof input.url === 'string') {
    try {
      return new URL(input.url).hostname.toLowerCase();
    } catch {
      return null;
    }
  }
  return null;
}
