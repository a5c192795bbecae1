/**
 * `icode mcp list|tools|call|resources|serve`: the workspace's MCP servers (.mcp.json and icode's
 * config; stdio servers run jailed, see engine/mcp/README.md) and icode's own tools served over MCP.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../engine/errors.js';
import { loadMcpConfig } from '../../engine/mcp/config.js';
import { McpManager } from '../../engine/mcp/manager.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { loadPolicy } from '../../policies/index.js';
import { EXIT, parseJsonArg, printJson, printTable } from '../output.js';
import { parseAsk } from '../parse.js';

const DEFAULT_POLICY = 'builtin:workspace-write';

interface CommonOpts {
  workspace?: string;
  policy?: string;
  audit?: string;
  json?: boolean;
  startTimeout?: string;
  callTimeout?: string;
  ask?: 'deny' | 'allow';
}

function common(cmd: Command): Command {
  return cmd
    .option('--workspace <dir>', 'workspace root (default: the current directory)')
    .option('--policy <file>', `policy file or builtin:NAME (default: $ICODE_POLICY or ${DEFAULT_POLICY})`)
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--start-timeout <ms>', 'how long a server may take to start (default 30000)')
    .option('--json', 'print JSON');
}

function ms(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000) throw new InputError(`${flag} must be a number of milliseconds (1..3600000)`);
  return n;
}

/** A pipeline and the workspace's servers (not yet started), closed together by `done`. */
async function open(opts: CommonOpts, session?: string): Promise<{ pipeline: Pipeline; manager: McpManager; warnings: string[]; done: () => Promise<void> }> {
  const workspace = resolve(opts.workspace ?? process.cwd());
  // A bad policy is a usage error (exit 2) here, not a pipeline that denies every call.
  const policy = await loadPolicy(opts.policy || process.env.ICODE_POLICY || DEFAULT_POLICY);
  const pipeline = await createPipeline({ workspace, policy, audit: opts.audit, ask: opts.ask, ...(session ? { session } : {}) });
  try {
    const cfg = loadMcpConfig(pipeline.workspace, process.env, pipeline.policy?.settings.env ?? []);
    const warnings = [...cfg.warnings];
    const limits = { ...(opts.startTimeout ? { startTimeoutMs: ms('--start-timeout', opts.startTimeout) } : {}), ...(opts.callTimeout ? { callTimeoutMs: ms('--call-timeout', opts.callTimeout) } : {}) };
    const manager = new McpManager(cfg.servers, { workspace: pipeline.workspace, policy: pipeline.policy, controlPaths: pipeline.controlPaths, registry: pipeline.registry, limits, warn: (m) => void warnings.push(m) });
    return {
      pipeline,
      manager,
      warnings,
      done: async () => {
        await manager.close();
        await pipeline.close();
      },
    };
  } catch (e) {
    await pipeline.close();
    throw e;
  }
}

