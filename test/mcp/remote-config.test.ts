/**
 * Remote MCP servers and the configuration: a streamable-HTTP server and an old SSE server on 127.0.0.1,
 * written here with the SDK's server classes, reached through icode's client with a header expanded
 * from the environment; a tool-list change re-registers the tools; `.mcp.json` parsing (expansion,
 * unknown fields warned, bad JSON at file:line:col, exit 2 from the CLI).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandVars, loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { icode } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-mcp-remote-');
const KEY = 'k-' + randomUUID();

/** A server with `echo`, and `grow` which adds a tool and announces the change. */
function demoServer(): Server {
  const tools = [{ name: 'echo', description: 'echoes', inputSchema: { type: 'object' as const, properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false } }];
  const s = new Server({ name: 'demo', version: '1' }, { capabilities: { tools: { listChanged: true } } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [...tools, { name: 'grow', description: 'adds a tool', inputSchema: { type: 'object' as const } }] }));
  s.setRequestHandler(CallToolRequestSchema, async (req) => {
    if (req.params.name === 'grow') {
      tools.push({ name: `extra${tools.length}`, description: 'new', inputSchema: { type: 'object' as const, properties: { text: { type: 'string' } }, required: [], additionalProperties: false } });
      await s.sendToolListChanged();
      return { content: [{ type: 'text', text: 'grown' }] };
    }
    return { content: [{ type: 'text', text: `echo: ${String(req.params.arguments?.text)}` }] };
  });
  return s;
}

let http: HttpServer;
let port = 0;
const sse = new Map<string, SSEServerTransport>();

beforeAll(async () => {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  http = createServer(async (req, res) => {
    if (req.headers['x-api-key'] !== KEY) return void res.writeHead(401).end('no key');
    if (req.url?.startsWith('/mcp')) {
      const sid = req.headers['mcp-session-id'];
      let t = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!t) {
        const nt = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, nt) });
        await demoServer().connect(nt);
        t = nt;
      }
      return void (await t.handleRequest(req, res));
    }
    if (req.url === '/sse' && req.method === 'GET') {
      const t = new SSEServerTransport('/messages', res);
      sse.set(t.sessionId, t);
      await demoServer().connect(t);
      return;
    }
    if (req.url?.startsWith('/messages')) {
      const id = new URL(req.url, 'http://x').searchParams.get('sessionId') ?? '';
      return void (await sse.get(id)?.handlePostMessage(req, res));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  port = (http.address() as { port: number }).port;
});

afterAll(async () => {
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
});

describe('remote servers through the client', () => {
  let pipeline: Pipeline;
  let manager: McpManager;
  afterAll(async () => {
    await manager?.close();
    await pipeline?.close();
  });

  it('reaches streamable HTTP and SSE servers with expanded headers, and picks up tool-list changes', async () => {
    const ws = join(root, 'ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(
      join(ws, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          web: { type: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: { 'x-api-key': '${ICODE_TEST_MCP_KEY}' } },
          old: { type: 'sse', url: `http://127.0.0.1:${port}/sse`, headers: { 'x-api-key': '${ICODE_TEST_MCP_KEY}' } },
          nokey: { type: 'http', url: `http://127.0.0.1:${port}/mcp` },
        },
      }),
    );
    writeFileSync(join(root, 'p.yaml'), 'version: 1\ndefault: allow\nsettings:\n  env: [ICODE_TEST_MCP_KEY]\nrules:\n  - id: no-old-echo\n    decision: deny\n    tool: mcp__old__echo\n');
    process.env.ICODE_TEST_MCP_KEY = KEY;
    try {
      pipeline = await createPipeline({ workspace: ws, policy: join(root, 'p.yaml'), audit: join(root, 'a.db'), session: 'remote' });
      const warnings: string[] = [];
      manager = new McpManager(loadMcpConfig(ws, process.env, pipeline.policy!.settings.env).servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry, limits: { startTimeoutMs: 5000 }, warn: (m) => void warnings.push(m) });
      await manager.startAll();
      expect(manager.get('web')!.state).toBe('ready');
      expect(manager.get('old')!.state).toBe('ready');
      expect(manager.get('nokey')!.state).toBe('failed');
      expect(warnings.join('\n')).toMatch(/nokey/);
    } finally {
      delete process.env.ICODE_TEST_MCP_KEY;
    }
    const r = await pipeline.call({ tool: 'mcp__web__echo', input: { text: 'hi' } });
    expect(r).toMatchObject({ status: 'ok', output: 'echo: hi' });
    expect((await pipeline.call({ tool: 'mcp__old__echo', input: { text: 'hi' } })).status).toBe('denied');
    expect((await pipeline.call({ tool: 'mcp__web__echo', input: { text: 1 } })).reason).toMatch(/invalid input/);

    expect(pipeline.registry.get('mcp__web__extra1')).toBeUndefined();
    expect((await pipeline.call({ tool: 'mcp__web__grow', input: {} })).status).toBe('ok');
    expect(await eventually(() => pipeline.registry.get('mcp__web__extra1') !== undefined)).toBe(true);
    expect((await pipeline.call({ tool: 'mcp__web__extra1', input: { text: 'new' } })).output).toBe('echo: new');
  }, 60_000);
});

