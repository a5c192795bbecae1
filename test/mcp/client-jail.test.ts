/**
 * icode's MCP client against a real server from npm (@modelcontextprotocol/server-filesystem), started
 * over stdio inside the bwrap jail: tools listed and registered as mcp__fs__*, one call allowed and one
 * denied by the policy (both audited with the server's name), and the jail proven: the server given `/`
 * reads a file outside the workspace when run unjailed by the SDK's own transport, and cannot when
 * icode runs it.
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const serverJs = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
/** The node_modules folder the server is installed in: the policy lets its jail read it. */
const modules = realpathSync(join(dirname(serverJs), '..', '..', '..'));

const root = tempDir('icode-mcp-client-');
const ws = join(root, 'ws');
const outside = join(root, 'outside');
const secret = join(outside, 'secret.txt');
const policyFile = join(root, 'policy.yaml');
let pipeline: Pipeline;
let manager: McpManager;

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(ws, 'hello.txt'), 'hello from the workspace\n');
  writeFileSync(secret, 'TOP-SECRET-OUTSIDE\n');
  writeFileSync(
    join(ws, '.mcp.json'),
    JSON.stringify({ mcpServers: { fs: { command: 'node', args: [serverJs, '/'], env: { FS_NOTE: '${ICODE_TEST_UNSET:-x}' } } } }),
  );
  writeFileSync(
    policyFile,
    [
      'version: 1',
      'name: mcp-client-test',
      'default: allow',
      'settings:',
      '  mcp:',
      `    fs: { read_only: [${JSON.stringify(modules)}], workspace: read-write }`,
      'rules:',
      '  - id: no-mcp-writes',
      '    decision: deny',
      '    reason: the fs server may not write',
      '    tool: mcp__fs__write_*',
      '',
    ].join('\n'),
  );
  pipeline = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, 'audit.db'), session: 'mcp-client' });
  const cfg = loadMcpConfig(pipeline.workspace);
  const warnings: string[] = [];
  manager = new McpManager(cfg.servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry, warn: (m) => warnings.push(m) });
  await manager.startAll();
  expect(warnings).toEqual([]);
}, 60_000);

afterAll(async () => {
  await manager?.close();
  await pipeline?.close();
});

describe('a real MCP server from npm, jailed', () => {
  it('lists its tools and registers them as mcp__fs__*', () => {
    const c = manager.get('fs')!;
    expect(c.state).toBe('ready');
    expect(c.confinement).toMatchObject({ jail: 'bwrap', network: false, workspace: 'read-write' });
    const names = manager.toolNames('fs');
    expect(names).toContain('mcp__fs__read_text_file');
    expect(names).toContain('mcp__fs__write_file');
    expect(pipeline.registry.specs().find((s) => s.name === 'mcp__fs__read_text_file')?.inputSchema).toMatchObject({ type: 'object' });
  });

  it('runs an allowed call and refuses a denied one, both audited with the server name', async () => {
    const ok = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path: join(pipeline.workspace, 'hello.txt') } });
    expect(ok.status).toBe('ok');
    expect(ok.output).toContain('hello from the workspace');
    const denied = await pipeline.call({ tool: 'mcp__fs__write_file', input: { path: join(pipeline.workspace, 'x.txt'), content: 'x' } });
    expect(denied.status).toBe('denied');
    expect(denied.rule).toBe('no-mcp-writes');
    await pipeline.close();
    const { AuditLog } = await import('../../engine/audit/log.js');
    const log = AuditLog.open(join(root, 'audit.db'));
    try {
      const rows = log.list({ session: 'mcp-client' }).filter((r) => r.kind === 'decision');
      const read = rows.find((r) => r.tool === 'mcp__fs__read_text_file')!;
      expect(read).toMatchObject({ decision: 'allow', jail: 'mcp:fs' });
      expect(rows.find((r) => r.tool === 'mcp__fs__write_file')).toMatchObject({ decision: 'deny', rule: 'no-mcp-writes' });
      expect(log.verify().ok).toBe(true);
    } finally {
      log.close();
    }
    pipeline = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, 'audit2.db'), session: 'mcp-client', registry: pipeline.registry });
  }, 60_000);

  it('validates calls against the server schema before the policy or the server sees them', async () => {
    const r = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { nope: 1 } });
    expect(r.status).toBe('denied');
    expect(r.reason).toMatch(/invalid input for mcp__fs__read_text_file/);
  });

  it('the same server reads a file outside the workspace unjailed, and cannot jailed', async () => {
    // Unjailed: the SDK's own stdio transport, the same server and arguments.
    const client = new Client({ name: 'unjailed', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [serverJs, '/'], stderr: 'ignore' }));
    try {
      const r = (await client.callTool({ name: 'read_text_file', arguments: { path: secret } })) as { content: { text: string }[]; isError?: boolean };
      expect(r.isError).not.toBe(true);
      expect(r.content[0]!.text).toContain('TOP-SECRET-OUTSIDE');
    } finally {
      await client.close();
    }
    // Jailed through icode: the file is simply not there.
    const jailed = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path: secret } });
    expect(jailed.status).toBe('error');
    expect(jailed.output ?? '').not.toContain('TOP-SECRET-OUTSIDE');
    expect(jailed.output).toMatch(/ENOENT|no such file|not exist/i);
  }, 60_000);
});

describe('the agent runner', () => {
  it('starts the workspace servers with the session, offers their tools, and closes them with it', async () => {
    const { createPipelineRunner } = await import('../../engine/agent/runner-factory.js');
    const runner = await createPipelineRunner({ workspace: ws, policy: policyFile, audit: join(root, 'runner.db'), session: 'runner' });
    try {
      expect(runner.tools.map((t) => t.name)).toContain('mcp__fs__read_text_file');
      expect(runner.tools.map((t) => t.name)).toContain('read');
      const r = await runner.runner.call({ tool: 'mcp__fs__list_directory', input: { path: runner.workspace } });
      expect(r.status).toBe('ok');
      expect(r.output).toContain('hello.txt');
    } finally {
      await runner.close();
    }
    const { AuditLog } = await import('../../engine/audit/log.js');
    const log = AuditLog.open(join(root, 'runner.db'));
    try {
      const ev = log.list({ session: 'runner' }).find((row) => row.kind === 'event' && row.name === 'mcp.server');
      expect(ev).toBeDefined();
      expect(log.verify().ok).toBe(true);
    } finally {
      log.close();
    }
  }, 60_000);
});
