/**
 * Argument conditions of rules (`args:`): patterns on a tool call's input, by key path. Written for MCP
 * tools (`mcp__github__*` with `args: { owner: myorg, "options.force": false }`), valid for any tool.
 *
 * Everything is compiled when the policy loads (globs to linear NFAs, regexes with re2js, a linear-time
 * engine: no backtracking, no per-call compilation); a pattern that cannot compile is a policy error.
 *
 * Matching follows the rule's mode (see rule.ts): an `allow` rule must match for certain, an `ask`/`deny`
 * rule matches whenever it might. So, for ask/deny rules, a pattern also sees keys and values the way a
 * lenient server might read them (keys case-insensitively and as literal dotted names, values after
 * removing invisible characters, NFKC and lowercasing, numbers and booleans as their text, nested objects'
 * values), and anything icode cannot look at within its work bounds matches. For allow rules the value must
 * be exactly the one matched, every element of an array must match, and a bound hit never matches.
 */
import { RE2JS } from 're2js';
import { compileGlob, type GlobTest } from '../pure/glob-match.js';
import type { PathMatcher, ResolvedPath } from './paths.js';
import { compilePathMatcher, resolvePath } from './paths.js';

/** One pattern as written: a scalar shorthand, a list of alternatives, or an operator mapping. */
export type ArgPatternDoc = string | number | boolean | null | ArgPatternDoc[] | ArgOperatorDoc;

export interface ArgOperatorDoc {
  glob?: string;
  regex?: string;
  equals?: unknown;
  path?: string | string[];
  absent?: boolean;
  /** glob/regex: compare case-insensitively (also for allow rules). */
  nocase?: boolean;
}

export type ArgsDoc = Record<string, ArgPatternDoc>;

/** Strings longer than this are not matched by globs, regexes or paths: unknown (ask/deny match, allow does not). */
export const MAX_ARG_STRING = 64 * 1024;
/** Values visited per condition (array elements, object members) before the answer is "unknown". */
export const MAX_ARG_NODES = 10_000;
/** Nesting depth looked into before the answer is "unknown". */
export const MAX_ARG_DEPTH = 32;
/** Key path segments per condition. */
const MAX_SEGMENTS = 16;

/** A problem with one `args` entry; `key` is the entry's key, `index` the alternative (when a list). */
export class ArgsCompileError extends Error {
  constructor(
    readonly key: string | null,
    message: string,
  ) {
    super(message);
  }
}

type Mode = 'must' | 'could';

interface Where {
  workspace: string;
  home: string;
}

/** One compiled alternative: a test per mode of one leaf value. */
interface Alternative {
  text: string;
  /** Tests a value reached by the key path (never an array: arrays are expanded by the caller). */
  must(v: unknown, where: Where): boolean;
  could(v: unknown, where: Where): boolean;
  /** Equality alternatives also compare whole arrays and objects. */
  whole?: (v: unknown, mode: Mode) => boolean;
}

export interface ArgCondition {
  /** The key as written (`options.force`). */
  key: string;
  segments: string[];
  /** `{absent: true}`: the key must be missing; `{absent: false}`: present with any value. */
  presence: 'absent' | 'present' | null;
  alternatives: Alternative[];
}

class Unknown extends Error {}

// ---------------------------------------------------------------------------------------------------------
// compile

export function compileArgs(doc: ArgsDoc, home: string, decision: 'allow' | 'ask' | 'deny'): ArgCondition[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ArgsCompileError(null, 'expected a mapping of argument key paths to patterns');
  const entries = Object.entries(doc);
  if (entries.length === 0) throw new ArgsCompileError(null, 'expected at least one argument pattern');
  return entries.map(([key, pattern]) => {
    const c = compileCondition(key, pattern, home);
    if (c.segments.includes(ANY_DEPTH)) {
      // `**` is "some argument anywhere": a net for ask/deny; an allow must name what it allows.
      if (decision === 'allow') throw new ArgsCompileError(key, '`**` (any depth) is for ask and deny rules; an allow rule names the arguments it allows');
      if (c.presence !== null) throw new ArgsCompileError(key, '`**` (any depth) cannot be combined with absent');
    }
    return c;
  });
}