describe('.mcp.json', () => {
  it('expands ${VAR} and ${VAR:-default}', () => {
    const warn: string[] = [];
    expect(expandVars('a${X}b${Y:-dflt}c${Z}', { X: '1' }, (m) => void warn.push(m))).toBe('a1bdfltc');
    expect(warn).toHaveLength(1);
  });

  it('ignores unknown fields with a warning and skips bad entries', () => {
    const ws = join(root, 'cfg');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { a: { command: 'x', args: ['${HOME_NOPE:-h}'], timeout: 5 }, 'bad name': { command: 'x' }, b: { type: 'ws', url: 'x' } }, other: 1 }));
    const c = loadMcpConfig(ws, { XDG_CONFIG_HOME: join(root, 'none') });
    expect(c.servers).toEqual([{ name: 'a', transport: 'stdio', command: 'x', args: ['h'], env: {}, source: join(ws, '.mcp.json') }]);
    expect(c.warnings.join('\n')).toMatch(/unknown field "timeout"/);
    expect(c.warnings.join('\n')).toMatch(/unknown field "other"/);
    expect(c.warnings.join('\n')).toMatch(/bad name/);
    expect(c.warnings.join('\n')).toMatch(/unknown type "ws"/);
  });

  it('bad JSON: one line naming the file and line:col, exit 2', () => {
    const ws = join(root, 'badjson');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, '.mcp.json'), '{\n  "mcpServers": {\n    "a": { "command": "x", }\n  }\n}\n');
    const r = icode(['mcp', 'list', '--workspace', ws, '--policy', 'builtin:readonly', '--audit', join(root, 'cli.db')], { env: { XDG_CONFIG_HOME: join(root, 'none') } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`${join(ws, '.mcp.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:28: not valid JSON`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe("the workspace's .mcp.json and icode's environment", () => {
  it("expands only the variables the policy's settings.env names (a repository cannot pull icode's secrets)", () => {
    const ws = join(root, 'steal');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { s: { command: 'x', env: { A: '${SECRET_KEY}', B: '${OK_VAR}', C: '${SECRET_KEY:-none}' } } } }));
    const env = { SECRET_KEY: 'sk-very-secret', OK_VAR: 'fine', XDG_CONFIG_HOME: join(root, 'none') };
    const c = loadMcpConfig(ws, env, ['OK_VAR']);
    expect(c.servers[0]).toMatchObject({ env: { A: '', B: 'fine', C: 'none' } });
    expect(JSON.stringify(c.servers)).not.toContain('sk-very-secret');
    expect(c.warnings.join('\n')).toMatch(/SECRET_KEY.*settings\.env/);
  });
});

describe('settings.mcp in a policy', () => {
  it('takes per-server network and read_only, and refuses anything else', async () => {
    const { loadPolicy } = await import('../../policies/index.js');
    const file = (name: string, body: string): string => {
      const p = join(root, name);
      writeFileSync(p, `version: 1\ndefault: allow\nsettings:\n  mcp:\n${body}\nrules: []\n`);
      return p;
    };
    const good = await loadPolicy(file('good.yaml', '    gh: { network: true }\n    fs: { read_only: [/opt/x] }'));
    expect(good.settings.mcp).toEqual({ gh: { network: true, readOnly: [] }, fs: { network: false, readOnly: ['/opt/x'] } });
    await expect(loadPolicy(file('bad1.yaml', '    gh: { network: "yes" }'))).rejects.toThrow();
    await expect(loadPolicy(file('bad2.yaml', '    "a b": { network: true }'))).rejects.toThrow();
    await expect(loadPolicy(file('bad3.yaml', '    fs: { read_only: [relative/path] }'))).rejects.toThrow();
    await expect(loadPolicy(file('bad4.yaml', '    fs: { write: true }'))).rejects.toThrow();
  });
});
