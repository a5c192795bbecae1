/**
 * The tool registry: every tool the pipeline can run, by canonical name and alias. The pipeline validates
 * every call with it, the providers' tool specs and the docs list it, and tools registered at runtime
 * (MCP servers' `mcp__server__tool`s, sub-agents, web_fetch) join it with a plain JSON Schema and their
 * own executor. See docs/ARCHITECTURE.md, "How to add a tool".
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BUILTIN_TOOLS } from './builtin/index.js';
import type { JsonSchema, ToolAlias, ToolDefinition } from './definition.js';

/** What a provider is told about a tool (a plain, mutable copy of its JSON Schema). */
export interface ToolSpecForModel {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A tool name as a provider accepts it (Anthropic and OpenAI both require this form). */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

// Validators are compiled once per definition and shared by every registry (pipelines come and go).
const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new WeakMap<ToolDefinition, ValidateFunction>();
const plainSchemas = new WeakMap<ToolDefinition, Record<string, unknown>>();

function validatorOf(def: ToolDefinition): ValidateFunction {
  let v = validators.get(def);
  if (!v) {
    v = ajv.compile(def.inputSchema as Record<string, unknown>);
    validators.set(def, v);
  }
  return v;
}

/** A resolved call: the definition, and the input with an alias's field names mapped to the tool's. */
export interface ResolvedTool {
  def: ToolDefinition;
  input: unknown;
}

export class ToolRegistry {
  private readonly byName = new Map<string, ToolDefinition>();
  /** alias → [canonical name, how the alias's input maps] */
  private readonly aliases = new Map<string, { name: string; alias: ToolAlias }>();

  /** A registry holding `defs` (default: the built-in tools). */
  constructor(defs: readonly ToolDefinition[] = BUILTIN_TOOLS) {
    for (const d of defs) this.register(d);
  }

  /**
   * Adds a tool. Its schema is compiled now, so a bad schema fails here, not on the first call. Throws on
   * a name or alias already taken (a runtime tool can never shadow a built-in) or a name a provider
   * would refuse.
   */
  register(def: ToolDefinition): void {
    if (!TOOL_NAME.test(def.name)) throw new Error(`tool name "${def.name}" must match ${TOOL_NAME.source}`);
    const aliasList = (def.aliases ?? []).map((a) => (typeof a === 'string' ? { name: a } : a));
    for (const n of [def.name, ...aliasList.map((a) => a.name)]) {
      if (this.byName.has(n) || this.aliases.has(n)) throw new Error(`tool "${def.name}": the name "${n}" is already registered`);
    }
    if (aliasList.some((a, i) => a.name === def.name || aliasList.findIndex((b) => b.name === a.name) !== i)) {
      throw new Error(`tool "${def.name}": an alias repeats a name`);
    }
    try {
      validatorOf(def);
    } catch (e) {
      throw new Error(`tool "${def.name}": its input schema does not compile: ${(e as Error).message}`);
    }
    this.byName.set(def.name, def);
    for (const a of aliasList) this.aliases.set(a.name, { name: def.name, alias: a });
  }

  /** Removes a tool and its aliases (an MCP server went away). */
  unregister(name: string): boolean {
    const def = this.byName.get(name);
    if (!def) return false;
    this.byName.delete(name);
    for (const [alias, target] of [...this.aliases]) if (target.name === name) this.aliases.delete(alias);
    return true;
  }

  /** The canonical name for a name or an alias (unknown names are returned as given). */
  canonicalName(name: string): string {
    return this.aliases.get(name)?.name ?? name;
  }

  /** The definition of a canonical name or an alias. */
  get(name: string): ToolDefinition | undefined {
    return this.byName.get(name) ?? this.byName.get(this.aliases.get(name)?.name ?? '');
  }

  /** The definition a call names, and its input in the tool's own field names (undefined: unknown tool). */
  resolve(name: string, input: unknown): ResolvedTool | undefined {
    const def = this.byName.get(name);
    if (def) return { def, input };
    const a = this.aliases.get(name);
    if (!a) return undefined;
    return { def: this.byName.get(a.name)!, input: aliasInput(a.alias, input) };
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  list(): ToolDefinition[] {
    return [...this.byName.values()];
  }

  /** The tools as the model is shown them. */
  specs(): ToolSpecForModel[] {
    return this.list().map((def) => {
      let inputSchema = plainSchemas.get(def);
      if (!inputSchema) {
        inputSchema = JSON.parse(JSON.stringify(def.inputSchema)) as Record<string, unknown>;
        plainSchemas.set(def, inputSchema);
      }
      return { name: def.name, description: def.description, inputSchema };
    });
  }

  /** null when `input` is valid for the tool, else a readable message naming each bad field. */
  validate(name: string, input: unknown): string | null {
    const def = this.get(name);
    if (!def) return `unknown tool "${name}"`;
    const v = validatorOf(def);
    if (v(input)) return null;
    return (v.errors ?? []).map(describeError).join('; ');
  }
}

/**
 * Another agent's input → this tool's: fields renamed, neutral fields dropped. Fields with no equivalent
 * are left in place, so validation refuses the call with a message naming them.
 */
function aliasInput(alias: ToolAlias, input: unknown): unknown {
  const { renames, neutral } = alias;
  if ((!renames && !neutral) || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (neutral && has(neutral, k) && neutral[k] === v) continue;
    const to = renames && has(renames, k) ? renames[k] : k;
    // A call that names both spellings is not renamed: validation refuses the other agent's field.
    out[to !== k && has(input, to) ? k : to] = v;
  }
  return out;
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'input';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${where}: missing "${String(e.params.missingProperty)}"`;
  return `${where}: ${e.message ?? e.keyword}`;
}

export type { ToolDefinition };
