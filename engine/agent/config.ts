/**
 * Agent configuration: which model (`provider/model`), base URLs and retry count, from flags, the
 * environment and an optional config file. Precedence: flag > environment > config file.
 *
 * Config file: `$ICODE_CONFIG`, else `$XDG_CONFIG_HOME/icode/config.{yaml,yml,json}` (default
 * `~/.config/icode/`):
 *
 *   model: anthropic/claude-sonnet-4-5
 *   max_retries: 3
 *   max_output_tokens: 8192
 *   providers:
 *     ollama: { base_url: http://gpu-box:11434/v1 }
 *   prices:                          # USD per million tokens, over the built-in table
 *     anthropic/claude-sonnet-4-6: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }
 */
import { existsSync } from 'node:fs';
import { MAX_POLICY_FILE_BYTES, readRegularFileSync, UnreadableFileError } from '../../policies/pure/read-bounded.js';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentConfigError } from './errors.js';
import type { Price } from './providers/pricing.js';
import { isPlainObject } from './providers/tool-input.js';

export interface ProviderConfig {
  base_url?: string;
}

export interface AgentConfigFile {
  model?: string;
  base_url?: string;
  max_retries?: number;
  max_output_tokens?: number;
  providers?: Record<string, ProviderConfig>;
  prices?: Record<string, Price>;
  /** Where it was read from (absent when there is no file). */
  path?: string;
}

export type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string | null {
  if (env.ICODE_CONFIG) return env.ICODE_CONFIG;
  const dir = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'icode');
  for (const name of ['config.yaml', 'config.yml', 'config.json']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export function loadConfigFile(env: Env = process.env): AgentConfigFile {
  const path = configPath(env);
  if (!path) return {};
  let text: string;
  try {
    text = readRegularFileSync(path, MAX_POLICY_FILE_BYTES, 'config');
  } catch (e) {
    if (e instanceof UnreadableFileError) throw new AgentConfigError((e as Error).message);
    if (env.ICODE_CONFIG) throw new AgentConfigError(`config ${path}: cannot read it (${(e as Error).message})`);
    return {};
  }
  let doc: unknown;
  try {
    doc = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new AgentConfigError(`config ${path}: cannot parse it (${(e as Error).message})`);
  }
  if (doc === null || doc === undefined) return { path };
  if (!isPlainObject(doc)) throw new AgentConfigError(`config ${path}: expected a mapping`);
  const out: AgentConfigFile = { path };
  const bad = (k: string, what: string): never => {
    throw new AgentConfigError(`config ${path}: \`${k}\` must be ${what}`);
  };
  if (doc.model !== undefined) out.model = typeof doc.model === 'string' ? doc.model : bad('model', 'a string');
  if (doc.base_url !== undefined) out.base_url = typeof doc.base_url === 'string' ? doc.base_url : bad('base_url', 'a string');
  if (doc.max_retries !== undefined) {
    out.max_retries = Number.isInteger(doc.max_retries) && (doc.max_retries as number) >= 0 ? (doc.max_retries as number) : bad('max_retries', 'an integer >= 0');
  }
  if (doc.max_output_tokens !== undefined) {
    out.max_output_tokens =
      Number.isInteger(doc.max_output_tokens) && (doc.max_output_tokens as number) > 0
        ? (doc.max_output_tokens as number)
        : bad('max_output_tokens', 'an integer > 0');
  }
  if (doc.providers !== undefined) {
    if (!isPlainObject(doc.providers)) bad('providers', 'a mapping');
    out.providers = {};
    for (const [name, p] of Object.entries(doc.providers as Record<string, unknown>)) {
      if (!isPlainObject(p)) bad(`providers.${name}`, 'a mapping');
      const pc: ProviderConfig = {};
      const b = (p as Record<string, unknown>).base_url;
      if (b !== undefined) pc.base_url = typeof b === 'string' ? b : bad(`providers.${name}.base_url`, 'a string');
      out.providers[name] = pc;
    }
  }
  if (doc.prices !== undefined) {
    if (!isPlainObject(doc.prices)) bad('prices', 'a mapping of provider/model to prices');
    out.prices = {};
    for (const [key, p] of Object.entries(doc.prices as Record<string, unknown>)) {
      const num = (field: string): number | undefined => {
        const v = isPlainObject(p) ? p[field] : undefined;
        if (v === undefined) return undefined;
        return typeof v === 'number' && v >= 0 ? v : bad(`prices.${key}.${field}`, 'a number >= 0');
      };
      if (!isPlainObject(p) || !key.includes('/')) bad(`prices.${key}`, 'keyed provider/model, with input and output');
      const input = num('input');
      const output = num('output');
      if (input === undefined || output === undefined) bad(`prices.${key}`, 'given with input and output');
      const price: Price = { input: input!, output: output! };
      const cacheRead = num('cache_read');
      const cacheWrite = num('cache_write');
      if (cacheRead !== undefined) price.cacheRead = cacheRead;
      if (cacheWrite !== undefined) price.cacheWrite = cacheWrite;
      out.prices[key] = price;
    }
  }
  return out;
}

/** A parsed model choice. */
export type ModelSpec = { kind: 'script'; file: string } | { kind: 'api'; provider: string; model: string };

/**
 * Parse `provider/model` (split at the first slash: `ollama/library/x` is provider ollama) or
 * `script:FILE`. `provider` (from `--provider`) applies when the model has no provider part.
 */
export function parseModelSpec(spec: string | undefined, provider?: string): ModelSpec {
  const p = provider?.trim();
  if (p?.startsWith('script:')) {
    const file = p.slice('script:'.length);
    if (!file) throw new AgentConfigError('--provider script:FILE needs a file');
    return { kind: 'script', file };
  }
  const s = spec?.trim();
  if (s?.startsWith('script:')) {
    const file = s.slice('script:'.length);
    if (!file) throw new AgentConfigError('script:FILE needs a file');
    return { kind: 'script', file };
  }
  if (!s) {
    throw new AgentConfigError(
      'no model chosen: pass --model provider/model (e.g. anthropic/claude-sonnet-4-5), set ICODE_MODEL or `model:` in the config file, or use --provider script:FILE',
    );
  }
  const slash = s.indexOf('/');
  if (p) {
    // `--provider openai --model gpt-4o`, or a model that itself contains a slash.
    if (slash > 0 && s.slice(0, slash) === p) return { kind: 'api', provider: p, model: s.slice(slash + 1) };
    return { kind: 'api', provider: p, model: s };
  }
  if (slash <= 0 || slash === s.length - 1) {
    throw new AgentConfigError(`model "${s}": expected provider/model, e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5`);
  }
  return { kind: 'api', provider: s.slice(0, slash), model: s.slice(slash + 1) };
}

/** The model spec in force: flag, then ICODE_MODEL, then the config file. */
export function chooseModel(flag: string | undefined, env: Env, file: AgentConfigFile): string | undefined {
  return flag || env.ICODE_MODEL || file.model;
}
