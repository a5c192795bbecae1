/**
 * Quoting and words: the analysis's model of a word being evaluated (value plus a quote mask),
 * quote removal (unquoted, double-quoted, `$'…'`), and the glob/brace/tilde rules that decide
 * whether an evaluated word is a literal bash will pass as is. Pure functions, no parser.
 */
import type { Word } from './types.js';

// ---------------------------------------------------------------------------------------------
// Internal model

/** Where a word appears: decides globbing, brace expansion, splitting and tilde rules. */
export type Ctx = 'arg' | 'assign' | 'redirect' | 'cond' | 'here';
/** Which shell will interpret a re-parsed string. */
export type Dialect = 'bash' | 'sh' | 'foreign';

/** A word being evaluated: value plus a parallel quote mask ('1' = quoted char). */
export interface WV {
  dyn: boolean;
  multi: boolean;
  v: string;
  m: string;
}

/** An evaluated word with where it came from. */
export interface Arg {
  word: Word;
  text: string;
  /** Source text when the word is one plain unquoted `word` node (used for reserved words). */
  bare: string | null;
  src: string;
  start: number;
  end: number;
}

export interface Assign {
  name: string;
  value: Word;
}

/** A simple command about to be emitted (and possibly unwrapped). */
export interface Pending {
  argv: Arg[];
  assigns: Assign[];
  wrappers: string[];
  dynamicTail: boolean;
  text: string;
  depth: number;
}

export interface Scope {
  src: string;
  wrappers: string[];
  depth: number;
  /** Environment assignments inherited from the wrapper that runs this code (`env A=1 bash -c`). */
  env: Assign[];
}

export const EMPTY: WV = { dyn: false, multi: false, v: '', m: '' };

export function lit(v: string, quoted: boolean): WV {
  return { dyn: false, multi: false, v, m: (quoted ? '1' : '0').repeat(v.length) };
}
export function dynWV(multi: boolean): WV {
  return { dyn: true, multi, v: '', m: '' };
}
export function cat(a: WV, b: WV): WV {
  return { dyn: a.dyn || b.dyn, multi: a.multi || b.multi, v: a.v + b.v, m: a.m + b.m };
}
export function literalWord(value: string): Word {
  return { kind: 'literal', value };
}
export function dynamicWord(text: string, multi = false): Word {
  return multi ? { kind: 'dynamic', text, multi: true } : { kind: 'dynamic', text };
}
export function synthArg(value: string): Arg {
  return { word: literalWord(value), text: value, bare: null, src: '', start: 0, end: 0 };
}
export function short(text: string, max = 80): string {
  const one = text.replace(/\n/g, '\\n');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
export function basename(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? name : name.slice(i + 1);
}
/** `NAME=`, `NAME[…]=` or `NAME+=`: a word bash may read as an assignment. */
export const ASSIGN_LIKE = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/;

// ---------------------------------------------------------------------------------------------
// Quote removal

/** Unquoted word text: backslash quotes the next char, backslash-newline disappears. */
export function decodeUnquoted(t: string): WV {
  if (t.indexOf('\\') < 0) return lit(t, false);
  let v = '';
  let m = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '\\') {
      if (i + 1 < t.length) {
        const n = t[++i];
        if (n === '\n') continue;
        v += n;
        m += '1';
      } else {
        v += '\\';
        m += '1';
      }
    } else {
      v += c;
      m += '0';
    }
  }
  return { dyn: false, multi: false, v, m };
}

/** Double-quoted text: `\` only escapes `$ \` " \` and newline. */
export function decodeDq(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      const n = s[i + 1];
      if (n === '$' || n === '`' || n === '"' || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === '\n') {
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

export function readDigits(s: string, i: number, re: RegExp, max: number): string {
  let d = '';
  while (d.length < max && i + d.length < s.length && re.test(s[i + d.length])) d += s[i + d.length];
  return d;
}

/**
 * Decodes the body of `$'…'`. Returns null when the result is not a plain string bash would
 * produce the same way everywhere (NUL truncation, raw bytes ≥ 0x80, locale-dependent \u).
 */
export function decodeAnsiC(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= s.length) {
      out += '\\';
      break;
    }
    const n = s[++i];
    switch (n) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'e': case 'E': out += '\x1b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': case '\'': case '"': case '?': out += n; break;
      case 'c': {
        if (i + 1 >= s.length) return null;
        const code = s.charCodeAt(++i) & 0x1f;
        if (code === 0) return null;
        out += String.fromCharCode(code);
        break;
      }
      case 'x': case 'u': case 'U': {
        const max = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const d = readDigits(s, i + 1, /[0-9a-fA-F]/, max);
        if (!d) {
          out += `\\${n}`;
          break;
        }
        i += d.length;
        const code = parseInt(d, 16);
        if (code === 0 || code > 0x7f) return null;
        out += String.fromCharCode(code);
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const d = n + readDigits(s, i + 1, /[0-7]/, 2);
          i += d.length - 1;
          const code = parseInt(d, 8);
          if (code === 0 || code > 0x7f) return null;
          out += String.fromCharCode(code);
        } else {
          out += `\\${n}`;
        }
    }
  }
  return out;
}