function compileCondition(key: string, pattern: ArgPatternDoc, home: string): ArgCondition {
  const segments = splitKey(key);
  const at = (msg: string): ArgsCompileError => new ArgsCompileError(key, msg);
  if (pattern !== null && typeof pattern === 'object' && !Array.isArray(pattern) && 'absent' in pattern) {
    const extra = Object.keys(pattern).filter((k) => k !== 'absent');
    if (extra.length) throw at(`"absent" stands alone (found ${extra.join(', ')} beside it)`);
    if (typeof pattern.absent !== 'boolean') throw at('"absent" must be true or false');
    return { key, segments, presence: pattern.absent ? 'absent' : 'present', alternatives: [] };
  }
  const list = Array.isArray(pattern) ? pattern : [pattern];
  if (list.length === 0) throw at('an empty list of alternatives matches nothing; give at least one pattern');
  const alternatives = list.map((p, i) => {
    try {
      return compileAlternative(p, home);
    } catch (e) {
      throw at(Array.isArray(pattern) ? `alternative ${i + 1}: ${(e as Error).message}` : (e as Error).message);
    }
  });
  return { key, segments, presence: null, alternatives };
}

/** Key segments standing for any one key or element (`*`) and for any depth (`**`); NUL never occurs in a written key. */
const ANY_KEY = '\0*';
const ANY_DEPTH = '\0**';

/** `a.b.c`; `\.` is a literal dot and `\*` a literal star in a key; a whole `*` / `**` segment is a wildcard. */
function splitKey(key: string): string[] {
  if (key.length === 0) throw new ArgsCompileError(key, 'empty argument key');
  if (key.includes('\0')) throw new ArgsCompileError(key, 'an argument key cannot contain a NUL character');
  const out: string[] = [];
  let cur = '';
  let escaped = false;
  const end = (): void => {
    out.push(!escaped && cur === '*' ? ANY_KEY : !escaped && cur === '**' ? ANY_DEPTH : cur);
    cur = '';
    escaped = false;
  };
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\' || key[i + 1] === '*')) {
      cur += key[++i];
      escaped = true;
    } else if (c === '.') end();
    else cur += c;
  }
  end();
  if (out.some((s) => s === '')) throw new ArgsCompileError(key, `key path "${key}" has an empty segment (write \\. for a literal dot)`);
  if (out.length > MAX_SEGMENTS) throw new ArgsCompileError(key, `key path "${key}" has more than ${MAX_SEGMENTS} segments`);
  return out;
}

const OPERATORS = ['glob', 'regex', 'equals', 'path'] as const;

function compileAlternative(p: ArgPatternDoc, home: string): Alternative {
  if (typeof p === 'string') return globAlternative(p, false);
  if (p === null || typeof p === 'number' || typeof p === 'boolean') return equalsAlternative(p);
  if (Array.isArray(p)) throw new Error('a list inside a list of alternatives; write {equals: [...]} to match an array value');
  const keys = Object.keys(p);
  const unknown = keys.filter((k) => !(OPERATORS as readonly string[]).includes(k) && k !== 'nocase');
  if (unknown.length) throw new Error(`unknown operator "${unknown[0]}"; expected one of: ${OPERATORS.join(', ')}, absent (and nocase with glob or regex)`);
  const ops = OPERATORS.filter((k) => k in p);
  if (ops.length !== 1) throw new Error(ops.length ? `give one operator per pattern (found ${ops.join(' and ')}); list alternatives instead` : `give one of: ${OPERATORS.join(', ')}, absent`);
  const nocase = p.nocase;
  if (nocase !== undefined && typeof nocase !== 'boolean') throw new Error('"nocase" must be true or false');
  if (nocase !== undefined && ops[0] !== 'glob' && ops[0] !== 'regex') throw new Error('"nocase" applies to glob and regex only');
  switch (ops[0]) {
    case 'glob':
      if (typeof p.glob !== 'string' || p.glob === '') throw new Error('"glob" must be a non-empty string');
      return globAlternative(p.glob, nocase === true);
    case 'regex':
      if (typeof p.regex !== 'string' || p.regex === '') throw new Error('"regex" must be a non-empty string');
      return regexAlternative(p.regex, nocase === true);
    case 'equals':
      return equalsAlternative(p.equals);
    case 'path':
      return pathAlternative(p.path, home);
  }
}

