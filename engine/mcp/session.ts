/** The MCP servers of one session: configured in the workspace, started with the pipeline, closed with it. */
import type { Pipeline } from '../pipeline.js';
import { loadMcpConfig } from './config.js';
import { McpManager } from './manager.js';

/** Starts the workspace's servers on the pipeline's registry (null when none is configured). Warnings go to stderr. */
export async function startSessionServers(p: Pipeline, warn: (m: string) => void = (m) => void process.stderr.write(`icode: ${m}\n`)): Promise<McpManager | null> {
  const cfg = loadMcpConfig(p.workspace, process.env, p.policy?.settings.env ?? []);
  for (const w of cfg.warnings) warn(w);
  if (cfg.servers.length === 0) return null;
  const manager = new McpManager(cfg.servers, { workspace: p.workspace, policy: p.policy, controlPaths: p.controlPaths, registry: p.registry, warn });
  await manager.startAll();
  // Which servers ran, how confined, with what result: recorded beside the session's calls.
  await Promise.all(
    manager.connections.map((c) =>
      p.audit
        .recordEvent('mcp.server', p.session, {
          server: c.name,
          transport: c.config.transport,
          target: c.config.transport === 'stdio' ? [c.config.command, ...c.config.args] : c.config.url,
          confinement: c.confinement,
          state: c.state,
          tools: manager.toolNames(c.name),
          ...(c.lastError ? { error: c.lastError } : {}),
        })
        .catch((e: unknown) => warn(`could not record MCP server ${c.name} in the audit log: ${(e as Error).message}`)),
    ),
  );
  return manager;
}
