/** The parity harness's vocabulary: a case, what each side produced, a report. */
import type { ToolCallResult } from '../../engine/pipeline-types.js';
import type { Corpus } from './fixtures.js';

export const PARITY_TOOLS = ['read', 'grep', 'glob', 'list', 'edit', 'write', 'shell'] as const;
export type ParityTool = (typeof PARITY_TOOLS)[number];

/** What a case may use: the corpus, a scratch directory outside the workspace for the reference side. */
export interface CaseEnv {
  corpus: Corpus;
  /** A directory outside the workspace (reference copies). */
  refDir: string;
}

export interface ParityCase {
  tool: ParityTool;
  /** Unique, readable: `read whole docs/guide.md`. */
  name: string;
  /** Sent to icode's pipeline as is. */
  input: Record<string, unknown>;
  /** Optional preparation (both sides), before either runs. */
  setup?(env: CaseEnv): void;
  /** The reference's output, normalised (see docs/parity.md). */
  reference(env: CaseEnv): string;
  /** icode's output, normalised by the same documented rule (default: the text, or `<refused>`). */
  actual?(r: ToolCallResult, env: CaseEnv): string;
}

export interface CaseFailure {
  tool: ParityTool;
  name: string;
  input: Record<string, unknown>;
  expected: string;
  actual: string;
  diff: string;
}

export interface ToolTally {
  tool: ParityTool;
  cases: number;
  passed: number;
  failed: number;
  /** Milliseconds spent in icode's pipeline and in the reference, summed over the tool's cases. */
  icodeMs: number;
  referenceMs: number;
}

export interface ParityReport {
  seed: number;
  cases: number;
  passed: number;
  failed: number;
  tools: ToolTally[];
  failures: CaseFailure[];
}

/** A missing reference binary: the harness refuses to run rather than skip (exit 2 in the CLI). */
export class MissingReferenceError extends Error {}

/** The marker both sides use for "the tool refused the call". */
export const REFUSED = '<refused>';
