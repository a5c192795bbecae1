/**
 * Glob matching in time LINEAR in the subject. Policy patterns meet model-chosen strings (paths,
 * command arguments, tool names, hosts); a backtracking regex (`*.*.*.*.x` against a long path of dots)
 * can spend minutes on one decision while the process ignores signals. Here a glob is compiled to a
 * small NFA and simulated over a set of states (Thompson): O(subject length × pattern size), never
 * exponential, no regex engine involved.
 *
 * Syntax: `*` (any run, not `/` in path mode), `?` (one character, not `/` in path mode), `[…]`
 * classes (`!`/`^` negation, ranges, `[:alpha:]`-style POSIX classes, backslash escapes), `**` as a
 * whole path segment (zero or more segments; `a/**` also matches `a`; a leading `**x` matches across
 * `/` like picomatch), braces `{a,b}` and ranges `{1..3}` expanded at compile time (bounded), a leading
 * `!` negates (picomatch's meaning), backslash escapes the next character. Extglobs (`@(a|b)`…) are
 * refused at compile time rather than read literally: a deny rule must not silently stop matching.
 */

export interface GlobOptions {
  /** Path mode: `*`, `?` and classes never match `/`; `**` segments are globstars. Default true. */
  path?: boolean;
  /** Expand `{a,b}` and `{1..3}`. Default true. */
  braces?: boolean;
  /** Read a leading `!` as negation (picomatch). Default true in path mode. */
  negation?: boolean;
  /** Compare case-insensitively (ASCII and simple Unicode lowercasing). Default false. */
  nocase?: boolean;
}

/** Most alternatives one pattern may expand to through braces. */
export const MAX_BRACE_EXPANSIONS = 1024;
/** Longest pattern accepted (characters). */
export const MAX_PATTERN_LENGTH = 4096;

export class GlobSyntaxError extends Error {}

const SLASH = 47;

type Pred = (c: number) => boolean;
interface State {
  /** Character transitions: [predicate, target]. */
  on: [Pred, number][];
  /** Epsilon transitions. */
  eps: number[];
}

interface Nfa {
  states: State[];
  accept: number;
}

const anyChar: Pred = () => true;
const notSlash: Pred = (c) => c !== SLASH;
const isSlash: Pred = (c) => c === SLASH;

const POSIX: Record<string, Pred> = {
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => POSIX.alpha(c) || POSIX.digit(c),
  upper: (c) => c >= 65 && c <= 90,
  lower: (c) => c >= 97 && c <= 122,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  xdigit: (c) => POSIX.digit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
  word: (c) => POSIX.alnum(c) || c === 95,
  cntrl: (c) => c < 32 || c === 127,
  print: (c) => c >= 32 && c !== 127,
  graph: (c) => c > 32 && c !== 127,
  ascii: (c) => c < 128,
};

function lowerCode(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  if (c < 128) return c;
  return String.fromCharCode(c).toLowerCase().charCodeAt(0);
}

/** Parses a class starting at `[` (index open). Returns [predicate, index of `]`] or null when unclosed. */
function parseClass(g: string, open: number, path: boolean, nocase: boolean): [Pred, number] | null {
  let j = open + 1;
  let neg = false;
  if (g[j] === '!' || g[j] === '^') {
    neg = true;
    j++;
  }
  const preds: Pred[] = [];
  const ranges: [number, number][] = [];
  let first = true;
  for (; j < g.length; j++) {
    let c = g[j];
    if (c === ']' && !first) break;
    first = false;
    if (c === '[' && g[j + 1] === ':') {
      const end = g.indexOf(':]', j + 2);
      const name = end > 0 ? g.slice(j + 2, end) : '';
      if (POSIX[name]) {
        preds.push(POSIX[name]);
        j = end + 1;
        continue;
      }
    }
    if (c === '\\' && j + 1 < g.length) c = g[++j];
    let lo = c.charCodeAt(0);
    let hi = lo;
    if (g[j + 1] === '-' && j + 2 < g.length && g[j + 2] !== ']') {
      let h = g[j + 2];
      j += 2;
      if (h === '\\' && j + 1 < g.length) h = g[++j];
      hi = h.charCodeAt(0);
      if (hi < lo) [lo, hi] = [hi, lo];
    }
    ranges.push([lo, hi]);
  }
  if (j >= g.length) return null;
  const inSet = (c: number): boolean => {
    for (const [lo, hi] of ranges) if (c >= lo && c <= hi) return true;
    for (const p of preds) if (p(c)) return true;
    return false;
  };
  const member = nocase ? (c: number): boolean => inSet(c) || inSet(lowerCode(c)) || inSet(String.fromCharCode(c).toUpperCase().charCodeAt(0)) : inSet;
  const pred: Pred = (c) => (path && c === SLASH ? false : member(c) !== neg);
  return [pred, j];
}

