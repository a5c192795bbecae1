/**
 * Per-process limits of jailed MCP stdio servers (`settings.mcp.SERVER.limits`): the server's own
 * /proc/self/limits shows them (hard, core files off), defaults apply to a server the policy says
 * nothing about, and a server that goes past its address-space limit is an error result and a restart,
 * never a hung session.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { DEFAULT_SERVER_LIMITS } from '../../engine/mcp/connection.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { loadPolicyText, PolicyError } from '../../policies/index.js';
import { tempDir } from '../helpers/tmp.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const server = join(fixtures, 'bad-server.cjs');
const root = tempDir('icode-mcp-limits-');
const ws = join(root, 'ws');
const GiB = 1024 ** 3;
let pipeline: Pipeline;
let manager: McpManager;

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { small: { command: 'node', args: [server, 'ok'] }, plain: { command: 'node', args: [server, 'ok'] } } }));
  writeFileSync(
    join(root, 'policy.yaml'),
    [
      'version: 1',
      'default: allow',
      'settings:',
      '  mcp:',
      `    small: { read_only: [${JSON.stringify(fixtures)}], limits: { memory_bytes: ${GiB}, file_size_bytes: 1048576, cpu_seconds: 100 } }`,
      `    plain: { read_only: [${JSON.stringify(fixtures)}] }`,
      'rules: []',
      '',
    ].join('\n'),
  );
  pipeline = await createPipeline({ workspace: ws, policy: join(root, 'policy.yaml'), audit: join(root, 'audit.db'), session: 'limits' });
  manager = new McpManager(loadMcpConfig(pipeline.workspace).servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry, limits: { startTimeoutMs: 20_000, callTimeoutMs: 20_000 } });
  await manager.startAll();
}, 60_000);

afterAll(async () => {
  await manager?.close();
  await pipeline?.close();
});

/** `Max address space` → its hard limit as a number (Infinity for unlimited). */
function hardLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, m[3] === 'unlimited' ? Infinity : Number(m[3]));
  }
  return out;
}

const call = (srv: string, tool: string) => pipeline.call({ tool: `mcp__${srv}__${tool}`, input: {} });

describe('limits of a jailed stdio server', () => {
  it('the policy’s limits and the defaults are the server’s hard limits; no core files', async () => {
    expect(manager.get('small')!.confinement!.limits).toEqual({ ...DEFAULT_SERVER_LIMITS, memoryBytes: GiB, fileSizeBytes: 1048576, cpuSeconds: 100 });
    const small = hardLimits((await call('small', 'limits')).output ?? '');
    expect(small.get('Max address space')).toBe(GiB);
    expect(small.get('Max file size')).toBe(1048576);
    expect(small.get('Max cpu time')).toBe(100);
    expect(small.get('Max core file size')).toBe(0);
    const plain = hardLimits((await call('plain', 'limits')).output ?? '');
    expect(plain.get('Max address space')).toBe(DEFAULT_SERVER_LIMITS.memoryBytes);
    expect(plain.get('Max file size')).toBe(DEFAULT_SERVER_LIMITS.fileSizeBytes);
    expect(plain.get('Max cpu time')).toBe(DEFAULT_SERVER_LIMITS.cpuSeconds);
    expect(plain.get('Max core file size')).toBe(0);
  }, 60_000);

  it('past its address-space limit a server dies: an error result, then a fresh server answers', async () => {
    const before = await call('small', 'ping');
    expect(before.status).toBe('ok');
    const r = await call('small', 'alloc');
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/MCP server small: .*restarts on the next call/);
    const after = await call('small', 'ping');
    expect(after.status).toBe('ok');
    expect(after.output).not.toBe(before.output);
    // The same reservation within the default limit succeeds: the limit, not the machine, stopped it.
    expect(await call('plain', 'alloc')).toMatchObject({ status: 'ok', output: 'reserved 2048 MiB' });
  }, 60_000);

  it('a bad limit is a policy error at its line', async () => {
    const bad = loadPolicyText(['version: 1', 'settings:', '  mcp:', '    s:', '      limits: { memory_bytes: -1 }', ''].join('\n'), 'limits.yaml');
    await expect(bad).rejects.toBeInstanceOf(PolicyError);
    await expect(bad).rejects.toThrow(/limits\.yaml:5:.*memory_bytes/);
  });
});