/**
 * Invisible characters (zero-width, bidi controls, soft hyphen, variation selectors…) removed, NFKC,
 * lowercased: how a lenient server may read a string (`ＭｙＯｒｇ`, `my\u200borg` and `MYORG` → `myorg`).
 */
export function looseText(s: string): string {
  return s.replace(/\p{Default_Ignorable_Code_Point}/gu, '').normalize('NFKC').toLowerCase();
}

/** The text a glob or regex sees for a leaf value; null when it has none (objects never reach here). */
function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  return null;
}

/** An exact string an allow rule may accept: no NUL (a C server would cut the string there), no `.`/`..` path segment. */
function certainString(s: string): boolean {
  if (s.includes('\0')) return false;
  return !/(?:^|\/)\.{1,2}(?:\/|$)/.test(s);
}

function globAlternative(pattern: string, nocase: boolean): Alternative {
  // Allow rules: path mode (`*` stops at `/`, `**` crosses it); ask/deny rules: `*` crosses `/` too.
  // No leading `!` negation: a negated pattern in a deny rule would silently match almost everything else.
  let exact: GlobTest;
  let couldRaw: GlobTest;
  let loose: GlobTest;
  try {
    exact = starGlob(pattern, true, nocase) ?? compileGlob(pattern, { path: true, negation: false, nocase });
    couldRaw = starGlob(pattern, false, nocase) ?? compileGlob(pattern, { path: false, negation: false, nocase });
    // Both sides are lowercased by looseText: a case-sensitive comparison of them is a case-insensitive one.
    loose = starGlob(looseText(pattern), false, false) ?? compileGlob(looseText(pattern), { path: false, negation: false, nocase: true });
  } catch (e) {
    throw new Error(`bad glob ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  return {
    text: `glob ${JSON.stringify(pattern)}`,
    must: (v) => {
      const s = textOf(v);
      if (s === null) return false;
      if (s.length > MAX_ARG_STRING) return false;
      return certainString(s) && exact(s);
    },
    could: (v) => {
      const s = textOf(v);
      if (s === null) return false;
      if (s.length > MAX_ARG_STRING) return true;
      return couldRaw(s) || loose(looseText(s));
    },
  };
}

/**
 * A glob made of literal text and `*` only (`myorg`, `icode-*`, `*secret*`, `*.env`): matched with
 * indexOf, chunk after chunk (leftmost is right when `*` is the only wildcard), in native time. In path
 * mode `*` does not match `/`: only patterns without `/` take this way, and then the subject has none.
 * null for any other glob (the NFA of glob-match.ts decides those).
 */
export function starGlob(pattern: string, path: boolean, nocase: boolean): GlobTest | null {
  // Classes, braces, escapes, extglob characters (refused by the NFA compiler in path mode): not here.
  if (/[?[\]{}\\()|@+!]/.test(pattern)) return null;
  if (path && (pattern.includes('/') || pattern.includes('**'))) return null;
  const fold = (x: string): string => (nocase ? x.toLowerCase() : x);
  const chunks = fold(pattern).split('*');
  const first = chunks[0]!;
  const last = chunks[chunks.length - 1]!;
  if (chunks.length === 1) return (s) => (!path || !s.includes('/')) && fold(s) === first;
  const min = chunks.reduce((n, c) => n + c.length, 0);
  // Whether `*` matches the empty string follows the glob engine (picomatch's meaning).
  const onEmpty = compileGlob(pattern, { path, negation: false, nocase })('');
  return (raw) => {
    if (raw === '') return onEmpty;
    if (path && raw.includes('/')) return false;
    const s = fold(raw);
    if (s.length < min || !s.startsWith(first) || !s.endsWith(last)) return false;
    let at = first.length;
    const end = s.length - last.length;
    for (let i = 1; i < chunks.length - 1; i++) {
      const c = chunks[i]!;
      if (c === '') continue;
      const found = s.indexOf(c, at);
      if (found < 0 || found + c.length > end) return false;
      at = found + c.length;
    }
    return at <= end;
  };
}

function regexAlternative(source: string, nocase: boolean): Alternative {
  let exact: RE2JS;
  let loose: RE2JS;
  try {
    exact = RE2JS.compile(source, nocase ? RE2JS.CASE_INSENSITIVE : 0);
    loose = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (e) {
    throw new Error(`bad regex ${JSON.stringify(source)}: ${(e as Error).message} (re2 syntax: no backreferences or lookaround)`);
  }
  // The whole value must match, as with globs: `feat/.*` does not accept `x feat/y`.
  return {
    text: `regex ${JSON.stringify(source)}`,
    must: (v) => {
      const s = textOf(v);
      if (s === null || s.length > MAX_ARG_STRING) return false;
      return !s.includes('\0') && exact.matches(s);
    },
    could: (v) => {
      const s = textOf(v);
      if (s === null) return false;
      if (s.length > MAX_ARG_STRING) return true;
      if (exact.matches(s)) return true;
      const ls = looseText(s);
      // With nocase the loose run on an unchanged text would repeat the first one.
      return !(nocase && ls === s) && loose.matches(ls);
    },
  };
}

function equalsAlternative(expected: unknown): Alternative {
  if (expected === undefined) throw new Error('"equals" needs a value (null for JSON null)');
  let canon: string;
  try {
    canon = canonicalJson(expected, 0);
  } catch {
    throw new Error(`"equals" value is larger than ${MAX_ARG_NODES} values, ${MAX_ARG_DEPTH} levels or ${MAX_ARG_STRING} characters`);
  }
  const scalar = expected === null || typeof expected !== 'object';
  const looseExpected = scalar ? looseText(String(expected)).trim() : null;
  const whole = (v: unknown, mode: Mode): boolean => {
    let c: string;
    try {
      c = canonicalJson(v, 0);
    } catch {
      if (mode === 'could') throw new Unknown();
      return false;
    }
    return c === canon;
  };
  return {
    text: `equals ${canon.length > 80 ? canon.slice(0, 77) + '...' : canon}`,
    must: (v) => whole(v, 'must'),
    // Ask/deny: `"true"`, `" True"` and `true` are one value to a lenient server.
    could: (v) => {
      if (whole(v, 'could')) return true;
      if (looseExpected === null || (v !== null && typeof v === 'object')) return false;
      return looseText(String(v)).trim() === looseExpected;
    },
    whole,
  };
}

function pathAlternative(p: unknown, home: string): Alternative {
  const list = typeof p === 'string' ? [p] : Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' && x !== '') ? (p as string[]) : null;
  if (!list || list.includes('')) throw new Error('"path" must be a non-empty glob or list of globs');
  let pm: PathMatcher;
  try {
    pm = compilePathMatcher(list, home);
  } catch (e) {
    throw new Error(`bad path glob: ${(e as Error).message}`);
  }
  const resolved = (s: string, w: Where): ResolvedPath => resolvePath(s, w.workspace, w.home);
  return {
    text: `path ${list.map((x) => JSON.stringify(x)).join(', ')}`,
    must: (v, w) => typeof v === 'string' && v !== '' && v.length <= MAX_ARG_STRING && !v.includes('\0') && pm.test(resolved(v, w)),
    could: (v, w) => {
      if (typeof v !== 'string') return false;
      if (v.length > MAX_ARG_STRING || v.includes('\0')) return true;
      // `file:///x` is a path to many servers.
      const s = v.startsWith('file://') ? safeFileUrl(v) : v;
      return s === null || pm.test(resolved(s, w)) || (s !== v && pm.test(resolved(v, w)));
    },
  };
}

