/**
 * Tool-list changes reach the model mid-session. A stdio MCP server written here with the SDK's
 * McpServer (run jailed like any server) adds a tool while answering a call (it sends
 * `notifications/tools/list_changed`), and, after a crash, restarts with another tool list. A real agent
 * run (the OpenAI SDK against the loopback fake LLM, the real pipeline) sees each new list in its very
 * next request; a tool that disappeared is an unknown tool, a recorded deny.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../engine/agent/loop.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { createPipelineRunner, type AgentRunner } from '../../engine/agent/runner-factory.js';
import { FakeLLM, openaiSse } from '../agent/fake-llm.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const sdkServer = require.resolve('@modelcontextprotocol/sdk/server/mcp.js');
const sdkStdio = require.resolve('@modelcontextprotocol/sdk/server/stdio.js');
const modules = realpathSync(join(sdkServer.slice(0, sdkServer.indexOf('/node_modules/')), 'node_modules'));

const root = tempDir('icode-mcp-tools-changed-');
const ws = join(root, 'ws');
const serverDir = join(root, 'server');
const audit = join(root, 'audit.db');
const policy = join(root, 'policy.yaml');
let llm: FakeLLM;
let runner: AgentRunner;

/** Each start offers `genN` (N read from gen.txt in the workspace), `add_tool` and `crash`. */
const SERVER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { McpServer } from ${JSON.stringify(pathToFileURL(sdkServer).href)};
import { StdioServerTransport } from ${JSON.stringify(pathToFileURL(sdkStdio).href)};
const gen = readFileSync('gen.txt', 'utf8').trim();
const server = new McpServer({ name: 'changing', version: '1' });
const text = (t) => ({ content: [{ type: 'text', text: t }] });
server.registerTool('gen' + gen, { description: 'generation ' + gen }, async () => text('generation ' + gen));
server.registerTool('add_tool', { description: 'adds a tool' }, async () => {
  // Registering after connect sends notifications/tools/list_changed before this answer.
  server.registerTool('added', { description: 'added at run time' }, async () => text('added ran'));
  return text('added a tool');
});
server.registerTool('crash', { description: 'exits' }, async () => {
  writeFileSync('gen.txt', String(Number(gen) + 1));
  process.exit(9);
});
server.registerResource('readme', 'memo://readme', { description: 'a memo' }, async (uri) => ({ contents: [{ uri: uri.href, text: 'memo' }] }));
server.registerPrompt('review', { description: 'review a change' }, () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'review it' } }] }));
await server.connect(new StdioServerTransport());
`;

const call = (id: string, name: string) => openaiSse({ toolCalls: [{ id, name, args: '{}' }] });
const toolNames = (body: Record<string, unknown>): string[] => ((body.tools as { function: { name: string } }[] | undefined) ?? []).map((t) => t.function.name).filter((n) => n.startsWith('mcp__'));

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(serverDir, { recursive: true });
  writeFileSync(join(serverDir, 'server.mjs'), SERVER);
  writeFileSync(join(ws, 'gen.txt'), '1');
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { live: { command: 'node', args: [join(serverDir, 'server.mjs')] } } }));
  writeFileSync(policy, ['version: 1', 'default: allow', 'settings:', '  mcp:', `    live: { read_only: [${JSON.stringify(modules)}, ${JSON.stringify(serverDir)}], workspace: read-write }`, 'rules: []', ''].join('\n'));
  llm = await new FakeLLM().start();
  runner = await createPipelineRunner({ workspace: ws, policy, audit, session: 'changing', subagents: false });
}, 60_000);

afterAll(async () => {
  await runner?.close();
  await llm?.close();
});

describe('tool-list changes mid-session', () => {
  it('the model sees an added tool on its next request, and a restarted server’s new list; a vanished tool is a recorded deny', async () => {
    expect(runner.tools.map((t) => t.name).filter((n) => n.startsWith('mcp__')).sort()).toEqual(['mcp__live__add_tool', 'mcp__live__crash', 'mcp__live__gen1']);
    llm.enqueue(
      call('c1', 'mcp__live__add_tool'),
      call('c2', 'mcp__live__added'),
      call('c3', 'mcp__live__crash'),
      call('c4', 'mcp__live__gen1'),
      call('c5', 'mcp__live__gen1'),
      openaiSse({ text: 'done' }),
    );
    const provider = createProvider({ kind: 'api', provider: 'openai', model: 'gpt-4o-mini' }, { env: { OPENAI_API_KEY: 'sk-test' }, baseUrl: `${llm.url}/v1` });
    const results: { tool: string; status: string; output: string }[] = [];
    const r = await runAgent('go', {
      provider,
      runner: runner.runner,
      tools: runner.tools,
      toolsNow: () => runner.tools,
      onEvent: (e) => {
        if (e.type === 'tool_result' && e.result) results.push({ tool: e.result.tool, status: e.result.status, output: e.result.output ?? e.result.reason });
      },
    });
    expect(r.subtype).toBe('success');
    const seen = llm.requests.map((q) => toolNames(q.body).sort());
    expect(seen[0]).toEqual(['mcp__live__add_tool', 'mcp__live__crash', 'mcp__live__gen1']);
    // After add_tool: the notification was handled before its result went back.
    expect(seen[1]).toEqual(['mcp__live__add_tool', 'mcp__live__added', 'mcp__live__crash', 'mcp__live__gen1']);
    expect(results[1]).toMatchObject({ tool: 'mcp__live__added', status: 'ok', output: 'added ran' });
    // The crash is an error result; the list is unchanged until the server starts again.
    expect(results[2]).toMatchObject({ tool: 'mcp__live__crash', status: 'error' });
    // The next call restarts the server, which now offers gen2: gen1 fails at the server, and is gone from the next request.
    expect(results[3]).toMatchObject({ tool: 'mcp__live__gen1', status: 'error' });
    expect(seen[4]).toEqual(['mcp__live__add_tool', 'mcp__live__crash', 'mcp__live__gen2']);
    expect(results[4]).toMatchObject({ tool: 'mcp__live__gen1', status: 'denied' });
    expect(results[4]!.output).toMatch(/unknown tool "mcp__live__gen1"/);
    expect(readFileSync(join(ws, 'gen.txt'), 'utf8')).toBe('2');

    const { AuditLog } = await import('../../engine/audit/log.js');
    const log = AuditLog.open(audit);
    try {
      const decisions = log.list({ session: 'changing' }).filter((row) => row.kind === 'decision' && row.tool === 'mcp__live__gen1');
      expect(decisions.map((d) => d.decision)).toEqual(['allow', 'deny']);
      expect(decisions[1]!.reason).toMatch(/unknown tool/);
    } finally {
      log.close();
    }
  }, 90_000);

  it('icode mcp resources lists the jailed server’s resources and prompts', () => {
    const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
    const r = icode(['mcp', 'resources', 'live', '--workspace', ws, '--policy', policy, '--audit', join(root, 'cli.db'), '--json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { servers: { server: string; resources: { uri: string; name: string }[]; prompts: { name: string }[] }[] };
    expect(out.servers).toHaveLength(1);
    expect(out.servers[0]).toMatchObject({ server: 'live', resources: [{ uri: 'memo://readme', name: 'readme' }], prompts: [{ name: 'review' }] });
    const unknown = icode(['mcp', 'resources', 'nope', '--workspace', ws, '--policy', policy, '--audit', join(root, 'cli.db')], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no MCP server named nope/);
  }, 60_000);
});