function printWarnings(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

export function register(program: Command): void {
  const mcp = program.command('mcp').description("MCP servers: the workspace's (.mcp.json, run jailed) and icode's own tools served over MCP");

  common(mcp.command('list').description('List the configured MCP servers: transport, state, tool count, confinement')).action(async (opts: CommonOpts) => {
    const s = await open(opts);
    try {
      await s.manager.startAll();
      const rows = s.manager.connections.map((c) => ({
        name: c.name,
        transport: c.config.transport,
        state: c.state,
        tools: s.manager.toolNames(c.name).length,
        confinement: c.confinement,
        target: c.config.transport === 'stdio' ? [c.config.command, ...c.config.args].join(' ') : c.config.url,
        source: c.config.source,
        ...(c.lastError ? { error: c.lastError } : {}),
      }));
      if (opts.json) printJson({ servers: rows, warnings: s.warnings });
      else {
        printWarnings(s.warnings);
        if (rows.length === 0) process.stdout.write('no MCP servers configured (.mcp.json in the workspace, or mcp_servers in the icode config)\n');
        else
          printTable(
            ['server', 'transport', 'state', 'tools', 'confinement', 'command / url', 'error'],
            rows.map((r) => [r.name, r.transport, r.state, r.tools, r.confinement ? `${r.confinement.jail}, workspace ${r.confinement.workspace}, network ${r.confinement.network ? 'on' : 'off'}` : 'remote', r.target, r.error ?? '']),
          );
      }
      // A server that cannot start is a failed check (exit 1), for scripts.
      if (rows.some((r) => r.state !== 'ready')) process.exitCode = EXIT.FAILED;
    } finally {
      await s.done();
    }
  });

  common(mcp.command('tools').argument('[server]', 'only this server').description('List the tools the MCP servers offer, as the model sees them (mcp__SERVER__TOOL)')).action(async (server: string | undefined, opts: CommonOpts) => {
    const s = await open(opts);
    try {
      if (server && !s.manager.get(server)) throw new InputError(`no MCP server named ${server} (configured: ${s.manager.connections.map((c) => c.name).join(', ') || 'none'})`);
      await s.manager.startAll(server);
      const tools = s.manager.connections
        .filter((c) => !server || c.name === server)
        .flatMap((c) => s.manager.toolNames(c.name).map((n) => ({ server: c.name, name: n, description: s.pipeline.registry.get(n)?.description ?? '', inputSchema: s.pipeline.registry.specs().find((x) => x.name === n)?.inputSchema })));
      if (opts.json) printJson({ tools, warnings: s.warnings });
      else {
        printWarnings(s.warnings);
        if (s.manager.connections.length === 0) process.stdout.write('no MCP servers configured (.mcp.json in the workspace, or mcp_servers in the icode config)\n');
        else printTable(['tool', 'description'], tools.map((t) => [t.name, t.description]), 100);
      }
      if (server && s.manager.get(server)?.state !== 'ready') process.exitCode = EXIT.FAILED;
    } finally {
      await s.done();
    }
  });

  common(mcp.command('call').argument('<server>', "the server's name in .mcp.json (see icode mcp list)").argument('<tool>', "the server's tool name (or mcp__SERVER__TOOL)").description('Call one MCP tool through the pipeline (validate → policy → audit → hooks → server), like icode exec'))
    .requiredOption('--input <json>', 'tool input as a JSON object')
    .option('--ask <answer>', 'how to settle "ask" without a person: deny or allow', parseAsk, 'deny')
    .option('--call-timeout <ms>', 'how long the call may take (default 120000)')
    .option('--session <id>', 'session id')
    .action(async (server: string, tool: string, opts: CommonOpts & { input: string; session?: string }) => {
      const input = parseJsonArg('--input', opts.input);
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InputError('--input: expected a JSON object, e.g. \'{"path":"README.md"}\'');
      const s = await open(opts, opts.session);
      try {
        const c = s.manager.get(server);
        if (!c) throw new InputError(`no MCP server named ${server} (configured: ${s.manager.connections.map((x) => x.name).join(', ') || 'none'})`);
        await s.manager.startAll(server);
        // A server that cannot start is that error (exit 1), not an "unknown tool".
        if (c.state !== 'ready') {
          process.stderr.write(`icode: MCP server ${server}: ${c.lastError ?? `not started (${c.state})`}\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
        printWarnings(s.warnings);
        const name = tool.startsWith('mcp__') ? tool : `mcp__${server}__${tool}`;
        const r = await s.pipeline.call({ tool: name, input });
        if (opts.json) printJson(r);
        else if (r.status === 'ok') process.stdout.write(r.output?.endsWith('\n') || !r.output ? (r.output ?? '') : r.output + '\n');
        else process.stderr.write(`${r.status === 'denied' ? '' : 'error: '}${r.error ?? r.output}\n`);
        process.exitCode = r.status === 'ok' ? EXIT.OK : r.status === 'denied' ? EXIT.DENIED : EXIT.FAILED;
      } finally {
        await s.done();
      }
    });

  common(mcp.command('resources').argument('[server]', 'only this server').description('List the resources and prompts the MCP servers offer')).action(async (server: string | undefined, opts: CommonOpts) => {
    const s = await open(opts);
    try {
      if (server && !s.manager.get(server)) throw new InputError(`no MCP server named ${server} (configured: ${s.manager.connections.map((c) => c.name).join(', ') || 'none'})`);
      const out: { server: string; resources: unknown[]; prompts: unknown[]; error?: string }[] = [];
      for (const c of s.manager.connections.filter((x) => !server || x.name === server)) {
        try {
          out.push({ server: c.name, resources: await c.listResources(), prompts: await c.listPrompts() });
        } catch (e) {
          out.push({ server: c.name, resources: [], prompts: [], error: (e as Error).message });
        }
      }
      if (opts.json) printJson({ servers: out, warnings: s.warnings });
      else {
        printWarnings(s.warnings);
        const rows = out.flatMap((o) => [
          ...(o.resources as { uri: string; name: string; description?: string }[]).map((r) => [o.server, 'resource', r.uri, r.name, r.description ?? '']),
          ...(o.prompts as { name: string; description?: string }[]).map((p) => [o.server, 'prompt', '', p.name, p.description ?? '']),
          ...(o.error ? [[o.server, 'error', '', '', o.error]] : []),
        ]);
        printTable(['server', 'kind', 'uri', 'name', 'description'], rows);
      }
      if (out.some((o) => o.error)) process.exitCode = EXIT.FAILED;
    } finally {
      await s.done();
    }
  });

  mcp
    .command('serve')
    .description("Serve icode's tools (read, write, edit, glob, grep, list, shell) over MCP: stdio, or streamable HTTP on 127.0.0.1 with --http")
    .requiredOption('--workspace <dir>', 'workspace root')
    .requiredOption('--policy <file>', 'policy file or builtin:NAME')
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--session <id>', 'session id recorded on every audit row')
    .option('--http <port>', 'serve streamable HTTP on 127.0.0.1:PORT (0: any free port) instead of stdio')
    .option('--token <token>', 'bearer token for --http (default: $ICODE_MCP_TOKEN, else a random one printed at start)')
    .action(async (opts: { workspace: string; policy: string; audit?: string; session?: string; http?: string; token?: string }) => {
      const { ElicitingApprover, newToken, serveHttp, serveStdio } = await import('../../engine/mcp/serve.js');
      const policy = await loadPolicy(opts.policy); // a bad policy is a usage error (exit 2), not a server that denies all
      const pipeline = await createPipeline({ workspace: opts.workspace, policy, audit: opts.audit, approver: new ElicitingApprover(), ...(opts.session ? { session: opts.session } : {}) });
      try {
        if (opts.http === undefined) {
          await serveStdio(pipeline);
          return;
        }
        const port = Number(opts.http);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError('--http must be a port number (0..65535)');
        const token = opts.token || process.env.ICODE_MCP_TOKEN || newToken();
        const h = await serveHttp(pipeline, port, token);
        process.stdout.write(`icode MCP server on ${h.url}\nbearer token: ${opts.token || process.env.ICODE_MCP_TOKEN ? '(as given)' : h.token}\nsession: ${pipeline.session}\n`);
        await new Promise<void>((resolveStop) => {
          const stop = (): void => resolveStop();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await h.close();
      } finally {
        await pipeline.close();
      }
    });
}
