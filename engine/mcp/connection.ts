/**
 * One MCP server as icode's client sees it: started (stdio servers inside a bwrap jail, remote ones over
 * streamable HTTP or SSE) with a start timeout, its tools listed, calls made with a per-call timeout and
 * a result size cap. A server that crashes, hangs, floods or speaks garbage fails the call in flight
 * with an error result and is killed; the next call starts it again. Nothing here waits without a bound.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../../policies/index.js';
import type { McpServerLimits } from '../../policies/compiler/compiled.js';
import { checkExtraEnv, jailEnv, stdioJailCommand } from '../../sandbox/jail/index.js';
import { stdioLimitArgv } from '../../sandbox/jail/stdio.js';
import type { ExecResult } from '../executors/types.js';
import type { McpServerConfig, RemoteServerConfig } from './config.js';
import { JailedStdioTransport } from './stdio-transport.js';

export type ServerState = 'stopped' | 'starting' | 'ready' | 'failed' | 'closed';

export interface ConnectionLimits {
  /** Connecting and listing tools (default 30 s). */
  startTimeoutMs: number;
  /** One tool call (default 120 s). */
  callTimeoutMs: number;
  /** Text kept from a result (default 100 000 bytes; head and tail around a marker). */
  maxResultBytes: number;
  /** Largest single message read from a stdio server (default 4 MiB); more kills the server. */
  maxMessageBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { startTimeoutMs: 30_000, callTimeoutMs: 120_000, maxResultBytes: 100_000, maxMessageBytes: 4 * 1024 * 1024 };

export interface ConnectionContext {
  workspace: string;
  policy: CompiledPolicy | null;
  /** The session's control files inside the workspace, workspace-relative. */
  controlPaths?: readonly string[];
  limits?: Partial<ConnectionLimits>;
}

/** How a stdio server is confined, decided from the policy (what `icode mcp list` shows). */
export interface Confinement {
  jail: 'bwrap' | 'none';
  workspace: 'read-write' | 'read-only';
  network: boolean;
  readOnly: string[];
  /** Per-process limits (0 = none): `settings.mcp.SERVER.limits` over these defaults. */
  limits: Required<McpServerLimits>;
}

/**
 * Defaults for a server's process: the shell jail's address space and processes; 1 GiB files; an hour
 * of cpu over the server's life (it is long-lived; past that it is killed and restarts on the next call).
 */
export const DEFAULT_SERVER_LIMITS: Readonly<Required<McpServerLimits>> = Object.freeze({ memoryBytes: 4 * 1024 ** 3, fileSizeBytes: 1024 ** 3, cpuSeconds: 3600, processes: 256 });

export function confinementFor(server: string, workspace: string, policy: CompiledPolicy | null): Confinement {
  const s = policy?.settings;
  // The workspace is writable for a server only when its settings opt in (`workspace: read-write`) AND the
  // policy lets the write tool write without asking. Read-only by default: a server writes the workspace
  // directly, not through the shell's change gate (issue 17: a planted .git or set-id file must not reach
  // the workspace unseen), so a writable one is a choice the user makes per server.
  let writable = false;
  if (s?.mcp?.[server]?.workspace !== 'read-write') return confinement(server, s, false);
  try {
    writable = policy?.decide({ tool: 'write', input: { path: join(workspace, 'mcp-server-output'), content: '' }, workspace }).decision === 'allow';
    // A write the policy decides by its content (args rules) is not one a server may make unseen.
    if (policy?.hasArgConditions('write')) writable = false;
  } catch {
    writable = false;
  }
  return confinement(server, s, writable);
}

function confinement(server: string, s: CompiledPolicy['settings'] | undefined, writable: boolean): Confinement {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...(s?.mcp?.[server]?.limits ?? {}) };
  return { jail: s?.jail ?? 'bwrap', workspace: writable ? 'read-write' : 'read-only', network: s?.mcp?.[server]?.network ?? false, readOnly: [...(s?.mcp?.[server]?.readOnly ?? [])], limits };
}

export class McpConnection {
  state: ServerState = 'stopped';
  /** Why the server last failed (start or call). */
  lastError: string | undefined;
  tools: Tool[] = [];
  /** Called after the tool list changed (a notification, or a restart that lists other tools). */
  onToolsChanged?: () => void;
  readonly limits: ConnectionLimits;
  private client: Client | null = null;
  private transport: Transport | null = null;
  private starting: Promise<void> | null = null;
  private restarts = 0;
  /** Whether the server was started before (a later start is a restart). */
  private started = false;
  /** A tool-list refresh after `notifications/tools/list_changed`, while it runs. */
  private refreshing: Promise<void> | null = null;

