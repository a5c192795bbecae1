/**
 * Wire types of the file tools. An `FsRequest` is posted to a piscina worker (structured clone), the
 * worker answers with an `FsResult`. Nothing here may hold functions or class instances.
 */
import { ALWAYS_PROTECTED } from '../../policies/types.js';

export type { EditInput, FsInputs, FsTool, GlobInput, GrepInput, ListInput, ReadInput, WriteInput } from './schemas.js';
import { FS_INPUT_SCHEMAS, type FsInputs, type FsTool } from './schemas.js';

export const FS_TOOLS: readonly FsTool[] = Object.keys(FS_INPUT_SCHEMAS) as FsTool[];

export interface FsOptions {
  /**
   * Open regular files whose link count is above 1. Default false: a hard link can make a file
   * outside the workspace readable under a name inside it, so such files are refused for every tool.
   */
  allowHardlinks: boolean;
  /**
   * Workspace-relative globs (picomatch, case-insensitive) that are never written. The worker always
   * adds DEFAULT_PROTECTED_PATHS, whatever this list holds.
   */
  protectedPaths: string[];
  /** Largest number of file bytes a read/edit/grep will look at (files beyond: TOO_LARGE / skipped). */
  maxReadBytes: number;
  /** Largest output (UTF-8 bytes) a call returns; longer outputs are cut with a marker. */
  maxOutputBytes: number;
  /** Lines longer than this (characters) are cut with a marker in read and grep output. */
  maxLineLength: number;
  /** fsync written files (and their directory) before reporting success. Default false. */
  fsync?: boolean;
  /**
   * The policy's deny/ask path rules, re-applied by the worker to resolved paths (guard.ts): an access
   * whose real path is under a stricter rule than the path the policy decided on is refused, and
   * tree walks leave such paths out.
   */
  guard?: FsGuardRule[];
}

/** One deny/ask rule's path patterns, and which accesses it covers (plain data: crosses threads). */
export interface FsGuardRule {
  decision: 'deny' | 'ask';
  /** Covers read, glob, grep and list. */
  read: boolean;
  /** Covers write and edit. */
  write: boolean;
  /** The rule's path patterns (workspace-relative globs, or absolute; `~` already expanded). */
  patterns: string[];
  /**
   * The rule guards what files hold, not that they exist (the secret-file class): read and grep are
   * held to it, glob and list still show the names (an agent that cannot see an existing `.env` might
   * write a new one over it).
   */
  contentOnly?: boolean;
}

/** Never written, whatever the options say: the same list the policy protects. */
export const DEFAULT_PROTECTED_PATHS: readonly string[] = ALWAYS_PROTECTED;

export const DEFAULT_FS_OPTIONS: FsOptions = {
  allowHardlinks: false,
  protectedPaths: [...DEFAULT_PROTECTED_PATHS],
  maxReadBytes: 10 * 1024 * 1024,
  maxOutputBytes: 256 * 1024,
  maxLineLength: 2000,
  fsync: false,
};

/** One request to the worker pool. */
export type FsRequest = {
  [T in FsTool]: {
    tool: T;
    /** Already validated against the tool's schema by the engine; the worker checks it again against the same schema. */
    input: FsInputs[T];
    /** Absolute path of the workspace root. */
    root: string;
    options: FsOptions;
  };
}[FsTool];

export type FsErrorCode =
  | 'OUTSIDE_ROOT' // the path (lexically, through a symlink, or as opened) is not inside the root
  | 'PROTECTED' // a protected path would be written
  | 'DENIED' // the resolved path is under a deny/ask rule the path as written was not (an alias)
  | 'NOT_FOUND'
  | 'NOT_A_FILE' // a directory where a file is needed
  | 'NOT_A_DIRECTORY' // a file where a directory is needed
  | 'BINARY'
  | 'TOO_LARGE'
  | 'NOT_UNIQUE'
  | 'NO_MATCH'
  | 'HARDLINK'
  | 'SPECIAL_FILE' // FIFO, socket, character or block device
  | 'SYMLINK_LOOP'
  | 'SYMLINK' // edit/write of a path whose final component is a symlink (the target is named instead)
  | 'PERMISSION'
  | 'IO' // ENOSPC, EROFS, EIO …
  | 'INVALID'
  | 'TIMEOUT'
  | 'WORKER_CRASHED'
  | 'ABORTED' // the caller's AbortSignal fired
  | 'POOL_CLOSED'
  | 'INTERNAL';

export type FsResult =
  | {
      ok: true;
      output: string;
      truncated: boolean;
      /**
       * Payload size: bytes of file content returned (read), written (write/edit), or the UTF-8 size of
       * the output (glob/grep/list).
       */
      bytes: number;
    }
  | { ok: false; error: string; code: FsErrorCode };

/** Thrown inside the worker; turned into `{ok:false}` before it crosses the thread boundary. */
export class FsError extends Error {
  readonly code: FsErrorCode;
  constructor(code: FsErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'FsError';
  }
}
