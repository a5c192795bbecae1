/**
 * One tool, defined once: its name, what the model is told, ONE input schema (a JSON Schema object: ajv
 * validates every call against it, and for built-ins `FromSchema` from json-schema-to-ts derives the
 * TypeScript input type from the same `as const` object), its kind, whether it changes the workspace, the
 * names other agents use for it, and the executor that runs it. See docs/ARCHITECTURE.md, "How to add a
 * tool".
 */
import type { CompiledPolicy, PolicySettings } from '../../policies/index.js';
import type { Executor } from '../executors/types.js';

/**
 * What runs a tool. `fs` and `shell` are the pipeline's own executors (the worker pool, the jail); any
 * other kind must bring its own executor (`ToolDefinition.executor`), or its calls are denied (recorded).
 */
export type ToolKind = 'fs' | 'shell' | 'agent' | 'mcp' | 'web' | (string & {});

/** A JSON Schema object. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Another agent's name for a tool, and how its input fields map to this tool's (e.g. Claude Code's `Read`). */
export interface ToolAlias {
  name: string;
  /** Fields renamed before validation (`file_path` → `path`); a call naming both spellings is left as sent. */
  renames?: Readonly<Record<string, string>>;
  /** Fields that change nothing when they hold this value: dropped. */
  neutral?: Readonly<Record<string, unknown>>;
}

/** What an executor factory is given: built once per pipeline. */
export interface ExecutorEnv {
  /** The workspace root (real path). */
  workspace: string;
  /** The policy's executor settings (undefined when the policy failed to load). */
  settings: Readonly<PolicySettings> | undefined;
  /** The compiled policy, for executors that decide again while they run (web_fetch's redirects). */
  policy?: CompiledPolicy | null;
}

export interface ToolDefinition<S extends JsonSchema = JsonSchema> {
  /** Canonical name: what the policy, the audit log and the model see. `[A-Za-z0-9_-]{1,64}`. */
  readonly name: string;
  readonly description: string;
  /** The one schema every call is validated against (ajv) and that the model is shown. */
  readonly inputSchema: S;
  readonly kind: ToolKind;
  /** Does a call change the workspace? (Checkpoints snapshot before mutating calls.) */
  readonly mutates: boolean;
  /**
   * The one workspace path a successful call writes, when its input names it (write, edit): the next
   * checkpoint then looks at that path instead of scanning the workspace. Absent: what a mutating call
   * changed is unknown, and the next checkpoint scans.
   */
  readonly writtenPath?: (input: Record<string, unknown>) => string | undefined;
  readonly aliases?: readonly (string | ToolAlias)[];
  /**
   * Builds this tool's executor for one pipeline (called once, on the tool's first call; closed with the
   * pipeline). Without it, the pipeline's executor for `kind` runs the tool.
   */
  readonly executor?: (env: ExecutorEnv) => Executor;
}

/** `writtenPath` of a tool whose `path` input is the file it writes. */
export function inputPath(input: Record<string, unknown>): string | undefined {
  return typeof input.path === 'string' && input.path !== '' ? input.path : undefined;
}

/** Defines a tool (frozen; the schema keeps its literal type). */
export function defineTool<S extends JsonSchema>(def: ToolDefinition<S>): ToolDefinition<S> {
  return Object.freeze(def);
}