  constructor(
    readonly config: McpServerConfig,
    private readonly ctx: ConnectionContext,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...ctx.limits };
  }

  get name(): string {
    return this.config.name;
  }

  get confinement(): Confinement | null {
    return this.config.transport === 'stdio' ? confinementFor(this.name, this.ctx.workspace, this.ctx.policy) : null;
  }

  /** Starts the server (once; concurrent callers share the start). Rejects with a readable message. */
  start(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new Error(`MCP server ${this.name} is closed`));
    this.starting ??= this.startNow().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async startNow(): Promise<void> {
    const before = this.started ? this.tools : null;
    this.started = true;
    this.state = 'starting';
    const client = new Client({ name: 'icode', version: '1' }, { capabilities: {} });
    let transport: Transport;
    try {
      transport = this.makeTransport();
    } catch (e) {
      this.fail(`cannot start: ${(e as Error).message}`);
      throw new Error(this.lastError);
    }
    this.client = client;
    this.transport = transport;
    client.onclose = () => {
      if (this.client === client && this.state !== 'closed') this.fail(this.describeExit('the server exited'));
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (this.client !== client) return;
      // A call in flight waits for this before it returns: the model's next request sees the new list.
      const refresh = (async () => {
        try {
          await this.listTools(client);
          if (this.client === client) this.onToolsChanged?.();
        } catch {
          /* the next call or restart lists them again */
        }
      })();
      this.refreshing = refresh;
      void refresh.finally(() => {
        if (this.refreshing === refresh) this.refreshing = null;
      });
      return refresh;
    });
    try {
      await withTimeout(
        (async () => {
          await client.connect(transport, { timeout: this.limits.startTimeoutMs });
          await this.listTools(client);
        })(),
        this.limits.startTimeoutMs,
        `did not start within ${this.limits.startTimeoutMs} ms`,
      );
    } catch (e) {
      const transport = this.transport;
      await this.kill();
      this.fail(this.describeExit(`cannot start: ${(e as Error).message}`, transport));
      throw new Error(this.lastError);
    }
    this.state = 'ready';
    this.lastError = undefined;
    // A restarted server (after a crash or hang) may offer other tools than before.
    if (before !== null && toolsKey(before) !== toolsKey(this.tools)) this.onToolsChanged?.();
  }

  private async listTools(client: Client): Promise<void> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await client.listTools(cursor ? { cursor } : {}, { timeout: this.limits.startTimeoutMs });
      tools.push(...r.tools);
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    this.tools = tools;
  }

  private makeTransport(): Transport {
    const c = this.config;
    if (c.transport !== 'stdio') return remoteTransport(c);
    const conf = confinementFor(c.name, this.ctx.workspace, this.ctx.policy);
    if (conf.jail === 'none') {
      // The policy's explicit weaker mode: no namespaces; still only the allowlisted environment.
      const env = jailEnv(checkExtraEnv(c.env), { term: 'dumb', home: process.env.HOME ?? '/' });
      // No process limit here: outside a user namespace RLIMIT_NPROC would count all of the user's processes.
      const [bash, ...pre] = stdioLimitArgv({ ...conf.limits, processes: 0 });
      return new JailedStdioTransport({ file: bash!, args: [...pre, c.command, ...c.args], files: [], env, cwd: this.ctx.workspace }, this.limits.maxMessageBytes);
    }
    const cmd = stdioJailCommand({
      workspace: this.ctx.workspace,
      writable: conf.workspace === 'read-write',
      network: conf.network,
      env: c.env,
      readOnlyPaths: conf.readOnly,
      protectedPaths: this.protectedPaths(conf),
      command: c.command,
      args: c.args,
      limits: conf.limits,
    });
    return new JailedStdioTransport({ file: cmd.file, args: cmd.args, files: cmd.files, env: {}, cleanup: cmd.cleanup }, this.limits.maxMessageBytes);
  }

  /**
   * What a server with a writable workspace cannot write, besides what every jail protects (git's
   * metadata, `.icode`, other agents' configuration that exists): the policy's protected paths, and the
   * session's control files that exist (a policy or hook script inside the workspace). A missing control
   * file is left out, as the jail would pin it with an empty placeholder file in the workspace; only the
   * servers the user opted into a writable workspace could create one.
   */
  private protectedPaths(conf: Confinement): string[] {
    const fromPolicy = (this.ctx.policy?.settings.protectedPaths ?? []).map((g) => g.replace(/\/\*\*$/, '')).filter((p) => !/[*?[\]{}]/.test(p));
    if (conf.workspace !== 'read-write') return fromPolicy;
    const controls = (this.ctx.controlPaths ?? []).filter((rel) => {
      try {
        lstatSync(join(this.ctx.workspace, rel));
        return true;
      } catch {
        return false;
      }
    });
    return [...new Set([...fromPolicy, ...controls])];
  }

  private describeExit(what: string, transport: Transport | null = this.transport): string {
    if (!(transport instanceof JailedStdioTransport)) return what;
    const err = transport.stderr;
    const proto = transport.protocolError ? `; ${transport.protocolError}` : '';
    return `${what}${proto}${err ? `; its stderr: ${err.split('\n').slice(-5).join(' | ')}` : ''}`;
  }

  private fail(message: string): void {
    if (this.state === 'closed') return;
    this.state = 'failed';
    this.lastError = message;
  }

  /** One tool call: an error result (never a throw, never a hang) when the server fails. */
  async callTool(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ExecResult> {
    const fail = (error: string, code: string): ExecResult => ({ ok: false, output: '', error: `MCP server ${this.name}: ${error}`, code, truncated: false, bytes: 0 });
    if (this.state === 'failed' || this.state === 'stopped') this.restarts++;
    try {
      await this.start();
    } catch (e) {
      return fail((e as Error).message, 'mcp_start');
    }
    const client = this.client!;
    try {
      const r = await withTimeout(
        client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.limits.callTimeoutMs, signal, maxTotalTimeout: this.limits.callTimeoutMs }),
        this.limits.callTimeoutMs + 1000,
        `no answer within ${this.limits.callTimeoutMs} ms`,
      );
      // The server announced a new tool list during the call: registered before the result goes back.
      if (this.refreshing) await this.refreshing;
      const text = resultText(r as { content?: unknown[]; structuredContent?: unknown; toolResult?: unknown });
      const capped = cap(text, this.limits.maxResultBytes);
      const isError = (r as { isError?: boolean }).isError === true;
      return { ok: !isError, output: capped.text, ...(isError ? { error: capped.text || 'the tool reported an error', code: 'tool_error' } : {}), truncated: capped.truncated, bytes: Buffer.byteLength(text) };
    } catch (e) {
      const msg = (e as Error).message;
      const aborted = signal?.aborted === true;
      const transport = this.transport;
      // A hung, crashed or garbled server is killed: the next call starts a fresh one.
      await this.kill();
      this.fail(this.describeExit(aborted ? 'the call was cancelled' : msg, transport));
      return fail(`${this.lastError} (the server was stopped and restarts on the next call)`, aborted ? 'cancelled' : /timed? ?out|within/i.test(msg) ? 'timeout' : 'mcp_error');
    }
  }

  async listResources(): Promise<{ uri: string; name: string; description?: string; mimeType?: string }[]> {
    await this.start();
    if (!this.client!.getServerCapabilities()?.resources) return [];
    return (await this.client!.listResources({}, { timeout: this.limits.startTimeoutMs })).resources;
  }

  async listPrompts(): Promise<{ name: string; description?: string }[]> {
    await this.start();
    if (!this.client!.getServerCapabilities()?.prompts) return [];
    return (await this.client!.listPrompts({}, { timeout: this.limits.startTimeoutMs })).prompts;
  }

  /** Host pid of the server's process (bwrap for a jailed one). */
  get pid(): number | undefined {
    return this.transport instanceof JailedStdioTransport ? this.transport.pid : undefined;
  }

  private async kill(): Promise<void> {
    const client = this.client;
    const transport = this.transport;
    this.client = null;
    this.transport = null;
    await withTimeout((async () => {
      await transport?.close();
      await client?.close();
    })(), 5000, 'close timed out').catch(() => undefined);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await this.kill();
  }
}

