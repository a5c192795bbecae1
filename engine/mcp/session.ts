/** The MCP servers of one session: configured in the workspace, started with the pipeline, closed with it. */
import type { Pipeline } from '../pipeline.js';
import { loadMcpConfig } from './config.js';
import { McpManager } from './manager.js';

/** Starts the workspace's servers on the pipeline's registry (null when none is configured). Warnings go to stderr. */
export async function startSessionServers(p: Pipeline, warn: (m: string) => void = (m) => void process.stderr.write(`icode: ${m}\n`)): Promise<McpManager | null> {
  const cfg = loadMcpConfig(p.workspace);
  for (const w of cfg.warnings) warn(w);
  if (cfg.servers.length === 0) return null;
  const manager = new McpManager(cfg.servers, { workspace: p.workspace, policy: p.policy, registry: p.registry, warn });
  await manager.startAll();
  return manager;
}
