/**
 * The built-in tools: names, descriptions and JSON Schemas of their inputs. Names and inputs are fixed so
 * that agents and transcripts can target them; Claude Code's names are accepted as aliases
 * (policies/tools.ts). The schemas are what the model is shown and what ajv validates every call against.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type ToolKind = 'fs' | 'shell' | 'mcp' | 'agent';

export interface ToolSpec {
  name: string;
  kind: ToolKind;
  description: string;
  inputSchema: Record<string, unknown>;
}

const path = { type: 'string', minLength: 1, maxLength: 4096, description: 'Path, relative to the workspace root or absolute inside it' };

export const BUILTIN_TOOL_SPECS: readonly ToolSpec[] = [
  {
    name: 'read',
    kind: 'fs',
    description: 'Read a text file; lines are numbered like cat -n. Long lines and long files are cut with a marker that says how to read on.',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path,
        offset: { type: 'integer', minimum: 1, description: '1-based first line' },
        limit: { type: 'integer', minimum: 1, maximum: 100000, description: 'number of lines (default 2000)' },
        binary: { type: 'boolean', description: 'return a binary file as base64 instead of refusing it' },
      },
    },
  },
  {
    name: 'write',
    kind: 'fs',
    description: 'Write a file atomically (creates parent directories inside the workspace).',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'content'],
      properties: { path, content: { type: 'string', maxLength: 10 * 1024 * 1024 } },
    },
  },
  {
    name: 'edit',
    kind: 'fs',
    description: 'Replace old_string with new_string in a file; old_string must be unique unless replace_all is true.',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'old_string', 'new_string'],
      properties: {
        path,
        old_string: { type: 'string', maxLength: 10 * 1024 * 1024 },
        new_string: { type: 'string', maxLength: 10 * 1024 * 1024 },
        replace_all: { type: 'boolean' },
      },
    },
  },
  {
    name: 'glob',
    kind: 'fs',
    description: 'Find files by glob pattern; paths relative to the workspace root, sorted; files .gitignore excludes are skipped unless include_ignored is true.',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['pattern'],
      properties: { pattern: { type: 'string', minLength: 1, maxLength: 4096 }, path, include_ignored: { type: 'boolean' } },
    },
  },
  {
    name: 'grep',
    kind: 'fs',
    description: 'Search file contents with a regular expression (ripgrep-like; respects .gitignore).',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['pattern'],
      properties: {
        pattern: { type: 'string', minLength: 1, maxLength: 4096 },
        path,
        glob: { type: 'string', minLength: 1, maxLength: 4096 },
        output_mode: { enum: ['files_with_matches', 'content', 'count'] },
        case_insensitive: { type: 'boolean' },
        context: { type: 'integer', minimum: 0, maximum: 100 },
        head_limit: { type: 'integer', minimum: 1, maximum: 100000 },
      },
    },
  },
  {
    name: 'list',
    kind: 'fs',
    description: 'List a directory (directories end with /, symlinks are shown, not followed).',
    inputSchema: { type: 'object', additionalProperties: false, properties: { path } },
  },
  {
    name: 'shell',
    kind: 'shell',
    description: 'Run a shell command (bash) in the session jail, starting in the workspace root.',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['command'],
      properties: {
        command: { type: 'string', minLength: 1, maxLength: 65536 },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 3600000 },
        description: { type: 'string', maxLength: 1000 },
      },
    },
  },
  {
    name: 'todo_write',
    kind: 'agent',
    description: 'Replace your todo list for this session (keep it current: hooks remind you of open items before you stop).',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['todos'],
      properties: {
        todos: {
          type: 'array',
          maxItems: 200,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['content', 'status'],
            properties: {
              content: { type: 'string', minLength: 1, maxLength: 2000 },
              status: { enum: ['pending', 'in_progress', 'completed'] },
              id: { type: 'string', maxLength: 200 },
            },
          },
        },
      },
    },
  },
];

/** Validates tool inputs; validators are compiled once per tool. */
export class ToolCatalog {
  private readonly specs = new Map<string, ToolSpec>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor(specs: readonly ToolSpec[] = BUILTIN_TOOL_SPECS) {
    for (const s of specs) this.add(s);
  }

  add(spec: ToolSpec): void {
    this.specs.set(spec.name, spec);
    this.validators.set(spec.name, this.ajv.compile(spec.inputSchema));
  }

  get(name: string): ToolSpec | undefined {
    return this.specs.get(name);
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  list(): ToolSpec[] {
    return [...this.specs.values()];
  }

  /** null when valid, else a readable message naming each bad field. */
  validate(name: string, input: unknown): string | null {
    const v = this.validators.get(name);
    if (!v) return `unknown tool "${name}"`;
    if (v(input)) return null;
    return (v.errors ?? []).map(describeError).join('; ');
  }
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'input';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${where}: missing "${String(e.params.missingProperty)}"`;
  return `${where}: ${e.message ?? e.keyword}`;
}
