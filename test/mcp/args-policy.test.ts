/**
 * Argument rules through the real pipeline, with a real MCP server from npm
 * (@modelcontextprotocol/server-filesystem, jailed): one tool allowed, asked or denied by its `path`
 * argument; each decision audited with the rule; a case/NFKC/`..` trick does not turn an ask into an
 * allow nor slip past a deny; `icode policy explain` names the argument.
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../engine/approval.js';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const serverJs = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
const modules = realpathSync(join(dirname(serverJs), '..', '..', '..'));

const root = tempDir('icode-mcp-args-');
const ws = join(root, 'ws');
const policyFile = join(root, 'policy.yaml');
const audit = join(root, 'audit.db');
const asked: ApprovalRequest[] = [];
let pipeline: Pipeline;
let manager: McpManager;

beforeAll(async () => {
  mkdirSync(join(ws, 'docs'), { recursive: true });
  mkdirSync(join(ws, 'private'), { recursive: true });
  writeFileSync(join(ws, 'docs', 'guide.md'), 'the guide\n');
  writeFileSync(join(ws, 'notes.txt'), 'some notes\n');
  writeFileSync(join(ws, 'private', 'key.txt'), 'PRIVATE-KEY-MATERIAL\n');
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { fs: { command: 'node', args: [serverJs, '.'] } } }));
  writeFileSync(
    policyFile,
    [
      'version: 1',
      'default: ask',
      'settings:',
      '  mcp:',
      `    fs: { read_only: [${JSON.stringify(modules)}] }`,
      'rules:',
      '  - id: docs-readable',
      '    decision: allow',
      '    tool: mcp__fs__read_text_file',
      '    args: { path: { path: "docs/**" } }',
      '  - id: no-private',
      '    decision: deny',
      '    reason: private files are not for MCP servers',
      '    tool: mcp__fs__*',
      '    args: { "**": [{ path: "private/**" }, "*private*"] }',
      '',
    ].join('\n'),
  );
  pipeline = await createPipeline({
    workspace: ws,
    policy: policyFile,
    audit,
    session: 'mcp-args',
    approver: {
      approve: async (req) => {
        asked.push(req);
        return { approved: true, note: 'approved by the test' };
      },
    },
  });
  manager = new McpManager(loadMcpConfig(pipeline.workspace).servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry });
  await manager.startAll();
  expect(manager.get('fs')!.state).toBe('ready');
}, 60_000);

afterAll(async () => {
  await manager?.close();
  await pipeline?.close();
});

describe('MCP calls decided by their arguments', () => {
  it('allow by argument: runs without asking', async () => {
    const r = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path: join(pipeline.workspace, 'docs/guide.md') } });
    expect(r).toMatchObject({ status: 'ok', decision: 'allow', rule: 'docs-readable' });
    expect(r.output).toContain('the guide');
    expect(asked).toHaveLength(0);
  }, 30_000);

  it('ask: another path of the same tool goes to the approver with the rule-less default', async () => {
    const r = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path: join(pipeline.workspace, 'notes.txt') } });
    expect(r.status).toBe('ok');
    expect(r.output).toContain('some notes');
    expect(asked.map((a) => a.tool)).toEqual(['mcp__fs__read_text_file']);
    // `docs/../notes.txt` is not under docs/ for an allow rule.
    const sneaky = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path: 'docs/../notes.txt' } });
    expect(sneaky.status).not.toBe('denied');
    expect(asked).toHaveLength(2);
  }, 30_000);

  it('deny by argument: the server never sees the call, whatever the spelling', async () => {
    for (const path of [join(pipeline.workspace, 'private/key.txt'), 'docs/../private/key.txt', join(pipeline.workspace, 'PRIVATE', 'key.txt'), 'ｐｒｉｖａｔｅ/key.txt']) {
      const r = await pipeline.call({ tool: 'mcp__fs__read_text_file', input: { path } });
      expect(r, path).toMatchObject({ status: 'denied', rule: 'no-private' });
      expect(r.output ?? '').not.toContain('PRIVATE-KEY-MATERIAL');
    }
    // Another tool of the server, the path inside a list argument: `**` is any argument at any depth.
    const multi = await pipeline.call({ tool: 'mcp__fs__read_multiple_files', input: { paths: [join(pipeline.workspace, 'docs/guide.md')] } });
    expect(multi.status).toBe('ok');
    const hidden = await pipeline.call({ tool: 'mcp__fs__read_multiple_files', input: { paths: [join(pipeline.workspace, 'docs/guide.md'), join(pipeline.workspace, 'private/key.txt')] } });
    expect(hidden).toMatchObject({ status: 'denied', rule: 'no-private' });
    expect(hidden.output ?? '').not.toContain('PRIVATE-KEY-MATERIAL');
  }, 30_000);

  it('each decision is audited with its rule, and the log verifies', async () => {
    await pipeline.close();
    const { AuditLog } = await import('../../engine/audit/log.js');
    const log = AuditLog.open(audit);
    try {
      const rows = log.list({ session: 'mcp-args' }).filter((r) => r.kind === 'decision');
      expect(rows.some((r) => r.decision === 'allow' && r.rule === 'docs-readable' && r.jail === 'mcp:fs')).toBe(true);
      expect(rows.some((r) => r.decision === 'ask')).toBe(true);
      expect(rows.filter((r) => r.decision === 'deny' && r.rule === 'no-private').length).toBeGreaterThanOrEqual(4);
      expect(log.verify().ok).toBe(true);
    } finally {
      log.close();
    }
    pipeline = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, 'audit2.db'), session: 'mcp-args', registry: pipeline.registry });
  }, 30_000);
});

describe('icode policy explain', () => {
  it('names the argument and value that decided', () => {
    const r = icode(['policy', 'explain', policyFile, '--tool', 'mcp__fs__read_text_file', '--input', JSON.stringify({ path: 'private/key.txt' }), '--workspace', ws]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decision: deny/);
    expect(r.stdout).toMatch(/args: +\*\* = "private\/key.txt" matched path "private\/\*\*" \| glob "\*private\*"/);
    const j = icode(['policy', 'explain', policyFile, '--tool', 'mcp__fs__read_text_file', '--input', JSON.stringify({ path: 'docs/a.md' }), '--workspace', ws, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ decision: 'allow', rule: 'docs-readable', trace: [{ args: ['path = "docs/a.md" matched path "docs/**"'] }] });
  }, 60_000);
});
