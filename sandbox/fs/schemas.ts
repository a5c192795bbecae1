/**
 * The file tools' inputs: ONE JSON Schema per tool. It is what the model is shown, what the engine
 * validates every call against (ajv, engine/tools/registry.ts), the TypeScript input type (derived at
 * compile time by json-schema-to-ts: no runtime cost), and what the worker checks again before it
 * touches the disk (check-input.ts). The schemas live here, beside the code that runs them, because
 * sandbox/ may not import engine/; the engine's tool definitions (engine/tools/builtin/*.ts) import them.
 */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

const path = { type: 'string', minLength: 1, maxLength: 4096, description: 'Path, relative to the workspace root or absolute inside it' } as const;
const pattern = { type: 'string', minLength: 1, maxLength: 4096 } as const;
const text = { type: 'string', maxLength: 10 * 1024 * 1024 } as const;

export const ReadInput = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path,
    offset: { type: 'integer', minimum: 1, description: '1-based first line' },
    limit: { type: 'integer', minimum: 1, maximum: 100000, description: 'number of lines (default 2000)' },
    binary: { type: 'boolean', description: 'return a binary file as base64 instead of refusing it' },
  },
} as const satisfies JSONSchema;
export type ReadInput = FromSchema<typeof ReadInput>;

export const WriteInput = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'content'],
  properties: { path, content: text },
} as const satisfies JSONSchema;
export type WriteInput = FromSchema<typeof WriteInput>;

export const EditInput = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'old_string', 'new_string'],
  properties: { path, old_string: text, new_string: text, replace_all: { type: 'boolean' } },
} as const satisfies JSONSchema;
export type EditInput = FromSchema<typeof EditInput>;

export const GlobInput = {
  type: 'object',
  additionalProperties: false,
  required: ['pattern'],
  /** include_ignored: also list files .gitignore excludes (default: skipped, as grep skips them). */
  properties: { pattern, path, include_ignored: { type: 'boolean' } },
} as const satisfies JSONSchema;
export type GlobInput = FromSchema<typeof GlobInput>;

export const GrepInput = {
  type: 'object',
  additionalProperties: false,
  required: ['pattern'],
  properties: {
    pattern,
    path,
    glob: pattern,
    output_mode: { enum: ['files_with_matches', 'content', 'count'] },
    case_insensitive: { type: 'boolean' },
    /** Claude Code's spelling of case_insensitive (rg -i). */
    '-i': { type: 'boolean', description: 'case insensitive (rg -i)' },
    /** Line numbers in content mode (rg -n; default true). */
    '-n': { type: 'boolean', description: 'show line numbers in content mode (default true)' },
    /** Lines of context before and after each match (content mode). */
    context: { type: 'integer', minimum: 0, maximum: 100 },
    '-C': { type: 'integer', minimum: 0, maximum: 100, description: 'lines of context before and after each match (content mode)' },
    '-A': { type: 'integer', minimum: 0, maximum: 100, description: 'lines of context after each match (content mode)' },
    '-B': { type: 'integer', minimum: 0, maximum: 100, description: 'lines of context before each match (content mode)' },
    /** A ripgrep file type (rg --type), e.g. js, ts, py, rust, go, md. */
    type: { type: 'string', minLength: 1, maxLength: 32, description: 'file type, as rg --type (js, ts, py, rust, go, md, json, …)' },
    /** Let a match span lines (rg -U --multiline-dotall). */
    multiline: { type: 'boolean', description: 'patterns may span lines; . matches newlines (rg -U --multiline-dotall)' },
    /** Maximum number of output entries (lines in content mode, files otherwise). */
    head_limit: { type: 'integer', minimum: 1, maximum: 100000 },
  },
} as const satisfies JSONSchema;
export type GrepInput = FromSchema<typeof GrepInput>;

export const ListInput = { type: 'object', additionalProperties: false, properties: { path } } as const satisfies JSONSchema;
export type ListInput = FromSchema<typeof ListInput>;

/** Every file tool's input schema, by tool name. */
export const FS_INPUT_SCHEMAS = { read: ReadInput, write: WriteInput, edit: EditInput, glob: GlobInput, grep: GrepInput, list: ListInput } as const;

export type FsTool = keyof typeof FS_INPUT_SCHEMAS;

export interface FsInputs {
  read: ReadInput;
  write: WriteInput;
  edit: EditInput;
  glob: GlobInput;
  grep: GrepInput;
  list: ListInput;
}