export function hasGlob(v: string, m: string): boolean {
  let lastClose = -1;
  for (let i = v.length - 1; i >= 0; i--) {
    if (v[i] === ']' && m[i] === '0') {
      lastClose = i;
      break;
    }
  }
  for (let i = 0; i < v.length; i++) {
    if (m[i] !== '0') continue;
    const c = v[i];
    if (c === '*' || c === '?') return true;
    if (c === '[' && lastClose > i) return true;
  }
  return false;
}

/** True when bash would brace-expand: unquoted `{…,…}` or `{x..y}` (one linear pass). */
export function hasBrace(v: string, m: string): boolean {
  const open: boolean[] = []; // per open brace: saw a top-level comma or `..`
  for (let i = 0; i < v.length; i++) {
    if (m[i] !== '0') continue;
    const c = v[i];
    if (c === '{') open.push(false);
    else if (!open.length) continue;
    else if (c === ',' || (c === '.' && v[i + 1] === '.' && m[i + 1] === '0')) open[open.length - 1] = true;
    else if (c === '}' && open.pop()) return true;
  }
  return false;
}

/** Turns an evaluated word into the public Word, applying glob/brace/tilde rules for `ctx`. */
export function finalize(w: WV, ctx: Ctx, text: string): Word {
  if (w.dyn) return dynamicWord(text, w.multi);
  const { v, m } = w;
  if ((ctx === 'arg' || ctx === 'redirect') && (hasGlob(v, m) || hasBrace(v, m))) {
    return dynamicWord(text, ctx === 'arg');
  }
  if (ctx === 'here') return literalWord(v);
  if (v[0] === '~' && m[0] === '0') {
    let j = 1;
    while (j < v.length && !(v[j] === '/' && m[j] === '0')) j++;
    if (j > 1) {
      // `~user`, `~+`, `~-`, `~1`… expand at run time unless part of the prefix is quoted.
      let allUnquoted = true;
      for (let k = 1; k < j; k++) if (m[k] !== '0') allUnquoted = false;
      if (allUnquoted) return dynamicWord(text);
    }
  }
  if (ctx === 'assign' || (ctx === 'arg' && ASSIGN_LIKE.test(v) && m[v.indexOf('=')] === '0')) {
    for (let i = 1; i < v.length; i++) {
      if (v[i] === '~' && m[i] === '0' && (v[i - 1] === '=' || v[i - 1] === ':')) return dynamicWord(text);
    }
  }
  return literalWord(v);
}

/** Finds `$…` or a backtick that tree-sitter left inside heredoc text (it misses some). */
export function hasUnparsedExpansion(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '`') return true;
    if (c === '$' && i + 1 < text.length && /[A-Za-z0-9_{([@*#?$!-]/.test(text[i + 1])) return true;
  }
  return false;
}

/**
 * The one quote-aware splitter for short command-like strings (`env -S` strings, policy command
 * patterns): blanks separate words; single quotes keep everything; double quotes keep everything but
 * a backslash before `" \\ $ \``; outside quotes a backslash quotes the next character. Every quoted or
 * escaped character goes through `quoted` (identity by default; command patterns use it to make
 * glob characters literal). No expansions: callers refuse strings that need them. Reports the
 * first quote left open instead of guessing.
 */
export function splitQuotedWords(line: string, quoted: (c: string) => string = (c) => c): { words: string[] } | { unclosed: '\'' | '"' } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '\'') {
      const end = line.indexOf('\'', i + 1);
      if (end < 0) return { unclosed: '\'' };
      for (const ch of line.slice(i + 1, end)) cur += quoted(ch);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && /["\\$`]/.test(line[j + 1])) j++;
        cur += quoted(line[j]);
      }
      if (j >= line.length) return { unclosed: '"' };
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += quoted(line[++i]);
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return { words };
}

/** Splits an `env -S` string. Only plain words and simple quotes are supported; else null. */
export function splitEnvString(s: string): string[] | null {
  if (/[\\$#]/.test(s)) return null;
  const r = splitQuotedWords(s);
  return 'words' in r ? r.words : null;
}