/** Compiles one brace-free glob to an NFA. */
function buildNfa(g: string, path: boolean, nocase: boolean): Nfa {
  const states: State[] = [{ on: [], eps: [] }];
  let cur = 0;
  const add = (): number => {
    states.push({ on: [], eps: [] });
    return states.length - 1;
  };
  const step = (pred: Pred): void => {
    const next = add();
    states[cur].on.push([pred, next]);
    cur = next;
  };
  const lit = (ch: string): void => {
    const code = ch.charCodeAt(0);
    if (nocase) {
      const lc = lowerCode(code);
      step((c) => c === code || lowerCode(c) === lc);
    } else step((c) => c === code);
  };
  const starOver = (pred: Pred): void => {
    states[cur].on.push([pred, cur]);
    const next = add();
    states[cur].eps.push(next);
    cur = next;
  };
  const atSegmentStart = (i: number): boolean => i === 0 || g[i - 1] === '/';
  // State before the `/` just consumed (for `a/**` matching `a`), or -1; after `**/`, -2.
  let beforeSlash = -1;
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    const slashBefore = beforeSlash;
    beforeSlash = -1;
    if (c === '\\' && i + 1 < g.length) {
      lit(g[++i]);
    } else if (c === '/') {
      beforeSlash = cur;
      lit(c);
    } else if (c === '*') {
      let n = 1;
      while (g[i + n] === '*') n++;
      if (path && n >= 2 && atSegmentStart(i) && (i + n === g.length || g[i + n] === '/')) {
        if (i + n === g.length) {
          if (slashBefore < 0) {
            // `**` alone, or after `**/`: anything.
            starOver(anyChar);
          } else {
            // `a/**`: `a`, `a/`, or anything beneath. The `/` before was already consumed: allow
            // matching without it by an epsilon from the state before that `/`.
            states[cur].on.push([anyChar, cur]);
            const end = add();
            states[cur].eps.push(end);
            states[slashBefore].eps.push(end);
            cur = end;
          }
        } else {
          // `**/`: zero or more whole segments, each ending in `/`.
          const entry = cur;
          const inner = add();
          const next = add();
          states[entry].eps.push(next);
          states[entry].on.push([notSlash, inner], [isSlash, entry]);
          states[inner].on.push([notSlash, inner], [isSlash, entry]);
          cur = next;
          i++; // the `/` is part of the globstar
        }
        i += n - 1;
      } else if (path && n >= 2 && i === 0) {
        // picomatch: a leading `**x` matches across `/` (`**.js` matches `a/b.js`).
        starOver(anyChar);
        i += n - 1;
      } else {
        // A `*` that is a whole path segment matches at least one character (`*/*` is not `a/`).
        if (path && atSegmentStart(i) && (i + n === g.length || g[i + n] === '/')) step(notSlash);
        starOver(path ? notSlash : anyChar);
        i += n - 1;
      }
    } else if (c === '?') {
      step(path ? notSlash : anyChar);
    } else if (c === '[') {
      const cls = parseClass(g, i, path, nocase);
      if (!cls) lit('[');
      else {
        step(cls[0]);
        i = cls[1];
      }
    } else {
      lit(c);
    }
  }
  return { states, accept: cur };
}

/** Simulates the NFA over s: O(|s| × |states|). */
function runNfa(nfa: Nfa, s: string): boolean {
  const { states, accept } = nfa;
  const n = states.length;
  const seen = new Uint32Array(n);
  let gen = 1;
  let cur: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];
  const addClosure = (into: number[], start: number): void => {
    if (seen[start] === gen) return;
    seen[start] = gen;
    stack.push(start);
    while (stack.length) {
      const q = stack.pop() as number;
      into.push(q);
      for (const e of states[q].eps) {
        if (seen[e] !== gen) {
          seen[e] = gen;
          stack.push(e);
        }
      }
    }
  };
  addClosure(cur, 0);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    gen++;
    next.length = 0;
    for (const q of cur) for (const [pred, to] of states[q].on) if (pred(c)) addClosure(next, to);
    if (!next.length) return false;
    [cur, next] = [next, cur];
  }
  return cur.includes(accept);
}

