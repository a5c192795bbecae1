/**
 * A stdio MCP server writes the workspace directly, not through the shell's change gate (issue 17), so
 * its workspace is read-only unless its settings opt in (`workspace: read-write`) and the policy lets the
 * write tool write without asking. Proved with the real npm filesystem server, jailed: by default a
 * planted `.git/config` never reaches the host; opted in, an ordinary write does.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { confinementFor } from '../../engine/mcp/connection.js';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { loadPolicy } from '../../policies/compiler/load.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const serverJs = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
const modules = realpathSync(join(dirname(serverJs), '..', '..', '..'));

function setup(fsSettings: string): { ws: string; policyFile: string; root: string } {
  const root = tempDir('icode-mcp-optin-');
  const ws = join(root, 'ws');
  mkdirSync(join(ws, 'sub'), { recursive: true });
  writeFileSync(join(ws, '.mcp.json'), JSON.stringify({ mcpServers: { fs: { command: 'node', args: [serverJs, '.'] } } }));
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(
    policyFile,
    ['version: 1', 'name: mcp-optin', 'default: allow', 'settings:', '  mcp:', `    fs: { read_only: [${JSON.stringify(modules)}]${fsSettings} }`, ''].join('\n'),
  );
  return { ws, policyFile, root };
}

let pipeline: Pipeline | undefined;
let manager: McpManager | undefined;
afterEach(async () => {
  await manager?.close();
  await pipeline?.close();
  manager = undefined;
  pipeline = undefined;
});

async function start(ws: string, policyFile: string, root: string): Promise<void> {
  pipeline = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, 'audit.db'), session: 'optin' });
  manager = new McpManager(loadMcpConfig(pipeline.workspace).servers, { workspace: pipeline.workspace, policy: pipeline.policy, registry: pipeline.registry, warn: () => {} });
  await manager.startAll();
}

describe('the workspace of a stdio MCP server', () => {
  it('is read-only by default, even under a policy that allows every write: a planted .git/config never reaches the host', async () => {
    const { ws, policyFile, root } = setup('');
    await start(ws, policyFile, root);
    expect(manager!.get('fs')!.confinement).toMatchObject({ workspace: 'read-only' });
    const planted = join(pipeline!.workspace, 'sub', '.git', 'config');
    const mk = await pipeline!.call({ tool: 'mcp__fs__create_directory', input: { path: join(pipeline!.workspace, 'sub', '.git') } });
    expect(mk.status).toBe('error');
    const w = await pipeline!.call({ tool: 'mcp__fs__write_file', input: { path: planted, content: '[core]\n\tfsmonitor = touch /tmp/pwned\n' } });
    expect(w.status).toBe('error');
    expect(existsSync(planted)).toBe(false);
    expect(existsSync(join(pipeline!.workspace, 'sub', '.git'))).toBe(false);
  }, 60_000);

  it('is writable when the server opts in and the policy allows writes', async () => {
    const { ws, policyFile, root } = setup(', workspace: read-write');
    await start(ws, policyFile, root);
    expect(manager!.get('fs')!.confinement).toMatchObject({ workspace: 'read-write' });
    const target = join(pipeline!.workspace, 'notes.txt');
    const w = await pipeline!.call({ tool: 'mcp__fs__write_file', input: { path: target, content: 'written by the server\n' } });
    expect(w.status).toBe('ok');
    expect(readFileSync(target, 'utf8')).toBe('written by the server\n');
  }, 60_000);

  it("marks its tools as changing the workspace by what the jail lets the server reach, never by the server's readOnlyHint", async () => {
    // The npm filesystem server annotates read_file readOnlyHint: true and write_file readOnlyHint: false.
    const ro = setup('');
    await start(ro.ws, ro.policyFile, ro.root);
    expect(pipeline!.registry.get('mcp__fs__write_file')?.mutates).toBe(false); // it cannot write the workspace
    await manager!.close();
    await pipeline!.close();
    const rw = setup(', workspace: read-write');
    await start(rw.ws, rw.policyFile, rw.root);
    // Writable: any tool may change the workspace, whatever it says of itself (checkpoints are taken before it).
    expect(pipeline!.registry.get('mcp__fs__read_file')?.mutates).toBe(true);
    expect(pipeline!.registry.get('mcp__fs__write_file')?.mutates).toBe(true);
  }, 60_000);

  it('stays read-only when the server opts in but the policy asks before writes', async () => {
    const { ws, root } = setup('');
    const strict = join(root, 'strict.yaml');
    writeFileSync(strict, ['version: 1', 'name: strict', 'default: ask', 'settings:', '  mcp:', '    fs: { workspace: read-write }', ''].join('\n'));
    expect(confinementFor('fs', ws, await loadPolicy(strict)).workspace).toBe('read-only');
    const allowing = join(root, 'allowing.yaml');
    writeFileSync(allowing, ['version: 1', 'name: allowing', 'default: allow', 'settings:', '  mcp:', '    fs: { workspace: read-write }', ''].join('\n'));
    expect(confinementFor('fs', ws, await loadPolicy(allowing)).workspace).toBe('read-write');
    expect(confinementFor('other', ws, await loadPolicy(allowing)).workspace).toBe('read-only');
  });
});
