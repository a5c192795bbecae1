/**
 * `icode mcp serve` driven by the SDK's own Client: over stdio (the real binary) and streamable HTTP
 * (bearer token; a wrong one refused). Tools listed with their schemas; a workspace read works; `../`
 * and symlink escapes are refused; shell runs in the jail; `ask` is elicited from a client that can
 * answer and denied for one that cannot; the audit log verifies afterwards.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { ElicitingApprover, serveHttp, SERVED_TOOLS, type HttpServeHandle } from '../../engine/mcp/serve.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { packageRoot } from '../../policies/package-root.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-mcp-serve-');
const ws = join(root, 'ws');
const outside = join(root, 'outside');
const policyFile = join(root, 'policy.yaml');

type CallResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown): string => (r as CallResult).content.map((c) => c.text).join('\n');

beforeAll(() => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(ws, 'notes.txt'), 'workspace notes\n');
  writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE-SECRET\n');
  symlinkSync(join(outside, 'secret.txt'), join(ws, 'link.txt'));
  // Everything allowed but writes to asked.txt: escapes must be refused by the confinement itself.
  writeFileSync(policyFile, ['version: 1', 'name: serve-test', 'default: allow', 'rules:', '  - id: ask-asked', '    decision: ask', '    reason: writing asked.txt needs a person', '    tool: write', '    paths: asked.txt', ''].join('\n'));
});

async function exercise(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual([...SERVED_TOOLS].sort());
  const read = tools.find((t) => t.name === 'read')!;
  expect(read.description).toBeTruthy();
  expect(read.inputSchema.properties).toHaveProperty('path');

  const ok = await client.callTool({ name: 'read', arguments: { path: 'notes.txt' } });
  expect(ok.isError).not.toBe(true);
  expect(text(ok)).toContain('workspace notes');

  for (const path of ['../outside/secret.txt', join(outside, 'secret.txt'), 'link.txt']) {
    const r = await client.callTool({ name: 'read', arguments: { path } });
    expect(r.isError, path).toBe(true);
    expect(text(r)).not.toContain('OUTSIDE-SECRET');
  }

  const sh = await client.callTool({ name: 'shell', arguments: { command: 'hostname; id -un; cat ../outside/secret.txt || echo cannot-see-outside' } });
  expect(text(sh)).toContain('icode-jail');
  expect(text(sh)).toContain('cannot-see-outside');
  expect(text(sh)).not.toContain('OUTSIDE-SECRET');

  const bad = await client.callTool({ name: 'read', arguments: { nope: true } });
  expect(bad.isError).toBe(true);
  expect(text(bad)).toMatch(/invalid input/);
}

describe('icode mcp serve over stdio (the real binary)', () => {
  it('serves the tools through the pipeline, and the audit log verifies', async () => {
    const db = join(root, 'stdio.db');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(packageRoot(), 'bin/icode.js'), 'mcp', 'serve', '--workspace', ws, '--policy', policyFile, '--audit', db, '--session', 'serve-stdio'],
      // The same environment as this process: the audit log's installation key is found through it.
      env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(transport);
    try {
      await exercise(client);
      // No elicitation capability: the ask is a deny.
      const asked = await client.callTool({ name: 'write', arguments: { path: 'asked.txt', content: 'x' } });
      expect(asked.isError).toBe(true);
      expect(text(asked)).toMatch(/cannot be asked/);
    } finally {
      await client.close();
    }
    const log = AuditLog.open(db);
    try {
      const rows = log.list({ session: 'serve-stdio' }).filter((r) => r.kind === 'decision');
      expect(rows.map((r) => r.tool)).toContain('shell');
      expect(rows.every((r) => r.agent === 'mcp-client')).toBe(true);
      const v = log.verify();
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
    } finally {
      log.close();
    }
  }, 90_000);
});

describe('icode mcp serve over streamable HTTP', () => {
  let pipeline: Pipeline;
  let h: HttpServeHandle;
  const token = 'test-token-0123456789abcdef';
  beforeAll(async () => {
    pipeline = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, 'http.db'), session: 'serve-http', approver: new ElicitingApprover() });
    h = await serveHttp(pipeline, 0, token);
  });
  afterAll(async () => {
    await h?.close();
    await pipeline?.close();
  });

  it('refuses a wrong or missing token', async () => {
    for (const headers of [{ authorization: 'Bearer wrong-token-0123456789abc' }, {}]) {
      const client = new Client({ name: 'intruder', version: '1' });
      await expect(client.connect(new StreamableHTTPClientTransport(new URL(h.url), { requestInit: { headers } }))).rejects.toThrow(/401|unauthorized/i);
    }
  });

  it('serves the tools with the token, and elicits an ask from a client that can answer', async () => {
    const client = new Client({ name: 'test', version: '1' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(String(req.params.message));
      return { action: 'accept', content: { approve: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      await exercise(client);
      const w = await client.callTool({ name: 'write', arguments: { path: 'asked.txt', content: 'approved\n' } });
      expect(w.isError).not.toBe(true);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain('asked.txt');
    } finally {
      await client.close();
    }
    pipeline.audit.flush();
    const rows = pipeline.audit.list({ session: 'serve-http' }).filter((r) => r.kind === 'decision' && r.tool === 'write');
    expect(rows[0]).toMatchObject({ decision: 'ask', approval: 'approved by the MCP client (elicitation)' });
    expect(pipeline.audit.verify().ok).toBe(true);
  }, 90_000);
});
