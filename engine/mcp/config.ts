/**
 * MCP server configuration: `.mcp.json` at the workspace root (Claude Code's format) and the
 * `mcp_servers` map of icode's own config file (same entries; the workspace's file wins on a name
 * clash). `${VAR}` and `${VAR:-default}` are expanded in command, args, env, url and headers. Unknown
 * fields are ignored with a warning; a file that is not JSON is an InputError naming file and line:col.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configPath } from '../agent/config.js';
import { InputError } from '../errors.js';
import { jsonErrorOffset } from './json-position.js';

export type McpTransportKind = 'stdio' | 'http' | 'sse';

export interface StdioServerConfig {
  name: string;
  transport: 'stdio';
  command: string;
  args: string[];
  /** Variables the server's config names: the only ones added to the jail's allowlisted environment. */
  env: Record<string, string>;
  source: string;
}

export interface RemoteServerConfig {
  name: string;
  transport: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
  source: string;
}

export type McpServerConfig = StdioServerConfig | RemoteServerConfig;

export interface McpConfig {
  servers: McpServerConfig[];
  warnings: string[];
}

/** Server names become part of tool names (`mcp__NAME__tool`): the providers' alphabet, no `__`. */
const SERVER_NAME = /^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/;
const STDIO_FIELDS = new Set(['type', 'command', 'args', 'env']);
const REMOTE_FIELDS = new Set(['type', 'url', 'headers']);

type Env = Record<string, string | undefined>;

/**
 * `${VAR}` / `${VAR:-default}` in a string; an unset variable without a default becomes '' (warned). The
 * environment given is already filtered: see `loadMcpConfig` (the workspace's file only sees the
 * variables the policy's `settings.env` names).
 */
export function expandVars(s: string, env: Env, warn: (m: string) => void): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
    const v = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    warn(`\${${name}} is not set (expanded to an empty string)`);
    return '';
  });
}

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** JSON.parse with an error naming the file and line:col. */
export function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const pos = jsonErrorOffset(text);
    const near = text.slice(pos, pos + 20).split('\n')[0];
    throw new InputError(`${path}:${lineCol(text, pos)}: not valid JSON (${near ? `unexpected ${JSON.stringify(near)}` : 'unexpected end of file'})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringMap(v: unknown, what: string, warn: (m: string) => void, env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  if (!isObject(v)) {
    warn(`${what} is not an object (ignored)`);
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') warn(`${what}.${k} is not a string (ignored)`);
    else out[k] = expandVars(val, env, (m) => warn(`${what}.${k}: ${m}`));
  }
  return out;
}

/** The servers of one `mcpServers` map; bad entries are skipped with a warning. */
export function serversFrom(map: unknown, source: string, env: Env, warnings: string[]): McpServerConfig[] {
  const out: McpServerConfig[] = [];
  if (map === undefined) return out;
  if (!isObject(map)) {
    warnings.push(`${source}: mcpServers is not an object (ignored)`);
    return out;
  }
  for (const [name, raw] of Object.entries(map)) {
    const where = `${source}: server "${name}"`;
    const warn = (m: string): void => void warnings.push(`${where}: ${m}`);
    if (!SERVER_NAME.test(name) || name.length > 40) {
      warn(`the name must be letters, digits, "-" and single "_" (at most 40), since tools are named mcp__${name}__TOOL (skipped)`);
      continue;
    }
    if (!isObject(raw)) {
      warn('not an object (skipped)');
      continue;
    }
    const type = raw.type ?? (raw.url !== undefined ? 'http' : 'stdio');
    if (type === 'stdio') {
      if (typeof raw.command !== 'string' || raw.command === '') {
        warn('a stdio server needs "command" (skipped)');
        continue;
      }
      for (const k of Object.keys(raw)) if (!STDIO_FIELDS.has(k)) warn(`unknown field "${k}" ignored`);
      const args = Array.isArray(raw.args) ? raw.args : [];
      if (raw.args !== undefined && !Array.isArray(raw.args)) warn('"args" is not a list (ignored)');
      out.push({
        name,
        transport: 'stdio',
        command: expandVars(raw.command, env, warn),
        args: args.filter((a): a is string => typeof a === 'string').map((a) => expandVars(a, env, warn)),
        env: stringMap(raw.env, 'env', warn, env),
        source,
      });
    } else if (type === 'http' || type === 'sse' || type === 'streamable-http') {
      if (typeof raw.url !== 'string') {
        warn(`a ${String(type)} server needs "url" (skipped)`);
        continue;
      }
      for (const k of Object.keys(raw)) if (!REMOTE_FIELDS.has(k)) warn(`unknown field "${k}" ignored`);
      out.push({ name, transport: type === 'sse' ? 'sse' : 'http', url: expandVars(raw.url, env, warn), headers: stringMap(raw.headers, 'headers', warn, env), source });
    } else warn(`unknown type ${JSON.stringify(type)} (skipped)`);
  }
  return out;
}

/**
 * Servers from icode's config file (`mcp_servers:`), then the workspace's `.mcp.json` (which wins).
 * The workspace's file comes with the repository, so it is not trusted with icode's environment: its
 * `${VAR}`s expand only for the names in `workspaceVars` (the policy's `settings.env`, the same
 * allowlist that passes variables into the jail); others take their default or '' (warned). icode's
 * own config file is the user's and expands every variable.
 */
export function loadMcpConfig(workspace: string, env: Env = process.env, workspaceVars: readonly string[] = []): McpConfig {
  const warnings: string[] = [];
  const byName = new Map<string, McpServerConfig>();
  const own = configPath(env);
  if (own) {
    let text: string | undefined;
    try {
      text = readFileSync(own, 'utf8');
    } catch {
      /* the agent's config loader reports unreadable files */
    }
    if (text !== undefined) {
      const doc: unknown = own.endsWith('.json') ? parseJsonFile(own, text) : parseYamlFile(own, text);
      if (isObject(doc)) for (const s of serversFrom(doc.mcp_servers ?? doc.mcpServers, own, env, warnings)) byName.set(s.name, s);
    }
  }
  const file = join(workspace, '.mcp.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`${file}: cannot read it (${(e as Error).message})`);
  }
  if (text !== undefined) {
    const doc = parseJsonFile(file, text);
    if (!isObject(doc)) throw new InputError(`${file}:1:1: expected an object with "mcpServers"`);
    for (const k of Object.keys(doc)) if (k !== 'mcpServers') warnings.push(`${file}: unknown field "${k}" ignored`);
    const allowed: Env = {};
    for (const n of workspaceVars) if (env[n] !== undefined) allowed[n] = env[n];
    const before = warnings.length;
    for (const s of serversFrom(doc.mcpServers, file, allowed, warnings)) byName.set(s.name, s);
    for (let i = before; i < warnings.length; i++) {
      if (warnings[i]!.includes('is not set')) warnings[i] += " (a workspace's .mcp.json sees only the variables the policy's settings.env names)";
    }
  }
  return { servers: [...byName.values()], warnings };
}

function parseYamlFile(path: string, text: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new InputError(`${path}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
}
