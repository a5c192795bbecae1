/**
 * The policy's access model of the tools it understands specially: the path-aware file tools and the
 * shell. Pure data, because policies are loaded and tested without the engine (`icode policy test`,
 * rule examples); the engine's tool definitions (engine/tools/builtin/*.ts) read their aliases from
 * here. Any other tool (todo_write, MCP tools, sub-agents) is known to the engine's ToolRegistry only:
 * the engine canonicalizes a call's tool name before the policy sees it.
 */

export type PathAccess = 'read' | 'write';

export interface ToolAccess {
  /** Claude Code's and other agents' names for the tool. */
  readonly aliases: readonly string[];
  /** The input field holding the one path the tool touches, and how it touches it. */
  readonly path?: { readonly access: PathAccess; /** used when the field is absent or empty (search tools: the root) */ readonly default?: string };
}

export const TOOL_ACCESS = {
  read: { aliases: ['Read'], path: { access: 'read' } },
  write: { aliases: ['Write'], path: { access: 'write' } },
  edit: { aliases: ['Edit', 'MultiEdit'], path: { access: 'write' } },
  glob: { aliases: ['Glob'], path: { access: 'read', default: '.' } },
  grep: { aliases: ['Grep'], path: { access: 'read', default: '.' } },
  list: { aliases: ['LS', 'ls'], path: { access: 'read', default: '.' } },
  shell: { aliases: ['Bash', 'bash'] },
} as const satisfies Record<string, ToolAccess>;

const ACCESS: ReadonlyMap<string, ToolAccess> = new Map(Object.entries(TOOL_ACCESS));
const toolsWith = (access: PathAccess): string[] => Object.entries(TOOL_ACCESS).filter(([, a]) => 'path' in a && a.path.access === access).map(([n]) => n);

export const FS_READ_TOOLS: readonly string[] = Object.freeze(toolsWith('read'));
export const FS_WRITE_TOOLS: readonly string[] = Object.freeze(toolsWith('write'));

const ALIASES: ReadonlyMap<string, string> = new Map(Object.entries(TOOL_ACCESS).flatMap(([name, a]) => a.aliases.map((alias) => [alias, name] as const)));

/** The canonical name for a tool name as an agent or a rule wrote it (unknown names are returned as given). */
export function canonicalToolName(name: string): string {
  return ALIASES.get(name) ?? name;
}

/** A path a tool call touches, as written in its input (not yet resolved). */
export interface AccessedPath {
  path: string;
  access: PathAccess;
}

/** The paths an fs tool call touches. Search tools default to the workspace root. */
export function accessedPaths(tool: string, input: Record<string, unknown>): AccessedPath[] {
  const spec = ACCESS.get(tool)?.path;
  if (!spec) return [];
  const p = input.path;
  if (typeof p === 'string' && (p !== '' || spec.default === undefined)) return [{ path: p, access: spec.access }];
  return spec.default !== undefined ? [{ path: spec.default, access: spec.access }] : [];
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
