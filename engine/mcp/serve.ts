/**
 * `icode mcp serve`: icode's own tools offered as an MCP server, every call through the whole pipeline
 * (schema, policy, audit, hooks, fs worker or shell jail). Over stdio, or streamable HTTP on 127.0.0.1
 * behind a bearer token. An `ask` verdict is put to the client as an MCP elicitation when it declares
 * that capability, and is a deny otherwise (ElicitingApprover).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { InputError } from '../errors.js';
import type { ApprovalAnswer, ApprovalRequest, Approver } from '../approval.js';
import type { Pipeline } from '../pipeline.js';

/** The tools offered (definitions, schemas and descriptions come from the pipeline's registry). */
export const SERVED_TOOLS = ['read', 'write', 'edit', 'glob', 'grep', 'list', 'shell'] as const;

/** Which MCP server (client connection) the call in progress came from. */
const current = new AsyncLocalStorage<Server>();

/** Settles `ask` by eliciting the client that made the call; deny when it cannot be asked. */
export class ElicitingApprover implements Approver {
  async approve(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    const server = current.getStore();
    if (!server?.getClientCapabilities()?.elicitation) return { approved: false, note: 'denied: the MCP client cannot be asked (it does not support elicitation)' };
    const r = await server.elicitInput(
      {
        message: `icode policy asks: allow ${req.tool} ${JSON.stringify(req.input).slice(0, 500)}? (${req.reason})`,
        requestedSchema: { type: 'object', properties: { approve: { type: 'boolean', title: 'Allow this call', description: req.reason } }, required: ['approve'] },
      },
      { signal },
    );
    if (r.action === 'accept' && r.content?.approve === true) return { approved: true, note: 'approved by the MCP client (elicitation)' };
    return { approved: false, note: `denied by the MCP client (elicitation: ${r.action})` };
  }
}

/** One MCP server instance (one per client connection) answering from the pipeline. */
export function icodeMcpServer(pipeline: Pipeline): Server {
  const server = new Server({ name: 'icode', version: '1' }, { capabilities: { tools: {} }, instructions: `icode's tools on the workspace ${pipeline.workspace}; every call is decided by the policy and audited.` });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: SERVED_TOOLS.flatMap((name) => {
      const def = pipeline.registry.get(name);
      const spec = pipeline.registry.specs().find((s) => s.name === name);
      if (!def || !spec) return [];
      return [{ name, description: def.description, inputSchema: spec.inputSchema as { type: 'object' }, annotations: { readOnlyHint: !def.mutates } }];
    }),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const name = req.params.name;
    if (!(SERVED_TOOLS as readonly string[]).includes(name)) return { content: [{ type: 'text', text: `unknown tool ${name}` }], isError: true };
    const r = await current.run(server, () => pipeline.call({ tool: name, input: req.params.arguments ?? {}, agent: 'mcp-client' }, extra.signal));
    const text = r.status === 'ok' ? (r.output ?? '') : (r.error ?? r.output ?? r.status);
    return { content: [{ type: 'text', text }], isError: r.status !== 'ok', _meta: { icode: { status: r.status, decision: r.decision, rule: r.rule, auditId: r.auditId ?? null } } };
  });
  return server;
}

/** Serves over stdio until the client closes stdin. */
export async function serveStdio(pipeline: Pipeline): Promise<void> {
  const server = icodeMcpServer(pipeline);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => void server.close());
  await closed;
}

export interface HttpServeHandle {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** A random bearer token (what `--http` prints when none is given). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Streamable HTTP on 127.0.0.1:port (0 = any free port), every request checked against the token. */
export async function serveHttp(pipeline: Pipeline, port: number, token: string): Promise<HttpServeHandle> {
  if (token.length < 16) throw new InputError('the bearer token must be at least 16 characters');
  const expected = Buffer.from(`Bearer ${token}`);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const authorised = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorised(req)) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(JSON.stringify({ error: 'unauthorized: a valid bearer token is required' }));
      return;
    }
    if (!(req.url ?? '/').startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!transport) {
      if (sid !== undefined || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'unknown session' }, id: null }));
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, t),
        enableDnsRebindingProtection: true,
        allowedHosts: [`127.0.0.1:${bound}`, `localhost:${bound}`],
      });
      t.onclose = () => {
        if (t.sessionId) sessions.delete(t.sessionId);
      };
      await icodeMcpServer(pipeline).connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  };
  let bound = port;
  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String((e as Error).message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = http.address();
  bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    port: bound,
    token,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections();
    },
  };
}
