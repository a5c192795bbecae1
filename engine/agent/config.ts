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
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { MAX_POLICY_FILE_BYTES, readRegularFileSync, UnreadableFileError } from '../../policies/pure/read-bounded.js';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentConfigError } from './errors.js';
import type { Price } from './providers/pricing.js';
import { configDir } from '../xdg.js';

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
  /** Workspace checkpoints (engine/state): on by default. */
  checkpoints?: CheckpointConfig;
  /** Context windows in tokens by `provider/model` (or bare model), over the built-in table. */
  context_windows?: Record<string, number>;
  /** Share of the context window at which the conversation is compacted (default 0.8). */
  compact_threshold?: number;
  /** Where it was read from (absent when there is no file). */
  path?: string;
}

export interface CheckpointConfig {
  enabled?: boolean;
  /** Record `.gitignore`d paths too (default false). */
  include_ignored?: boolean;
  /** Files larger than this are listed as not restorable (default 16 MiB). */
  max_file_bytes?: number;
}

export type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string | null {
  if (env.ICODE_CONFIG) return env.ICODE_CONFIG;
  const dir = configDir(env);
  for (const name of ['config.yaml', 'config.yml', 'config.json']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The config file's JSON Schema: validated with ajv, like policies. Unknown top-level keys are ignored. */
const CONFIG_SCHEMA = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    base_url: { type: 'string' },
    max_retries: { type: 'integer', minimum: 0 },
    max_output_tokens: { type: 'integer', minimum: 1 },
    providers: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { base_url: { type: 'string' } } },
    },
    prices: {
      type: 'object',
      propertyNames: { pattern: '/' },
      additionalProperties: {
        type: 'object',
        required: ['input', 'output'],
        properties: {
          input: { type: 'number', minimum: 0 },
          output: { type: 'number', minimum: 0 },
          cache_read: { type: 'number', minimum: 0 },
          cache_write: { type: 'number', minimum: 0 },
        },
      },
    },
    checkpoints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        include_ignored: { type: 'boolean' },
        max_file_bytes: { type: 'integer', minimum: 1 },
      },
    },
    context_windows: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 } },
    compact_threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  },
} as const satisfies JSONSchema;
type ConfigDoc = FromSchema<typeof CONFIG_SCHEMA>;

let validateConfig: ValidateFunction | undefined;

/** `field` (dotted) and what is wrong with it, for the first problem ajv found. */
function describeProblem(e: ErrorObject): string {
  const field = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const at = (name: string): string => `\`${field ? `${field}.` : ''}${name}\``;
  if (e.keyword === 'required') return `${at(String(e.params.missingProperty))} is missing`;
  // A key that fails `propertyNames` (ajv names the key on the error).
  if (e.propertyName !== undefined) return `${at(e.propertyName)} must be keyed provider/model`;
  if (!field) return 'expected a mapping';
  if (e.keyword === 'type') return `\`${field}\` must be ${e.params.type === 'object' ? 'a mapping' : e.params.type === 'integer' ? 'an integer' : `a ${String(e.params.type)}`}`;
  return `\`${field}\` ${e.message ?? `fails ${e.keyword}`}`;
}

export function loadConfigFile(env: Env = process.env): AgentConfigFile {
  const path = configPath(env);
  if (!path) return {};
  let text: string;
  try {
    text = readRegularFileSync(path, MAX_POLICY_FILE_BYTES, 'config');
  } catch (e) {
    if (e instanceof UnreadableFileError) throw new AgentConfigError(`config ${path}: cannot read it (${(e as Error).message}); fix it, or point ICODE_CONFIG at another file`);
    // configPath() only names files that exist (or ICODE_CONFIG): one that cannot be read is an error, not silence.
    throw new AgentConfigError(`config ${path}: cannot read it (${(e as Error).message}); fix its permissions, or point ICODE_CONFIG at another file`);
  }
  let doc: unknown;
  try {
    doc = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new AgentConfigError(`config ${path}: cannot parse it (${(e as Error).message})`);
  }
  if (doc === null || doc === undefined) return { path };
  validateConfig ??= new Ajv({ allErrors: false, strict: false }).compile(CONFIG_SCHEMA);
  if (!validateConfig(doc)) throw new AgentConfigError(`config ${path}: ${describeProblem(validateConfig.errors![0]!)}`);
  const d = doc as ConfigDoc;
  const out: AgentConfigFile = { path };
  if (d.model !== undefined) out.model = d.model;
  if (d.base_url !== undefined) out.base_url = d.base_url;
  if (d.max_retries !== undefined) out.max_retries = d.max_retries;
  if (d.max_output_tokens !== undefined) out.max_output_tokens = d.max_output_tokens;
  if (d.providers !== undefined) {
    out.providers = Object.fromEntries(Object.entries(d.providers).map(([name, p]) => [name, p.base_url !== undefined ? { base_url: p.base_url } : {}]));
  }
  if (d.prices !== undefined) {
    out.prices = Object.fromEntries(
      Object.entries(d.prices).map(([key, p]) => {
        const price: Price = { input: p.input, output: p.output };
        if (p.cache_read !== undefined) price.cacheRead = p.cache_read;
        if (p.cache_write !== undefined) price.cacheWrite = p.cache_write;
        return [key, price];
      }),
    );
  }
  if (d.checkpoints !== undefined) out.checkpoints = { ...d.checkpoints };
  if (d.context_windows !== undefined) out.context_windows = { ...d.context_windows };
  if (d.compact_threshold !== undefined) out.compact_threshold = d.compact_threshold;
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
