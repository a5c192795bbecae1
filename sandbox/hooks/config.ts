/**
 * Validation of hook declarations (the `hooks` section of a policy or a hooks config file). Mirrors
 * `hookConfigSchema` so the runtime never trusts an unvalidated declaration.
 */
import { HookConfigError } from './errors.js';
import {
  HOOK_POINTS,
  ON_ERROR_CHOICES,
  isHookPoint,
  type HookDeclaration,
  type HookMatch,
  type HookPoint,
  type HooksConfig,
  type OnError,
} from './types.js';

const DECL_KEYS = new Set(['name', 'match', 'script', 'builtin', 'command', 'options', 'on_error', 'timeout_ms', 'memory_mb']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringOrList(v: unknown, where: string): string | string[] {
  if (typeof v === 'string' && v.length > 0) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s.length > 0)) return [...(v as string[])];
  throw new HookConfigError(`${where}: expected a non-empty string or list of strings`);
}

function integer(v: unknown, min: number, max: number, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HookConfigError(`${where}: expected an integer from ${min} to ${max}`);
  }
  return v;
}

function parseDeclaration(point: HookPoint, raw: unknown, where: string): HookDeclaration {
  if (!isPlainObject(raw)) throw new HookConfigError(`${where}: expected an object`);
  for (const key of Object.keys(raw)) {
    if (!DECL_KEYS.has(key)) throw new HookConfigError(`${where}: unknown key "${key}"`);
  }
  const decl: HookDeclaration = {};
  const sources = (['script', 'builtin', 'command'] as const).filter((k) => raw[k] !== undefined);
  if (sources.length !== 1) throw new HookConfigError(`${where}: give exactly one of script, builtin, command`);
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name.length === 0) throw new HookConfigError(`${where}.name: expected a string`);
    decl.name = raw.name;
  }
  if (raw.match !== undefined) {
    if (!isPlainObject(raw.match)) throw new HookConfigError(`${where}.match: expected an object`);
    const match: HookMatch = {};
    for (const key of Object.keys(raw.match)) {
      if (key !== 'tool' && key !== 'agent') throw new HookConfigError(`${where}.match: unknown key "${key}"`);
    }
    if (raw.match.tool !== undefined) {
      if (point !== 'pre_tool' && point !== 'post_tool') throw new HookConfigError(`${where}.match.tool: ${point} events have no tool`);
      match.tool = stringOrList(raw.match.tool, `${where}.match.tool`);
    }
    if (raw.match.agent !== undefined) match.agent = stringOrList(raw.match.agent, `${where}.match.agent`);
    decl.match = match;
  }
  if (raw.script !== undefined) {
    if (typeof raw.script !== 'string' || !/\.(m?js|m?ts)$/.test(raw.script)) {
      throw new HookConfigError(`${where}.script: expected a path ending in .js, .mjs, .ts or .mts`);
    }
    decl.script = raw.script;
  }
  if (raw.builtin !== undefined) {
    if (typeof raw.builtin !== 'string' || raw.builtin.length === 0) throw new HookConfigError(`${where}.builtin: expected a name`);
    decl.builtin = raw.builtin;
  }
  if (raw.command !== undefined) decl.command = stringOrList(raw.command, `${where}.command`);
  if (raw.options !== undefined) {
    if (!isPlainObject(raw.options)) throw new HookConfigError(`${where}.options: expected an object`);
    decl.options = raw.options;
  }
  if (raw.on_error !== undefined) {
    const choices = ON_ERROR_CHOICES[point];
    if (typeof raw.on_error !== 'string' || !choices.includes(raw.on_error as OnError)) {
      throw new HookConfigError(`${where}.on_error: expected one of ${choices.join(', ')} for ${point}`);
    }
    decl.on_error = raw.on_error as OnError;
  }
  if (raw.timeout_ms !== undefined) decl.timeout_ms = integer(raw.timeout_ms, 1, 600_000, `${where}.timeout_ms`);
  if (raw.memory_mb !== undefined) decl.memory_mb = integer(raw.memory_mb, 8, 1024, `${where}.memory_mb`);
  return decl;
}

/** Validates a whole `hooks` object. Throws HookConfigError naming the first problem. */
export function parseHooksConfig(raw: unknown, where = 'hooks'): HooksConfig {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw new HookConfigError(`${where}: expected an object of hook points`);
  const config: HooksConfig = {};
  for (const [point, list] of Object.entries(raw)) {
    if (!isHookPoint(point)) {
      throw new HookConfigError(`${where}: unknown hook point "${point}" (expected ${HOOK_POINTS.join(', ')})`);
    }
    if (!Array.isArray(list)) throw new HookConfigError(`${where}.${point}: expected a list`);
    config[point] = list.map((d, i) => parseDeclaration(point, d, `${where}.${point}[${i}]`));
  }
  return config;
}