function safeFileUrl(v: string): string | null {
  try {
    return decodeURIComponent(new URL(v).pathname);
  } catch {
    return null;
  }
}

/** JSON with sorted keys, bounded: throws Unknown past the depth, string or node bounds. */
function canonicalJson(v: unknown, depth: number, b: Budget = { nodes: 0 }): string {
  spend(b);
  if (depth > MAX_ARG_DEPTH) throw new Unknown();
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'string' && v.length > MAX_ARG_STRING) throw new Unknown();
    return JSON.stringify(v) ?? 'null';
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ARG_NODES) throw new Unknown();
    return '[' + v.map((x) => canonicalJson(x, depth + 1, b)).join(',') + ']';
  }
  const keys = Object.keys(v).sort();
  if (keys.length > MAX_ARG_NODES) throw new Unknown();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson((v as Record<string, unknown>)[k], depth + 1, b)).join(',') + '}';
}

// ---------------------------------------------------------------------------------------------------------
// match

interface Budget {
  nodes: number;
}

function spend(b: Budget): void {
  if (++b.nodes > MAX_ARG_NODES) throw new Unknown();
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The values a key path reaches. Arrays on the way are crossed (every element). `must`: exact own keys,
 * and `missing` tells whether some branch lacked the key. `could`: keys compared loosely, and a key that
 * spells the rest of the path with dots (`{"options.force": true}`) is reached too.
 */
function reach(input: unknown, segs: readonly string[], mode: Mode, b: Budget): { values: unknown[]; missing: boolean } {
  const values: unknown[] = [];
  let missing = false;
  const looseSegs = mode === 'could' ? segs.map(looseText) : segs;
  const walk = (v: unknown, i: number, depth: number): void => {
    spend(b);
    if (depth > MAX_ARG_DEPTH) throw new Unknown();
    if (i === segs.length) {
      values.push(v);
      return;
    }
    if (segs[i] === ANY_DEPTH) {
      // The last segment: every leaf below; otherwise zero or more levels, then the rest of the path.
      if (i === segs.length - 1) return leaves(v, b, depth, values);
      walk(v, i + 1, depth + 1);
      if (Array.isArray(v)) for (const x of v) walk(x, i, depth + 1);
      else if (isRecord(v)) for (const k of Object.keys(v)) walk(v[k], i, depth + 1);
      return;
    }
    if (segs[i] === ANY_KEY) {
      const children = Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : null;
      if (children === null || children.length === 0) missing = true;
      for (const x of children ?? []) walk(x, i + 1, depth + 1);
      return;
    }
    if (Array.isArray(v)) {
      if (/^[0-9]+$/.test(segs[i]!)) {
        const idx = Number(segs[i]);
        if (idx < v.length) walk(v[idx], i + 1, depth + 1);
        else missing = true;
        if (mode === 'must') return;
      }
      if (v.length === 0) missing = true;
      for (const x of v) walk(x, i, depth + 1);
      return;
    }
    if (!isRecord(v)) {
      missing = true;
      return;
    }
    if (mode === 'must') {
      if (Object.hasOwn(v, segs[i]!)) walk(v[segs[i]!], i + 1, depth + 1);
      else missing = true;
      return;
    }
    let found = false;
    for (const k of Object.keys(v)) {
      spend(b);
      const lk = looseText(k);
      // The key is this segment, or several segments joined with dots.
      for (let j = i + 1; j <= segs.length && !segs[j - 1]!.startsWith('\0'); j++) {
        if (lk === looseSegs.slice(i, j).join('.')) {
          found = true;
          walk(v[k], j, depth + 1);
        }
      }
    }
    if (!found) missing = true;
  };
  walk(input, 0, 0);
  return { values, missing };
}

/** Every leaf under a value (arrays and objects opened), for ask/deny rules. */
function leaves(v: unknown, b: Budget, depth: number, out: unknown[]): void {
  spend(b);
  if (depth > MAX_ARG_DEPTH) throw new Unknown();
  if (Array.isArray(v)) for (const x of v) leaves(x, b, depth + 1, out);
  else if (isRecord(v)) for (const k of Object.keys(v)) leaves(v[k], b, depth + 1, out);
  else out.push(v);
}

function valueMust(alt: Alternative, v: unknown, where: Where, b: Budget, depth: number): boolean {
  spend(b);
  if (depth > MAX_ARG_DEPTH) throw new Unknown();
  if (alt.whole && alt.whole(v, 'must')) return true;
  if (Array.isArray(v)) return v.length > 0 && v.every((x) => valueMust(alt, x, where, b, depth + 1));
  if (isRecord(v)) return false;
  return alt.must(v, where);
}

function valueCould(alt: Alternative, v: unknown, where: Where, b: Budget): boolean {
  if (alt.whole && alt.whole(v, 'could')) return true;
  if (v === null || typeof v !== 'object') return alt.could(v, where);
  const all: unknown[] = [];
  leaves(v, b, 0, all);
  return all.some((x) => alt.could(x, where));
}

/** Does one condition hold? Unknown (a bound hit) is a match for ask/deny and not for allow. */
function conditionHolds(c: ArgCondition, input: Record<string, unknown>, mode: Mode, where: Where): boolean {
  const b: Budget = { nodes: 0 };
  try {
    if (c.presence === 'present') {
      // Allow: present as written on every branch; ask/deny: present however a server spells the key.
      if (mode === 'must') {
        const r = reach(input, c.segments, 'must', b);
        return r.values.length > 0 && !r.missing;
      }
      return reach(input, c.segments, 'could', b).values.length > 0;
    }
    if (c.presence === 'absent') {
      // Allow: missing however a server spells the key; ask/deny: missing as written somewhere.
      if (mode === 'must') return reach(input, c.segments, 'could', b).values.length === 0;
      const r = reach(input, c.segments, 'must', b);
      return r.values.length === 0 || r.missing;
    }
    const r = reach(input, c.segments, mode, b);
    if (mode === 'must') {
      if (r.missing || r.values.length === 0) return false;
      return r.values.every((v) => c.alternatives.some((a) => valueMust(a, v, where, b, 0)));
    }
    return r.values.some((v) => c.alternatives.some((a) => valueCould(a, v, where, b)));
  } catch (e) {
    if (e instanceof Unknown) return mode === 'could';
    throw e;
  }
}

/** All conditions hold (they are ANDed). A subject without an input object never satisfies an allow. */
export function argsMatch(conds: readonly ArgCondition[], input: Record<string, unknown> | undefined, mode: Mode, where: Where): boolean {
  if (input === undefined || !isRecord(input)) return mode === 'could';
  return conds.every((c) => conditionHolds(c, input, mode, where));
}

/** For `icode policy explain`: each condition with the value it saw, e.g. `owner = "myorg" (glob "my*")`. */
export function describeArgs(conds: readonly ArgCondition[], input: Record<string, unknown> | undefined, mode: Mode, where: Where): string[] {
  return conds.map((c) => {
    const what = c.presence ?? c.alternatives.map((a) => a.text).join(' | ');
    let seen = '(missing)';
    try {
      const r = reach(input ?? {}, c.segments, mode, { nodes: 0 });
      if (r.values.length === 1) seen = preview(r.values[0]);
      else if (r.values.length > 1) seen = `${r.values.length} values`;
    } catch {
      seen = '(too large to look at: matched as unknown)';
    }
    return `${c.key} = ${seen} matched ${what}`;
  });
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
