/**
 * Shell analysis for dangerous_command_guard: the project's analyzer (policies/shell/analyze.ts,
 * tree-sitter-bash), plus the naive splitter as a safety net when the analyzer cannot load, throws, or
 * reports problems (then the union of both is checked: more findings, never fewer).
 */
import type { ShellAnalysis } from '../../../policies/shell/types.js';
import { analyzeShell, initShellParser } from '../../../policies/shell/analyze.js';
import { naiveAnalyze } from './naive-shell.js';

export interface AnalyzerModule {
  analyzeShell(cmd: string): ShellAnalysis;
}

let loading: Promise<AnalyzerModule | null> | undefined;

/** Initialises the project's analyzer once; null when it cannot load (the naive splitter is used then). */
export function loadAnalyzer(): Promise<AnalyzerModule | null> {
  loading ??= initShellParser().then(
    () => ({ analyzeShell }),
    () => null,
  );
  return loading;
}

export interface GuardAnalysis extends ShellAnalysis {
  parser: 'analyzer' | 'naive' | 'analyzer+naive';
}

export function analyzeForGuard(analyzer: AnalyzerModule | null, command: string): GuardAnalysis {
  if (analyzer) {
    let a: ShellAnalysis | null = null;
    try {
      a = analyzer.analyzeShell(command);
    } catch {
      a = null;
    }
    if (a && a.problems.length === 0) return { ...a, parser: 'analyzer' };
    const n = naiveAnalyze(command);
    if (!a) return { ...n, parser: 'naive' };
    return {
      commands: [...a.commands, ...n.commands],
      redirects: [...a.redirects, ...n.redirects],
      problems: [...a.problems, ...n.problems],
      parser: 'analyzer+naive',
    };
  }
  return { ...naiveAnalyze(command), parser: 'naive' };
}
