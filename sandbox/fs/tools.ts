/**
 * The file tools' entry point: checks a request (tool name, input against its schema, options) and
 * hands it to the tool's module. The tools are synchronous on purpose: they run inside a dedicated
 * piscina worker thread, where sync system calls are the fastest path and a runaway call (a
 * catastrophic regex) is stopped by terminating the thread. Every path goes through confine.ts; every
 * tree walk (tree.ts) opens each directory relative to its verified parent with O_NOFOLLOW and never
 * follows a symlink.
 */
import { prepareRoot } from './confine.js';
import { checkInput } from './check-input.js';
import { toolEdit } from './edit.js';
import { toolGlob } from './glob.js';
import { toolGrep } from './grep.js';
import { toolList } from './list.js';
import { toolRead } from './read.js';
import { FS_INPUT_SCHEMAS, type FsInputs } from './schemas.js';
import { DEFAULT_FS_OPTIONS, FS_TOOLS, FsError, type FsGuardRule, type FsOptions, type FsResult, type FsTool } from './types.js';
import { toolWrite } from './write.js';

/** Runs one request. Throws FsError (or an errno error) on failure; the worker turns that into a result. */
export function runTool(req: unknown): FsResult {
  if (typeof req !== 'object' || req === null) throw new FsError('INVALID', 'request must be an object');
  const r = req as { tool?: unknown; input?: unknown; root?: unknown; options?: unknown };
  if (typeof r.tool !== 'string' || !(FS_TOOLS as readonly string[]).includes(r.tool)) {
    throw new FsError('INVALID', `unknown file tool ${JSON.stringify(r.tool)}`);
  }
  const tool = r.tool as FsTool;
  if (typeof r.input !== 'object' || r.input === null || Array.isArray(r.input)) throw new FsError('INVALID', 'input must be an object');
  const ctx = prepareRoot(r.root);
  const options = normalizeOptions(r.options);
  const input = r.input as Record<string, unknown>;
  switch (tool) {
    case 'read':
      return toolRead(ctx, checked('read', input), options);
    case 'write':
      return toolWrite(ctx, checked('write', input), options);
    case 'edit':
      return toolEdit(ctx, checked('edit', input), options);
    case 'glob':
      return toolGlob(ctx, checked('glob', input), options);
    case 'grep':
      return toolGrep(ctx, checked('grep', input), options);
    case 'list':
      return toolList(ctx, checked('list', input), options);
  }
}

/** Fills missing or ill-typed options with defaults: the worker never trusts what it was sent. */
function normalizeOptions(o: unknown): FsOptions {
  const src = (typeof o === 'object' && o !== null ? o : {}) as Partial<Record<keyof FsOptions, unknown>>;
  const posInt = (v: unknown, d: number): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : d);
  return {
    allowHardlinks: src.allowHardlinks === true,
    protectedPaths: Array.isArray(src.protectedPaths) ? src.protectedPaths.filter((p): p is string => typeof p === 'string') : [],
    maxReadBytes: posInt(src.maxReadBytes, DEFAULT_FS_OPTIONS.maxReadBytes),
    maxOutputBytes: posInt(src.maxOutputBytes, DEFAULT_FS_OPTIONS.maxOutputBytes),
    maxLineLength: posInt(src.maxLineLength, DEFAULT_FS_OPTIONS.maxLineLength),
    fsync: src.fsync === true,
    guard: Array.isArray(src.guard)
      ? src.guard.filter(
          (r): r is FsGuardRule =>
            typeof r === 'object' && r !== null && (r.decision === 'deny' || r.decision === 'ask') && Array.isArray(r.patterns) && r.patterns.every((p: unknown) => typeof p === 'string'),
        )
      : [],
  };
}


// The engine validated the input against the tool's schema; this is the second, independent look,
// against the same schema (sandbox/fs/schemas.ts), interpreted by check-input.ts.
function checked<T extends FsTool>(tool: T, input: Record<string, unknown>): FsInputs[T] {
  const bad = checkInput(FS_INPUT_SCHEMAS[tool], input);
  if (bad !== null) throw new FsError('INVALID', bad);
  return input as FsInputs[T];
}
