/**
 * What a jailed stdio server gets: only the variables its config names (never icode's own), no network
 * unless the policy's `settings.mcp.SERVER.network` says so, and a config that tries to set a variable
 * that loads code (NODE_OPTIONS, LD_PRELOAD) is refused at start with the reason.
 */
import { createServer, type Server as NetServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const server = join(fixtures, 'bad-server.cjs');
const root = tempDir('icode-mcp-env-');
const ws = join(root, 'ws');
let pipeline: Pipeline;
let manager: McpManager;
let listener: NetServer;
const warnings: string[] = [];

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  listener = createServer((s) => s.end());
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const port = String((listener.address() as { port: number }).port);
  process.env.ICODE_TEST_PARENT_SECRET = 'parent-secret-value';
  const entry = (env: Record<string, string>) => ({ command: 'node', args: [server, 'ok'], env: { PROBE_PORT: port, ...env } });
  writeFileSync(
    join(ws, '.mcp.json'),
    JSON.stringify({ mcpServers: { closed: entry({ NAMED: 'named-value' }), open: entry({}), sneaky: entry({ NODE_OPTIONS: '--require /tmp/x.js' }), preload: entry({ LD_PRELOAD: '/tmp/x.so' }) } }),
  );
  const ro = (n: string, extra = '') => `    ${n}: { read_only: [${JSON.stringify(fixtures)}]${extra} }`;
  writeFileSync(join(root, 'policy.yaml'), ['version: 1', 'default: allow', 'settings:', '  mcp:', ro('closed'), ro('open', ', network: true'), ro('sneaky'), ro('preload'), 'rules: []', ''].join('\n'));
  pipeline = await createPipeline({ workspace: ws, policy: join(root, 'policy.yaml'), audit: join(root, 'audit.db'), session: 'env' });
  manager = new McpManager(loadMcpConfig(pipeline.workspace).servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry, limits: { startTimeoutMs: 8000 }, warn: (m) => void warnings.push(m) });
  await manager.startAll();
}, 60_000);

afterAll(async () => {
  delete process.env.ICODE_TEST_PARENT_SECRET;
  await manager?.close();
  await pipeline?.close();
  await new Promise<void>((r) => listener.close(() => r()));
});

describe('a jailed stdio server', () => {
  it("sees the variables its config names and none of icode's", async () => {
    const r = await pipeline.call({ tool: 'mcp__closed__env', input: {} });
    expect(r.status).toBe('ok');
    const env = JSON.parse(r.output!) as Record<string, string>;
    expect(env.NAMED).toBe('named-value');
    expect(env.HOME).toBe('/home/agent');
    expect(env.ICODE_TEST_PARENT_SECRET).toBeUndefined();
    expect(r.output).not.toContain('parent-secret-value');
  });

  it('has no network unless the policy gives it to that server', async () => {
    const closed = await pipeline.call({ tool: 'mcp__closed__net', input: {} });
    expect(closed.output).toMatch(/^refused: /);
    const open = await pipeline.call({ tool: 'mcp__open__net', input: {} });
    expect(open.output).toBe('connected');
  });

  it('refuses to start with a variable that loads code, and says why', () => {
    for (const [name, v] of [['sneaky', 'NODE_OPTIONS'], ['preload', 'LD_PRELOAD']] as const) {
      expect(manager.get(name)!.state).toBe('failed');
      expect(manager.get(name)!.lastError).toContain(`${v} may not be set`);
    }
  });
});
