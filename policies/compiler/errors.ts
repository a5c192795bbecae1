/**
 * Policy errors that point at `file:line:col`, and the YAML position lookup behind them.
 */
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted key of the offending value, e.g. `rules[3].decision`. */
  key: string;
  message: string;
}

/** A policy that must not load. Its message lists every problem as `file:line:col: key: message`. */
export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  readonly exitCode = 2;
  constructor(problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.key ? p.key + ': ' : ''}${p.message}`;
}

export type PathSegment = string | number;

/** `['rules', 3, 'decision']` → `rules[3].decision`. */
function dottedKey(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** Locates values of a parsed YAML document by key path. */
export class PositionFinder {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Position of the value at `path`, or of its nearest existing ancestor. `keyOf` points at a map key instead. */
  problem(path: readonly PathSegment[], message: string, keyOf?: string): PolicyProblem {
    const offset = this.offsetOf(path, keyOf);
    const { line, col } = this.lines.linePos(offset);
    const key = dottedKey(keyOf === undefined ? path : [...path, keyOf]);
    return { file: this.file, line, col, key, message };
  }

  private offsetOf(path: readonly PathSegment[], keyOf?: string): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (!node || !('range' in node) || !node.range) continue;
      if (n === path.length && keyOf !== undefined && isMap(node)) {
        const pair = node.items.find((p: Pair) => isPair(p) && isScalar(p.key) && p.key.value === keyOf);
        const keyNode = pair?.key as Node | undefined;
        if (keyNode?.range) return keyNode.range[0];
      }
      return node.range[0];
    }
    return 0;
  }
}