function remoteTransport(c: RemoteServerConfig): Transport {
  if (c.transport === 'http') return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: c.headers } });
  // Old servers: the SSE stream is opened with the same headers (authorization) as the POSTs.
  return new SSEClientTransport(new URL(c.url), {
    requestInit: { headers: c.headers },
    eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...c.headers } }) },
  });
}

/** What identifies a tool list (names and schemas), to tell a restart's list from the previous one. */
function toolsKey(tools: readonly Tool[]): string {
  return JSON.stringify(tools.map((t) => [t.name, t.description ?? '', t.inputSchema ?? null]));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A tool result as text for the model: text parts as they are, other parts described. */
function resultText(r: { content?: unknown[]; structuredContent?: unknown; toolResult?: unknown }): string {
  if (!Array.isArray(r.content)) return JSON.stringify(r.toolResult ?? r.structuredContent ?? null);
  const parts = r.content.map((c) => {
    const item = c as { type?: string; text?: string; mimeType?: string; resource?: { uri?: string; text?: string }; uri?: string; data?: string };
    if (item.type === 'text') return String(item.text ?? '');
    if (item.type === 'image' || item.type === 'audio') return `[${item.type} ${item.mimeType ?? ''}, ${Math.floor(((item.data ?? '').length * 3) / 4)} bytes]`;
    if (item.type === 'resource') return item.resource?.text ?? `[resource ${item.resource?.uri ?? ''}]`;
    if (item.type === 'resource_link') return `[resource link ${item.uri ?? ''}]`;
    return JSON.stringify(item);
  });
  if (parts.length === 0 && r.structuredContent !== undefined) return JSON.stringify(r.structuredContent);
  return parts.join('\n');
}

function cap(text: string, max: number): { text: string; truncated: boolean } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= max) return { text, truncated: false };
  const buf = Buffer.from(text);
  const half = Math.floor(max / 2);
  return { text: `${buf.subarray(0, half).toString()}\n[output truncated: ${bytes - 2 * half} bytes dropped]\n${buf.subarray(bytes - half).toString()}`, truncated: true };
}