const EXTGLOB = /(^|[^\\])[@!+*?]\(/;

/** Expands braces (`{a,b}`, `{1..3}`, `{a..e}`), nested, bounded by MAX_BRACE_EXPANSIONS. */
export function expandBraces(g: string, limit = MAX_BRACE_EXPANSIONS): string[] {
  const out: string[] = [];
  const work = [g];
  while (work.length) {
    const p = work.pop() as string;
    const b = findBrace(p);
    if (!b) {
      out.push(p);
      if (out.length > limit) throw new GlobSyntaxError(`pattern ${JSON.stringify(g)} expands to more than ${limit} alternatives`);
      continue;
    }
    const [open, close, alts] = b;
    for (const alt of alts.reverse()) work.push(p.slice(0, open) + alt + p.slice(close + 1));
    if (work.length > limit * 4) throw new GlobSyntaxError(`pattern ${JSON.stringify(g)} expands to more than ${limit} alternatives`);
  }
  return out;
}

/** First top-level expandable brace: [open, close, alternatives], or null. */
function findBrace(p: string): [number, number, string[]] | null {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') {
      i++;
      continue;
    }
    if (p[i] !== '{') continue;
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i; j < p.length; j++) {
      if (p[j] === '\\') {
        j++;
        continue;
      }
      if (p[j] === '{') depth++;
      else if (p[j] === '}') {
        depth--;
        if (depth === 0) {
          close = j;
          break;
        }
      } else if (p[j] === ',' && depth === 1) commas.push(j);
    }
    if (close < 0) return null;
    const body = p.slice(i + 1, close);
    if (commas.length) {
      const alts: string[] = [];
      let from = i + 1;
      for (const c of commas) {
        alts.push(p.slice(from, c));
        from = c + 1;
      }
      alts.push(p.slice(from, close));
      return [i, close, alts];
    }
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body) ?? /^([A-Za-z])\.\.([A-Za-z])$/.exec(body);
    if (range) {
      const num = /\d/.test(range[1]);
      const a = num ? Number(range[1]) : range[1].charCodeAt(0);
      const z = num ? Number(range[2]) : range[2].charCodeAt(0);
      if (Math.abs(z - a) >= MAX_BRACE_EXPANSIONS) {
        throw new GlobSyntaxError(`brace range {${body}} has more than ${MAX_BRACE_EXPANSIONS} values`);
      }
      const alts: string[] = [];
      const stepBy = z >= a ? 1 : -1;
      for (let v = a; ; v += stepBy) {
        alts.push(num ? String(v) : String.fromCharCode(v));
        if (v === z) break;
      }
      return [i, close, alts];
    }
    // `{x}` without comma or range is literal; look for a later brace.
    i = close;
  }
  return null;
}

export type GlobTest = (s: string) => boolean;

/**
 * Compiles one glob. Throws GlobSyntaxError with a human message for a pattern that cannot be
 * compiled (extglob, too long, too many brace alternatives).
 */
export function compileGlob(pattern: string, opts: GlobOptions = {}): GlobTest {
  const path = opts.path ?? true;
  const braces = opts.braces ?? true;
  const negation = opts.negation ?? path;
  const nocase = opts.nocase ?? false;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new GlobSyntaxError(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let g = pattern;
  let negate = false;
  if (negation) {
    while (g[0] === '!' && g[1] !== '(') {
      negate = !negate;
      g = g.slice(1);
    }
  }
  if (path && EXTGLOB.test(g)) {
    throw new GlobSyntaxError(
      `pattern ${JSON.stringify(pattern)} uses an extglob (@(…), !(…), +(…), *(…), ?(…)), which is not supported: use braces {a,b}`,
    );
  }
  const alts = braces ? expandBraces(g) : [g];
  const nfas = alts.map((a) => buildNfa(a, path, nocase));
  // Path mode, like picomatch: one trailing `/` on the subject is optional.
  const any = (s: string): boolean =>
    nfas.some((n) => runNfa(n, s)) || (path && s.length > 1 && s.endsWith('/') && nfas.some((n) => runNfa(n, s.slice(0, -1))));
  return negate ? (s) => !any(s) : any;
}

/** Compiles several globs: true when any matches. */
export function compileGlobs(patterns: readonly string[], opts: GlobOptions = {}): GlobTest {
  const tests = patterns.map((p) => compileGlob(p, opts));
  return (s) => tests.some((t) => t(s));
}
