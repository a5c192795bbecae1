/**
 * Malformed MCP servers (test/mcp/fixtures/bad-server.cjs, run jailed like any stdio server): one that
 * prints garbage, one that exits at once, one that never answers, and tools that print garbage, exit,
 * hang or return a 50 MB result. Each is an error within its timeout, never a hung session: the
 * session's other server keeps working, and the misbehaving server is restarted for the next call.
 */
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
const root = tempDir('icode-mcp-bad-');
const ws = join(root, 'ws');
let pipeline: Pipeline;
let manager: McpManager;
const warnings: string[] = [];

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  const servers = Object.fromEntries(['start-garbage', 'start-exit', 'start-silent', 'ok'].map((m) => [m.replace('start-', 's-'), { command: 'node', args: [server, m] }]));
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: servers }));
  const readOnly = Object.keys(servers).map((n) => `    ${n}: { read_only: [${JSON.stringify(fixtures)}] }`);
  writeFileSync(join(root, 'policy.yaml'), ['version: 1', 'default: allow', 'settings:', '  mcp:', ...readOnly, 'rules: []', ''].join('\n'));
  pipeline = await createPipeline({ workspace: ws, policy: join(root, 'policy.yaml'), audit: join(root, 'audit.db'), session: 'bad' });
  manager = new McpManager(loadMcpConfig(pipeline.workspace).servers, {
    workspace: pipeline.workspace,
    policy: pipeline.policy,
    registry: pipeline.registry,
    limits: { startTimeoutMs: 4000, callTimeoutMs: 4000 },
    warn: (m) => void warnings.push(m),
  });
  await manager.startAll();
}, 60_000);

afterAll(async () => {
  await manager?.close();
  await pipeline?.close();
});

describe('servers that cannot start', () => {
  it('garbage, an exit at once, or silence: each fails its start with a reason, the others start', () => {
    expect(manager.get('s-garbage')).toMatchObject({ state: 'failed' });
    expect(manager.get('s-garbage')!.lastError).toMatch(/not an MCP message|did not start|timed out/i);
    expect(manager.get('s-exit')).toMatchObject({ state: 'failed' });
    expect(manager.get('s-exit')!.lastError).toMatch(/exiting at once|closed/);
    expect(manager.get('s-silent')).toMatchObject({ state: 'failed' });
    expect(manager.get('s-silent')!.lastError).toMatch(/did not start|timed out/i);
    expect(manager.get('ok')).toMatchObject({ state: 'ready' });
    expect(warnings.filter((w) => w.includes('s-'))).toHaveLength(3);
  });
});

describe('tools that misbehave', () => {
  const call = (tool: string) => pipeline.call({ tool: `mcp__ok__${tool}`, input: {} });

  it.each(['garbage', 'exit', 'hang', 'huge'])('%s: an error result, then the server restarts and answers again', async (tool) => {
    const before = await call('ping');
    expect(before.status).toBe('ok');
    const r = await call(tool);
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/MCP server ok: .*restarts on the next call/);
    expect((r.output ?? '').length).toBeLessThan(200_000);
    const after = await call('ping');
    expect(after.status).toBe('ok');
    expect(after.output).toMatch(/^pong from [0-9a-f]{12}$/);
    expect(after.output).not.toBe(before.output); // a fresh process
  }, 60_000);

  it('a failed server is a recorded error, and the pipeline goes on with other tools', async () => {
    const r = await pipeline.call({ tool: 'list', input: { path: '.' } });
    expect(r.status).toBe('ok');
    pipeline.audit.flush();
    const outcomes = pipeline.audit.list({ session: 'bad' }).filter((row) => row.kind === 'outcome' && row.status === 'error');
    expect(outcomes.length).toBeGreaterThanOrEqual(4);
  });
});
