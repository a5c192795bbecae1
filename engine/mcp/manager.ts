/**
 * The session's MCP servers: one McpConnection per configured server, started together (in parallel,
 * each bounded by its start timeout), their tools registered in the pipeline's registry as
 * `mcp__SERVER__TOOL` with the server's JSON Schema and an executor that calls the server. A tool-list
 * change re-registers the server's tools. A server that cannot start is reported, never fatal.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../../policies/index.js';
import type { Executor } from '../executors/types.js';
import type { ToolDefinition } from '../tools/definition.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { McpServerConfig } from './config.js';
import { McpConnection, type Confinement, type ConnectionLimits } from './connection.js';

export const MCP_PREFIX = 'mcp__';
const MAX_SCHEMA_CHARS = 100_000;

/** The name the model and the policy see; null when it cannot be a provider tool name. */
export function mcpToolName(server: string, tool: string): string | null {
  const t = tool.replace(/[^A-Za-z0-9_-]/g, '_');
  const name = `${MCP_PREFIX}${server}__${t}`;
  return name.length <= 64 ? name : null;
}

export interface ManagerOptions {
  workspace: string;
  policy: CompiledPolicy | null;
  /** The session's control files inside the workspace (read-only even to a server with a writable workspace). */
  controlPaths?: readonly string[];
  registry: ToolRegistry;
  limits?: Partial<ConnectionLimits>;
  /** Where problems (a server that cannot start, a tool that cannot be offered) are reported. */
  warn?: (message: string) => void;
}

export class McpManager {
  readonly connections: McpConnection[];
  private readonly registered = new Map<string, string[]>();

  constructor(
    servers: readonly McpServerConfig[],
    private readonly opts: ManagerOptions,
  ) {
    this.connections = servers.map((s) => {
      const c = new McpConnection(s, { workspace: opts.workspace, policy: opts.policy, controlPaths: opts.controlPaths ?? [], limits: opts.limits });
      c.onToolsChanged = () => this.registerTools(c);
      return c;
    });
  }

  get(server: string): McpConnection | undefined {
    return this.connections.find((c) => c.name === server);
  }

  /** Starts every server (or only `only`); each failure is warned about and leaves that server's tools out. */
  async startAll(only?: string): Promise<void> {
    await Promise.all(
      this.connections.filter((c) => only === undefined || c.name === only).map(async (c) => {
        try {
          await c.start();
          this.registerTools(c);
        } catch (e) {
          this.opts.warn?.(`MCP server ${c.name}: ${(e as Error).message}`);
        }
      }),
    );
  }

  /** (Re-)registers a server's tools from its current list. */
  registerTools(c: McpConnection): void {
    const reg = this.opts.registry;
    for (const n of this.registered.get(c.name) ?? []) reg.unregister(n);
    const names: string[] = [];
    for (const t of c.tools) {
      const def = this.definition(c, t);
      if (!def) continue;
      try {
        reg.register(def);
        names.push(def.name);
      } catch (e) {
        this.opts.warn?.(`MCP server ${c.name}: tool ${t.name} not offered: ${(e as Error).message}`);
      }
    }
    this.registered.set(c.name, names);
  }

  /** Canonical tool names a server offers right now. */
  toolNames(server: string): string[] {
    return this.registered.get(server) ?? [];
  }

  private definition(c: McpConnection, t: Tool): ToolDefinition | null {
    const name = mcpToolName(c.name, t.name);
    if (!name) {
      this.opts.warn?.(`MCP server ${c.name}: tool ${t.name} not offered: its name would be longer than 64 characters`);
      return null;
    }
    // `$schema` names a draft ajv may not have loaded; the schema's own keywords are what is checked.
    const { $schema: _drop, ...schema } = (t.inputSchema ?? { type: 'object' }) as Record<string, unknown>;
    // The schema is the server's (untrusted): a huge one is refused rather than compiled.
    if (JSON.stringify(schema).length > MAX_SCHEMA_CHARS) {
      this.opts.warn?.(`MCP server ${c.name}: tool ${t.name} not offered: its input schema is larger than ${MAX_SCHEMA_CHARS} characters`);
      return null;
    }
    const remote = t.name;
    return {
      name,
      description: `${t.description ?? t.title ?? remote} (MCP server ${c.name})`.slice(0, 4000),
      inputSchema: schema,
      kind: 'mcp',
      // Whether the tool can change the workspace (what checkpoints need) follows from what the server's
      // jail lets it reach, never from its own readOnlyHint (a server's annotations are untrusted): a
      // writable or unjailed stdio server may change it with any tool, a read-only one or a remote one
      // cannot with any.
      mutates: canWriteWorkspace(c.confinement),
      executor: (): Executor => ({
        run: (_tool, input, ctx) => c.callTool(remote, input, ctx.signal),
        describe: () => `mcp:${c.name}`,
        close: async () => undefined,
      }),
    };
  }

  async close(): Promise<void> {
    for (const [, names] of this.registered) for (const n of names) this.opts.registry.unregister(n);
    this.registered.clear();
    await Promise.allSettled(this.connections.map((c) => c.close()));
  }
}

/** A stdio server jailed with a writable workspace, or not jailed at all; remote servers never reach it. */
function canWriteWorkspace(conf: Confinement | null): boolean {
  return conf !== null && (conf.jail === 'none' || conf.workspace === 'read-write');
}
