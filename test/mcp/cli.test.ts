/**
 * The `icode mcp` commands, the real binary: list (--json, a server that cannot start is exit 1), call
 * through the pipeline with exec's exit codes (0 ok, 3 denied), and `serve --http 0` printing its URL
 * and bearer token, reached by the SDK's client.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../policies/package-root.js';
import { icode, icodeInProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const root = tempDir('icode-mcp-cli-');
const ws = join(root, 'ws');
const policy = join(root, 'policy.yaml');
const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
const common = ['--workspace', ws, '--policy', policy, '--audit', join(root, 'audit.db')];

beforeAll(() => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'f.txt'), 'file in the workspace\n');
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { ok: { command: 'node', args: [join(fixtures, 'bad-server.cjs'), 'ok'] }, dead: { command: 'node', args: [join(fixtures, 'bad-server.cjs'), 'start-exit'] } } }));
  writeFileSync(policy, ['version: 1', 'default: allow', 'settings:', '  mcp:', `    ok: { read_only: [${JSON.stringify(fixtures)}] }`, `    dead: { read_only: [${JSON.stringify(fixtures)}] }`, 'rules:', '  - id: no-env', '    decision: deny', '    tool: mcp__ok__env', ''].join('\n'));
});

describe('icode mcp', () => {
  it('list --json: each server with transport, state, tools and confinement; a dead one is exit 1', () => {
    const r = icode(['mcp', 'list', ...common, '--json'], { env });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { servers: { name: string; state: string; tools: number; transport: string; confinement: { jail: string; network: boolean } }[] };
    expect(out.servers.find((s) => s.name === 'ok')).toMatchObject({ state: 'ready', transport: 'stdio', tools: 9, confinement: { jail: 'bwrap', network: false } });
    expect(out.servers.find((s) => s.name === 'dead')).toMatchObject({ state: 'failed', tools: 0 });
  }, 60_000);

  it('call: through the pipeline with exec exit codes', () => {
    const ok = icode(['mcp', 'call', 'ok', 'ping', '--input', '{}', ...common], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^pong from /);
    const denied = icode(['mcp', 'call', 'ok', 'env', '--input', '{}', ...common], { env });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/Denied by policy \(rule no-env\)/);
    const bad = icode(['mcp', 'call', 'ok', 'ping', '--input', '{oops', ...common], { env });
    expect(bad.code).toBe(2);
    const unknown = icode(['mcp', 'call', 'nope', 'ping', '--input', '{}', ...common], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no MCP server named nope/);
  }, 90_000);

  it('--help for every subcommand: what it does, its arguments and options', async () => {
    for (const [sub, words] of [
      ['list', [/--json/, /--policy/, /--start-timeout/]],
      ['tools', [/\[server\]/, /--json/]],
      ['call', [/<server>/, /<tool>/, /--input/, /--ask/, /--call-timeout/]],
      ['resources', [/--json/]],
      ['serve', [/--http/, /--token/]],
    ] as const) {
      const r = await icodeInProcess(['mcp', sub, '--help']);
      expect(r.code, sub).toBe(0);
      for (const w of words) expect(r.stdout, sub).toMatch(w);
    }
  });

  it('call: a server that cannot start is one line and exit 1; input that is not an object is exit 2', () => {
    const dead = icode(['mcp', 'call', 'dead', 'ping', '--input', '{}', ...common], { env });
    expect(dead.code).toBe(1);
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/^icode: MCP server dead: cannot start/);
    const list = icode(['mcp', 'call', 'ok', 'ping', '--input', '[1]', ...common], { env });
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(/--input: expected a JSON object/);
    expect(list.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('serve --http 0: prints the URL and a token, and serves a client that sends it', async () => {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin/icode.js'), 'mcp', 'serve', '--http', '0', '--workspace', ws, '--policy', policy, '--audit', join(root, 'serve.db')], { env: { ...process.env, ...env, ICODE_MCP_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    try {
      expect(await eventually(() => /bearer token: \S+/.test(out), 30_000)).toBe(true);
      const url = /on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(out)![1]!;
      const token = /bearer token: (\S+)/.exec(out)![1]!;
      const client = new Client({ name: 't', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      const r = (await client.callTool({ name: 'read', arguments: { path: 'f.txt' } })) as { content: { text: string }[] };
      expect(r.content[0]!.text).toContain('file in the workspace');
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
