/**
 * Shell analysis for dangerous_command_guard: the project's one shell parser (policies/shell/analyze.ts,
 * tree-sitter-bash), the same analysis the policy decides on, so wrappers (`sudo`, `env`, `eval`,
 * `bash -c`, `xargs`, `find -exec`…), substitutions and redirections are seen the way bash runs them.
 * A command the analyzer reports problems for is still checked on everything it could find (the walk is
 * best-effort past a problem, and the policy never allows a command with problems). When the parser
 * cannot load or throws, there is no analysis and the guard fails closed.
 */
import type { ShellAnalysis } from '../../../policies/shell/types.js';
import { analyzeShell, initShellParser } from '../../../policies/shell/analyze.js';

export interface AnalyzerModule {
  analyzeShell(cmd: string): ShellAnalysis;
}

let loading: Promise<AnalyzerModule | null> | undefined;

/** Initialises the project's analyzer once; null when it cannot load (the guard then fails closed). */
export function loadAnalyzer(): Promise<AnalyzerModule | null> {
  loading ??= initShellParser().then(
    () => ({ analyzeShell }),
    () => null,
  );
  return loading;
}

export interface GuardAnalysis extends ShellAnalysis {
  parser: 'analyzer';
}

/** The analysis of `command`, or null when there is none (no analyzer, or it threw). */
export function analyzeForGuard(analyzer: AnalyzerModule | null, command: string): GuardAnalysis | null {
  if (!analyzer) return null;
  try {
    return { ...analyzer.analyzeShell(command), parser: 'analyzer' };
  } catch {
    return null;
  }
}
