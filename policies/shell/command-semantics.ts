/**
 * Shell command analysis: parses a command line the way bash will run it and reports every simple
 * command it could execute, every file redirection, and everything it could not fully understand.
 *
 * - Parsing is done by tree-sitter-bash (web-tree-sitter, wasm). `initShellParser()` loads it once;
 *   `analyzeShell()` is then synchronous and reuses a single Parser; every tree is deleted after use.
 * - The walk handles every node type explicitly. Anything else and any ERROR/MISSING node is a
 *   problem: a script with problems must never be allowed.
 * - tree-sitter-bash reads some scripts differently from bash. Each known divergence is detected
 *   and reported (or repaired): words split by a line continuation or an escaped blank, `$"…"`,
 *   `[ a > b ]` / `[ x && rm y ]` (re-parsed as the command `[`), `"$ $(id)"` and heredoc lines
 *   starting with `$` (expansions re-scanned with bash's rules, missed ones parsed on their own),
 *   heredoc delimiters with blanks, backslashes in backticks, `coproc`, `time { …; }`, `{ls;}`,
 *   `<>`, carriage returns and other control characters.
 * - Code-running wrappers (`bash -c`, `eval`, `env`, `sudo`, `xargs`, `find -exec`, `timeout`…) are
 *   unwrapped and their inner commands analysed recursively (depth-limited, option tables per
 *   wrapper, unknown options are problems).
 * - Arithmetic on run-time values (`$((x))`, `[[ $x -eq 1 ]]`, `${a[$i]}`, `${!x}`, `${x@P}`,
 *   `declare -n/-i`, `printf -v "$x"`…) can make bash run commands hidden in a variable's value,
 *   so it is reported as a problem.
 * - Bounded work: 64 KiB input, nesting 200, wrapper depth 8, 1 s time budget (the parser is
 *   quadratic on some inputs), 50 problems listed.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import type { Node } from 'web-tree-sitter';
import type { Redirect, ShellAnalysis, SimpleCommand, Word } from './types.js';
import { isInertBareAssignment } from './patterns.js';

/** Larger inputs are refused without parsing. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Maximum nesting of unwrapped wrappers and re-parsed strings (`bash -c "eval '…'"`). */
export const MAX_DEPTH = 8;
/** Maximum syntactic nesting walked (subshells, substitutions, expressions…). */
export const MAX_NESTING = 200;
/**
 * Time budget for one analysis (parse and walk, nested strings included). tree-sitter-bash is
 * quadratic on some inputs (a heredoc with thousands of expansions takes seconds): past the budget
 * the command is reported as not understood instead of stalling the caller.
 */
export const TIME_BUDGET_MS = 1000;
/** Problems listed at most; the rest are summarised in one entry. */
const MAX_PROBLEMS = 50;

let parser: Parser | null = null;
let initPromise: Promise<void> | null = null;

/** Loads the wasm runtime and the bash grammar. Call (and await) once before `analyzeShell`. */
export function initShellParser(): Promise<void> {
  if (!initPromise) {
    initPromise = (async () => {
      await Parser.init();
      const require = createRequire(import.meta.url);
      const dir = dirname(require.resolve('tree-sitter-bash/package.json'));
      const language = await Language.load(join(dir, 'tree-sitter-bash.wasm'));
      const p = new Parser();
      p.setLanguage(language);
      parser = p;
    })().catch((err: unknown) => {
      initPromise = null;
      throw err;
    });
  }
  return initPromise;
}

/** Analyses one shell command line (a whole script is fine). Synchronous; needs `initShellParser()`. */
export function analyzeShell(command: string): ShellAnalysis {
  if (!parser) throw new Error('analyzeShell: call and await initShellParser() first');
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_INPUT_BYTES) {
    return {
      commands: [],
      redirects: [],
      problems: [`command is ${bytes} bytes, over the ${MAX_INPUT_BYTES}-byte limit: not analysed`],
    };
  }
  const walker = new Walker(parser);
  try {
    walker.analyzeSource(command, [], 0, 'bash');
  } catch (err) {
    // Never let an unexpected input escape as an exception: it is reported as not understood.
    walker.problems.push(`internal error while analysing the command: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { commands: walker.commands, redirects: walker.redirects, problems: walker.problems };
}

// ---------------------------------------------------------------------------------------------
// Internal model

/** Where a word appears: decides globbing, brace expansion, splitting and tilde rules. */
type Ctx = 'arg' | 'assign' | 'redirect' | 'cond' | 'here';
/** Which shell will interpret a re-parsed string. */
type Dialect = 'bash' | 'sh' | 'foreign';

/** A word being evaluated: value plus a parallel quote mask ('1' = quoted char). */
interface WV {
  dyn: boolean;
  multi: boolean;
  v: string;
  m: string;
}

/** An evaluated word with where it came from. */
interface Arg {
  word: Word;
  text: string;
  /** Source text when the word is one plain unquoted `word` node (used for reserved words). */
  bare: string | null;
  src: string;
  start: number;
  end: number;
}

interface Assign {
  name: string;
  value: Word;
}

/** A simple command about to be emitted (and possibly unwrapped). */
interface Pending {
  argv: Arg[];
  assigns: Assign[];
  wrappers: string[];
  dynamicTail: boolean;
  text: string;
  depth: number;
}

interface Scope {
  src: string;
  wrappers: string[];
  depth: number;
  /** Environment assignments inherited from the wrapper that runs this code (`env A=1 bash -c`). */
  env: Assign[];
}

const EMPTY: WV = { dyn: false, multi: false, v: '', m: '' };

function lit(v: string, quoted: boolean): WV {
  return { dyn: false, multi: false, v, m: (quoted ? '1' : '0').repeat(v.length) };
}
function dynWV(multi: boolean): WV {
  return { dyn: true, multi, v: '', m: '' };
}
function cat(a: WV, b: WV): WV {
  return { dyn: a.dyn || b.dyn, multi: a.multi || b.multi, v: a.v + b.v, m: a.m + b.m };
}
function literalWord(value: string): Word {
  return { kind: 'literal', value };
}
function dynamicWord(text: string, multi = false): Word {
  return multi ? { kind: 'dynamic', text, multi: true } : { kind: 'dynamic', text };
}
function synthArg(value: string): Arg {
  return { word: literalWord(value), text: value, bare: null, src: '', start: 0, end: 0 };
}
function short(text: string, max = 80): string {
  const one = text.replace(/\n/g, '\\n');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
function basename(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? name : name.slice(i + 1);
}

const STATEMENT_TYPES = new Set([
  'command', 'pipeline', 'list', 'redirected_statement', 'subshell', 'compound_statement',
  'if_statement', 'while_statement', 'for_statement', 'c_style_for_statement', 'case_statement',
  'function_definition', 'negated_command', 'test_command', 'declaration_command', 'unset_command',
  'variable_assignment', 'variable_assignments',
]);
const WORD_TYPES = new Set([
  'word', 'string', 'raw_string', 'ansi_c_string', 'translated_string', 'concatenation', 'number',
  'simple_expansion', 'expansion', 'command_substitution', 'process_substitution',
  'arithmetic_expansion', 'brace_expression', 'extglob_pattern', 'array', 'regex', 'command_name',
]);
const REDIRECT_TYPES = new Set(['file_redirect', 'heredoc_redirect', 'herestring_redirect']);

/** Words bash treats as reserved in command position; tree-sitter misreads some of them. */
const RESERVED = new Set([
  '{', '}', '!', '[[', ']]', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function',
  'if', 'in', 'select', 'then', 'until', 'while', 'coproc',
]);
/** Variables whose value bash itself runs or prompt-expands (which runs `$(…)`). */
/** An unescaped backtick, `$(` or `$[` in text: code that bash would run. */
const HIDDEN_CODE = /(?:^|[^\\])(?:\\\\)*(?:`|\$\(|\$\[)/;
const CODE_VARS = new Set(['PROMPT_COMMAND', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'BASH_ENV', 'ENV']);
const ARITH_TEST_OPS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
const SAFE_INDEX = /^(?:\d+|@|\*)$/;
const ASSIGN_LIKE = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/;

// ---------------------------------------------------------------------------------------------
// Quote removal

/** Unquoted word text: backslash quotes the next char, backslash-newline disappears. */
function decodeUnquoted(t: string): WV {
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
function decodeDq(s: string): string {
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

function readDigits(s: string, i: number, re: RegExp, max: number): string {
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

function hasGlob(v: string, m: string): boolean {
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
function hasBrace(v: string, m: string): boolean {
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
function finalize(w: WV, ctx: Ctx, text: string): Word {
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
function hasUnparsedExpansion(text: string): boolean {
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

/** Splits an `env -S` string. Only plain words and simple quotes are supported; else null. */
function splitEnvString(s: string): string[] | null {
  if (/[\\$#]/.test(s)) return null;
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '\'' || c === '"') {
      const end = s.indexOf(c, i + 1);
      if (end < 0) return null;
      cur += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Option parsing for wrappers

interface OptSpec {
  /** Short flags without a value. */
  flags?: string;
  /** Short options with a required value (attached or next word). */
  values?: string;
  /** Short options with an optional, attached-only value. */
  optional?: string;
  longFlags?: readonly string[];
  longValues?: readonly string[];
  /** Long options with an optional value, only as `--name=value`. */
  longOptional?: readonly string[];
  /** Accept `-N` (nice's legacy form) as `-n N`. */
  numeric?: boolean;
  /** GNU permutation: options may follow operands (getopt without `+`). */
  permute?: boolean;
}

interface OptHit {
  name: string;
  value: Arg | null;
}

interface OptResult {
  hits: OptHit[];
  /** Non-permuting: index of the first operand. */
  next: number;
  /** Permuting: the operands in order. */
  operands: Arg[];
  error: string | null;
}

function optValue(a: Arg, value: string): Arg {
  return { ...synthArg(value), text: a.text };
}

function parseOpts(argv: Arg[], start: number, spec: OptSpec): OptResult {
  const hits: OptHit[] = [];
  const operands: Arg[] = [];
  const fail = (error: string, next: number): OptResult => ({ hits, next, operands, error });
  let i = start;
  const take = (name: string, idx: number): string | null => {
    if (idx >= argv.length) return `option ${name} needs a value`;
    const val = argv[idx];
    if (val.word.kind === 'dynamic' && val.word.multi) {
      return `the value of ${name} ("${short(val.text)}") may expand to several words`;
    }
    return null;
  };
  while (i < argv.length) {
    const a = argv[i];
    if (a.word.kind !== 'literal') {
      if (spec.permute) return fail(`dynamic word "${short(a.text)}" could be an option`, i);
      break;
    }
    const v = a.word.value;
    if (v === '--') {
      i++;
      if (spec.permute) operands.push(...argv.slice(i));
      return { hits, next: i, operands: spec.permute ? operands : [], error: null };
    }
    if (v.length < 2 || v[0] !== '-') {
      if (spec.permute) {
        operands.push(a);
        i++;
        continue;
      }
      break;
    }
    if (v.startsWith('--')) {
      const eq = v.indexOf('=');
      const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
      if (spec.longFlags?.includes(name) && eq < 0) {
        hits.push({ name, value: null });
        i++;
        continue;
      }
      if (spec.longValues?.includes(name)) {
        if (eq >= 0) {
          hits.push({ name, value: optValue(a, v.slice(eq + 1)) });
          i++;
        } else {
          const err = take(`--${name}`, i + 1);
          if (err) return fail(err, i);
          hits.push({ name, value: argv[i + 1] });
          i += 2;
        }
        continue;
      }
      if (spec.longOptional?.includes(name)) {
        hits.push({ name, value: eq >= 0 ? optValue(a, v.slice(eq + 1)) : null });
        i++;
        continue;
      }
      return fail(`unknown option ${v}`, i);
    }
    if (spec.numeric && /^-\d+$/.test(v)) {
      hits.push({ name: 'n', value: optValue(a, v.slice(1)) });
      i++;
      continue;
    }
    let consumedNext = false;
    for (let j = 1; j < v.length; j++) {
      const ch = v[j];
      if (spec.flags?.includes(ch)) {
        hits.push({ name: ch, value: null });
        continue;
      }
      if (spec.values?.includes(ch)) {
        const rest = v.slice(j + 1);
        if (rest) {
          hits.push({ name: ch, value: optValue(a, rest) });
        } else {
          const err = take(`-${ch}`, i + 1);
          if (err) return fail(err, i);
          hits.push({ name: ch, value: argv[i + 1] });
          consumedNext = true;
        }
        break;
      }
      if (spec.optional?.includes(ch)) {
        const rest = v.slice(j + 1);
        hits.push({ name: ch, value: rest ? optValue(a, rest) : null });
        break;
      }
      return fail(`unknown option -${ch} in "${v}"`, i);
    }
    i += consumedNext ? 2 : 1;
  }
  return { hits, next: i, operands, error: null };
}

function has(r: OptResult, ...names: string[]): boolean {
  return r.hits.some((h) => names.includes(h.name));
}
function valueOf(r: OptResult, ...names: string[]): Arg | null | undefined {
  const h = r.hits.find((x) => names.includes(x.name));
  return h ? h.value : undefined;
}

const SHELLS: Record<string, Dialect> = {
  bash: 'bash', rbash: 'bash',
  sh: 'sh', dash: 'sh', ash: 'sh', ksh: 'sh', mksh: 'sh', posh: 'sh', ksh93: 'sh',
  zsh: 'foreign', fish: 'foreign', csh: 'foreign', tcsh: 'foreign', yash: 'foreign',
};

const SPEC = {
  timeout: { flags: 'vfp', values: 'ks', longFlags: ['preserve-status', 'foreground', 'verbose'], longValues: ['kill-after', 'signal'] },
  nice: { values: 'n', longValues: ['adjustment'], numeric: true },
  ionice: { flags: 't', values: 'cnpPu', longFlags: ['ignore'], longValues: ['class', 'classdata', 'pid', 'pgid', 'uid'] },
  nohup: { longFlags: ['help', 'version'] },
  stdbuf: { values: 'ioe', longValues: ['input', 'output', 'error'] },
  gnuTime: { flags: 'pavqV', values: 'of', longFlags: ['portability', 'append', 'verbose', 'quiet', 'help', 'version'], longValues: ['output', 'format'] },
  command: { flags: 'pvV' },
  exec: { flags: 'cl', values: 'a' },
  setsid: { flags: 'cfw', longFlags: ['ctty', 'fork', 'wait', 'help', 'version'] },
  flock: {
    flags: 'sxeunoFhV',
    values: 'wE',
    longFlags: ['shared', 'exclusive', 'unlock', 'nonblock', 'nb', 'close', 'no-fork', 'verbose', 'help', 'version'],
    longValues: ['wait', 'timeout', 'conflict-exit-code'],
  },
  unbuffer: { flags: 'p' },
  watch: {
    flags: 'bcCeghprtwxv',
    values: 'nq',
    optional: 'd',
    longFlags: ['beep', 'color', 'no-color', 'errexit', 'chgexit', 'precise', 'no-rerun', 'no-title', 'no-wrap', 'exec', 'help', 'version'],
    longValues: ['interval', 'equexit'],
    longOptional: ['differences'],
  },
  script: {
    flags: 'aefqhV',
    values: 'cEIOBTmo',
    optional: 't',
    longFlags: ['append', 'return', 'flush', 'force', 'quiet', 'help', 'version'],
    longValues: ['command', 'echo', 'log-in', 'log-out', 'log-io', 'log-timing', 'logging-format', 'output-limit'],
    longOptional: ['timing'],
    permute: true,
  },
  su: {
    flags: 'flmpPhV',
    values: 'cgGswu',
    longFlags: ['fast', 'login', 'preserve-environment', 'pty', 'help', 'version'],
    longValues: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment', 'user'],
    permute: true,
  },
  sudo: {
    flags: 'AbEeHiKklnNPSsVv',
    values: 'aCcDgpRrTtUu',
    optional: 'h',
    longFlags: ['askpass', 'background', 'edit', 'set-home', 'login', 'remove-timestamp', 'reset-timestamp', 'list', 'non-interactive', 'no-update', 'preserve-groups', 'stdin', 'shell', 'version', 'validate', 'help', 'bell'],
    longValues: ['auth-type', 'close-from', 'chdir', 'group', 'host', 'prompt', 'chroot', 'role', 'command-timeout', 'type', 'other-user', 'user', 'login-class'],
    longOptional: ['preserve-env'],
  },
  doas: { flags: 'Lns', values: 'Cu' },
  pkexec: { longFlags: ['disable-internal-agent', 'keep-cwd', 'help', 'version'], longValues: ['user'] },
  xargs: {
    flags: '0oprtx',
    values: 'adEILnPs',
    optional: 'eil',
    longFlags: ['null', 'open-tty', 'interactive', 'no-run-if-empty', 'verbose', 'exit', 'show-limits', 'help', 'version'],
    longValues: ['arg-file', 'delimiter', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
    longOptional: ['eof', 'replace', 'max-lines'],
  },
  chroot: { longFlags: ['skip-chdir', 'help', 'version'], longValues: ['userspec', 'groups'] },
} satisfies Record<string, OptSpec>;

// ---------------------------------------------------------------------------------------------
// The walker

class Walker {
  readonly commands: SimpleCommand[] = [];
  readonly redirects: Redirect[] = [];
  readonly problems: string[] = [];
  private readonly seen = new Set<string>();
  /** Current syntactic nesting of the walk (bounded by MAX_NESTING). */
  private nesting = 0;
  private readonly deadline = performance.now() + TIME_BUDGET_MS;
  private ticks = 0;
  private outOfTime = false;

  constructor(private readonly parser: Parser) {}

  private overBudget(): boolean {
    if (!this.outOfTime && performance.now() > this.deadline) {
      this.outOfTime = true;
      this.problem(`analysis took longer than ${TIME_BUDGET_MS} ms: the command is too complex to analyse`);
    }
    return this.outOfTime;
  }

  /** Runs `f` one level deeper; past MAX_NESTING reports a problem and returns `fallback`. */
  private deeper<T>(n: Node, sc: Scope, fallback: T, f: () => T): T {
    if ((++this.ticks & 255) === 0 && this.overBudget()) return fallback;
    if (this.outOfTime) return fallback;
    if (this.nesting >= MAX_NESTING) {
      this.problem(`nested more than ${MAX_NESTING} levels deep: "${short(this.text(n, sc))}" not analysed`);
      return fallback;
    }
    this.nesting++;
    try {
      return f();
    } finally {
      this.nesting--;
    }
  }

  private problem(msg: string): void {
    if (this.seen.has(msg)) return;
    this.seen.add(msg);
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(msg);
    else if (this.problems.length === MAX_PROBLEMS) this.problems.push('further problems not listed');
  }

  private text(n: Node, sc: Scope): string {
    return sc.src.slice(n.startIndex, n.endIndex);
  }

  /** Parses `src` and walks it. Used for the input and for every re-parsed string. */
  analyzeSource(src: string, wrappers: string[], depth: number, dialect: Dialect, env: Assign[] = []): void {
    const where = wrappers.length ? ` (inside ${wrappers[wrappers.length - 1]})` : '';
    if (depth > MAX_DEPTH) {
      this.problem(`nesting deeper than ${MAX_DEPTH} levels${where}: "${short(src)}" not analysed`);
      return;
    }
    if (dialect === 'sh' && /\$['"]/.test(src)) {
      this.problem(`$'…'/$"…" quoting in a string run by a POSIX sh${where}: dash reads it differently from bash`);
    } else if (dialect === 'foreign') {
      this.problem(`script for a non-bash shell${where} analysed with bash rules: its syntax differs`);
    }
    if (this.overBudget()) return;
    const deadline = this.deadline;
    const tree = this.parser.parse(src, null, { progressCallback: () => performance.now() > deadline });
    if (!tree) {
      this.parser.reset();
      if (!this.overBudget()) this.problem(`the parser failed on "${short(src)}"`);
      return;
    }
    try {
      const root = tree.rootNode;
      const sc: Scope = { src, wrappers, depth, env };
      if (root.hasError) this.problem(this.describeError(root, sc));
      this.checkSource(root, sc);
      this.stmt(root, sc, []);
    } finally {
      tree.delete();
    }
  }

  private describeError(root: Node, sc: Scope): string {
    const stack: Node[] = [root];
    while (stack.length) {
      const n = stack.pop() as Node;
      if (n.isError || n.isMissing) {
        const what = n.isMissing ? `missing "${n.type}"` : `cannot parse "${short(this.text(n, sc), 40)}"`;
        return `syntax error at offset ${n.startIndex}: ${what} in "${short(sc.src)}"`;
      }
      if (!n.hasError) continue;
      const kids = n.children;
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
    return `syntax error in "${short(sc.src)}"`;
  }

  /** Whole-source checks for places where tree-sitter and bash disagree. */
  private checkSource(root: Node, sc: Scope): void {
    const src = sc.src;
    // eslint-disable-next-line no-control-regex
    const ctl = /[\x00-\x08\x0b-\x1f\x7f]/.exec(src);
    if (ctl) {
      const code = ctl[0].charCodeAt(0).toString(16).padStart(2, '0');
      this.problem(`control character \\x${code} in the command: bash and the parser may split words differently`);
    }
    let idx = src.indexOf('\\\n');
    while (idx >= 0) {
      let backslashes = 0;
      for (let j = idx - 1; j >= 0 && src[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) {
        const before = idx > 0 ? src[idx - 1] : ' ';
        const after = idx + 2 < src.length ? src[idx + 2] : ' ';
        if (!/\s/.test(before) && !/\s/.test(after) && !this.inLiteralText(root, idx)) {
          this.problem(`line continuation inside a word at offset ${idx}: bash joins "${short(src.slice(Math.max(0, idx - 10), idx + 12), 30)}" into one word`);
        }
      }
      idx = src.indexOf('\\\n', idx + 2);
    }
  }

  private inLiteralText(root: Node, idx: number): boolean {
    let n: Node | null = root.descendantForIndex(idx, idx + 1);
    while (n) {
      switch (n.type) {
        case 'raw_string': case 'ansi_c_string': case 'string': case 'string_content':
        case 'heredoc_body': case 'heredoc_content': case 'comment':
          return true;
        case 'command_substitution': case 'process_substitution': case 'arithmetic_expansion':
        case 'expansion': case 'subshell':
          return false; // code nested inside a string is code again
        default:
          n = n.parent;
      }
    }
    return false;
  }

  /** Reports when tree-sitter split what bash reads as one word (no blank between them). */
  private sep(prev: Node | null, cur: Node, sc: Scope): void {
    if (!prev) return;
    // Escaped characters (`\ `, backslash-newline) do not separate words.
    const gap = sc.src.slice(prev.endIndex, cur.startIndex).replace(/\\[\s\S]/g, '');
    if (!/[ \t]/.test(gap)) {
      this.problem(`"${short(sc.src.slice(prev.startIndex, cur.endIndex))}": the parser split one shell word in two`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  private stmt(n: Node, sc: Scope, extra: Arg[]): void {
    this.deeper(n, sc, undefined, () => this.stmtInner(n, sc, extra));
  }

  private stmtInner(n: Node, sc: Scope, extra: Arg[]): void {
    if (extra.length && n.type !== 'command') {
      this.problem(`arguments after a redirection of "${short(this.text(n, sc))}" cannot be placed`);
    }
    switch (n.type) {
      case 'list':
        this.list(n, sc);
        return;
      case 'program': case 'pipeline': case 'subshell': case 'do_group':
      case 'else_clause': case 'elif_clause': case 'negated_command': case 'if_statement':
      case 'while_statement':
        this.statements(n, sc);
        return;
      case 'compound_statement':
        if (n.childCount > 0 && n.child(0)?.type === '((') {
          for (const c of n.namedChildren) this.arith(c, sc, `arithmetic command "${short(this.text(n, sc))}"`);
        } else {
          // bash only reads `{` as a group when it is a word of its own: `{ls;}` is a syntax error.
          if (n.child(0)?.type === '{' && !/[ \t\n]/.test(sc.src[n.startIndex + 1] ?? '')) {
            this.problem(`"${short(this.text(n, sc))}": bash needs a blank after "{" (this is a syntax error for bash)`);
          }
          this.statements(n, sc);
        }
        return;
      case 'command':
        this.command(n, sc, extra);
        return;
      case 'redirected_statement':
        this.redirected(n, sc);
        return;
      case 'variable_assignment': case 'variable_assignments':
        this.bareAssignments(n, sc);
        return;
      case 'declaration_command': case 'unset_command':
        this.declaration(n, sc);
        return;
      case 'test_command':
        this.testCommand(n, sc);
        return;
      case 'for_statement':
        this.forStatement(n, sc);
        return;
      case 'c_style_for_statement':
        this.cFor(n, sc);
        return;
      case 'case_statement':
        this.caseStatement(n, sc);
        return;
      case 'function_definition':
        this.functionDefinition(n, sc);
        return;
      case 'comment':
        return;
      case 'ERROR':
        this.bestEffort(n, sc);
        return;
      default:
        this.problem(`unsupported shell construct "${n.type}": "${short(this.text(n, sc))}"`);
        this.bestEffort(n, sc);
    }
  }

  /** `a && b && c` nests lists to the left: walk them iteratively, in source order. */
  private list(n: Node, sc: Scope): void {
    const tails: Node[][] = [];
    let cur = n;
    for (;;) {
      const kids = cur.namedChildren.filter((c) => c.type !== 'comment');
      if (kids.length && kids[0].type === 'list') {
        tails.push(kids.slice(1));
        cur = kids[0];
      } else {
        tails.push(kids);
        break;
      }
    }
    for (let i = tails.length - 1; i >= 0; i--) for (const c of tails[i]) this.stmt(c, sc, []);
  }

  /** Walks the named children of a statement list-like node. */
  private statements(n: Node, sc: Scope): void {
    for (const c of n.children) {
      if (!c.isNamed) continue;
      if (c.type === 'comment') continue;
      this.stmt(c, sc, []);
    }
  }

  /** Recovers whatever commands can be found under a node the analysis does not model. */
  private bestEffort(n: Node, sc: Scope): void {
    this.deeper(n, sc, undefined, () => this.bestEffortInner(n, sc));
  }

  private bestEffortInner(n: Node, sc: Scope): void {
    for (const c of n.namedChildren) {
      if (STATEMENT_TYPES.has(c.type)) this.stmt(c, sc, []);
      else if (WORD_TYPES.has(c.type)) this.word(c, sc, 'arg', false);
      else if (REDIRECT_TYPES.has(c.type)) {
        const deferred: Node[] = [];
        this.redirect(c, sc, [], deferred);
        for (const d of deferred) this.stmt(d, sc, []);
      } else if (c.type === 'case_item') this.caseItem(c, sc);
      else this.bestEffort(c, sc);
    }
  }

  private command(n: Node, sc: Scope, extra: Arg[]): void {
    const assigns: Assign[] = [];
    const argv: Arg[] = [];
    const fromRedirects: Arg[] = [];
    const deferred: Node[] = [];
    let prev: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) {
        this.redirect(c, sc, fromRedirects, deferred);
        prev = c;
        continue;
      }
      if (c.type === 'variable_assignment') {
        this.sep(prev, c, sc);
        assigns.push(this.assignment(c, sc));
        prev = c;
        continue;
      }
      if (field === 'name' || field === 'argument') {
        this.sep(prev, c, sc);
        argv.push(this.arg(c, sc, 'arg'));
        prev = c;
        continue;
      }
      if (c.type === 'comment') continue;
      this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in command "${short(this.text(n, sc))}"`);
      if (STATEMENT_TYPES.has(c.type)) this.stmt(c, sc, []);
      else this.bestEffort(c, sc);
      prev = c;
    }
    argv.push(...fromRedirects, ...extra);
    this.emit({ argv, assigns: [...sc.env, ...assigns], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private redirected(n: Node, sc: Scope): void {
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    let body: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') body = c;
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (c.type === 'comment') continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in "${short(this.text(n, sc))}"`);
        this.bestEffort(c, sc);
      }
    }
    if (body) this.stmt(body, sc, extra);
    else if (extra.length) this.problem(`arguments after a redirection without a command in "${short(this.text(n, sc))}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private bareAssignments(n: Node, sc: Scope): void {
    const assigns: Assign[] = [];
    if (n.type === 'variable_assignment') {
      assigns.push(this.assignment(n, sc));
    } else {
      let prev: Node | null = null;
      for (const c of n.namedChildren) {
        if (c.type === 'comment') continue;
        this.sep(prev, c, sc);
        if (c.type === 'variable_assignment') assigns.push(this.assignment(c, sc));
        else {
          this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in assignments`);
          this.bestEffort(c, sc);
        }
        prev = c;
      }
    }
    this.commands.push({ name: null, args: [], assignments: assigns, wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc) });
  }

  private assignment(n: Node, sc: Scope, assoc = false): Assign {
    let name = '';
    let append = false;
    let valueNode: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'name') {
        name = this.text(c, sc);
        if (c.type === 'subscript') this.bestEffort(c, sc); // finds $(…) inside the index
        else if (c.type !== 'variable_name') this.problem(`unexpected variable name "${short(name)}"`);
      } else if (field === 'value') valueNode = c;
      else if (c.type === '+=') append = true;
      else if (c.type !== '=') this.problem(`unexpected "${short(this.text(c, sc))}" in assignment "${short(this.text(n, sc))}"`);
    }
    this.checkVarName(name);
    const text = this.text(n, sc);
    let value: Word;
    if (!valueNode) value = literalWord('');
    else if (valueNode.type === 'array') {
      this.arrayLiteral(valueNode, sc, assoc);
      value = dynamicWord(this.text(valueNode, sc));
    } else value = finalize(this.word(valueNode, sc, 'assign', false), 'assign', this.text(valueNode, sc));
    if (append) value = dynamicWord(text);
    return { name, value };
  }

  /** `assoc`: known to be an associative array (`declare -A`), whose keys are not arithmetic. */
  private arrayLiteral(n: Node, sc: Scope, assoc = false): void {
    for (const c of n.namedChildren) {
      if (c.type === 'comment') continue;
      this.word(c, sc, 'arg', false);
      // `a=([i]=x)` evaluates the index as arithmetic for indexed arrays.
      const m = /^\[([^\]]*)\]=/.exec(this.text(c, sc));
      if (m && !assoc && !SAFE_INDEX.test(m[1])) {
        this.problem(`array index "[${short(m[1], 30)}]" in "${short(this.text(n, sc))}" is evaluated as arithmetic`);
      }
    }
  }

  /** A variable name some builtin will assign or inspect: subscripts are arithmetic. */
  private checkVarName(name: string): void {
    const b = name.indexOf('[');
    const base = b < 0 ? name : name.slice(0, b);
    if (CODE_VARS.has(base)) this.problem(`assignment to ${base}: bash runs or prompt-expands its value`);
    if (b >= 0) {
      const idx = name.slice(b + 1, name.endsWith(']') ? -1 : undefined);
      if (!SAFE_INDEX.test(idx)) {
        this.problem(`variable "${short(name, 40)}" has an array subscript that bash evaluates as arithmetic (it can run commands)`);
      }
    }
  }

  private declaration(n: Node, sc: Scope): void {
    const kids = n.children;
    if (!kids.length) return;
    const kw = kids[0];
    const argv: Arg[] = [{ word: literalWord(kw.type), text: kw.type, bare: null, src: sc.src, start: kw.startIndex, end: kw.endIndex }];
    let prev: Node | null = kw;
    for (let i = 1; i < kids.length; i++) {
      const c = kids[i];
      if (c.type === 'comment') continue;
      this.sep(prev, c, sc);
      prev = c;
      const base = { text: this.text(c, sc), bare: null, src: sc.src, start: c.startIndex, end: c.endIndex };
      if (c.type === 'variable_assignment') {
        const assoc = argv.some((x) => x.word.kind === 'literal' && /^-[A-Za-z]*A/.test(x.word.value));
        const a = this.assignment(c, sc, assoc);
        const word = a.value.kind === 'literal' ? literalWord(`${a.name}=${a.value.value}`) : dynamicWord(base.text);
        argv.push({ ...base, word });
      } else if (c.type === 'variable_name') {
        argv.push({ ...base, word: literalWord(base.text) });
      } else if (WORD_TYPES.has(c.type) || !c.isNamed) {
        argv.push(this.arg(c, sc, 'arg'));
      } else {
        this.problem(`unexpected "${short(base.text)}" (${c.type}) in "${short(this.text(n, sc))}"`);
        this.bestEffort(c, sc);
      }
    }
    this.emit({ argv, assigns: [...sc.env], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
  }

  private testCommand(n: Node, sc: Scope): void {
    const kids = n.children;
    const open = kids.length ? kids[0].type : '[';
    if (open === '[') {
      // `[` is an ordinary command for bash: `[ a > b ]` redirects and `[ x && rm y ]` is two
      // commands, but tree-sitter reads both as test expressions. Re-parse it as the command `\[`.
      const from = this.commands.length;
      this.analyzeSource(`\\${this.text(n, sc)}`, sc.wrappers, sc.depth, 'bash', sc.env);
      for (let i = from; i < this.commands.length; i++) {
        const c = this.commands[i];
        if (c.text.startsWith('\\[')) c.text = c.text.slice(1);
      }
      return;
    }
    const dbl = open === '[[';
    const argv: Arg[] = [{ word: literalWord(open), text: open, bare: null, src: sc.src, start: n.startIndex, end: n.startIndex + open.length }];
    let prev: Node | null = null;
    const visit = (x: Node, top: boolean): void => {
      for (const c of x.children) {
        if (top && (c.type === open || c.type === ']]' || c.type === ']')) continue;
        switch (c.type) {
          case 'binary_expression': case 'unary_expression': case 'parenthesized_expression':
            visit(c, false);
            break;
          case 'comment':
            break;
          default: {
            this.sep(prev, c, sc);
            prev = c;
            if (c.type === 'test_operator' || !c.isNamed) {
              const t = this.text(c, sc);
              argv.push({ word: literalWord(t), text: t, bare: null, src: sc.src, start: c.startIndex, end: c.endIndex });
            } else if (WORD_TYPES.has(c.type)) {
              argv.push(this.arg(c, sc, dbl ? 'cond' : 'arg'));
            } else {
              this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in test "${short(this.text(n, sc))}"`);
              this.bestEffort(c, sc);
            }
          }
        }
      }
    };
    visit(n, true);
    this.emit({ argv, assigns: [...sc.env], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
  }

  private forStatement(n: Node, sc: Scope): void {
    let name = '';
    const values: Arg[] = [];
    let body: Node | null = null;
    let prev: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'variable') name = this.text(c, sc);
      else if (field === 'value') {
        this.sep(prev, c, sc);
        prev = c;
        values.push(this.arg(c, sc, 'arg'));
      } else if (field === 'body') body = c;
      else if (c.isNamed && c.type !== 'comment') {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in for loop`);
        this.bestEffort(c, sc);
      }
    }
    this.checkVarName(name);
    let value: Word;
    if (values.length === 1 && values[0].word.kind === 'literal') value = values[0].word;
    else if (values.length === 0 && !kids.some((k) => k.type === 'in')) value = dynamicWord('"$@"');
    else value = dynamicWord(values.map((v) => v.text).join(' '));
    this.commands.push({ name: null, args: [], assignments: [{ name, value }], wrappers: sc.wrappers, dynamicTail: false, text: `${name}=${value.kind === 'literal' ? value.value : value.text}` });
    if (body) this.stmt(body, sc, []);
  }

  private cFor(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') this.stmt(c, sc, []);
      else if (c.isNamed && c.type !== 'comment') this.arith(c, sc, `for (( … )) loop "${short(this.text(n, sc))}"`);
    }
  }

  private caseStatement(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'value') this.word(c, sc, 'cond', false);
      else if (c.type === 'case_item') this.caseItem(c, sc);
      else if (c.isNamed && c.type !== 'comment') {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in case`);
        this.bestEffort(c, sc);
      }
    }
  }

  private caseItem(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'value') this.word(c, sc, 'cond', false);
      else if (!c.isNamed || c.type === 'comment') continue;
      else this.stmt(c, sc, []);
    }
  }

  private functionDefinition(n: Node, sc: Scope): void {
    const kids = n.children;
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') this.stmt(c, sc, []);
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (field === 'name' || !c.isNamed || c.type === 'comment') continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in function definition`);
        this.bestEffort(c, sc);
      }
    }
    if (extra.length) this.problem(`arguments after a redirection of function "${short(this.text(n, sc))}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  // -------------------------------------------------------------------------------------------
  // Redirections

  private redirect(n: Node, sc: Scope, extra: Arg[], deferred: Node[]): void {
    switch (n.type) {
      case 'file_redirect':
        this.fileRedirect(n, sc, extra);
        return;
      case 'heredoc_redirect':
        this.heredoc(n, sc, extra, deferred);
        return;
      case 'herestring_redirect':
        for (const c of n.namedChildren) {
          if (c.type === 'file_descriptor' || c.type === 'comment') continue;
          this.word(c, sc, 'here', false);
        }
        return;
      default:
        this.problem(`unsupported redirection "${short(this.text(n, sc))}" (${n.type})`);
        this.bestEffort(n, sc);
    }
  }

  private fileRedirect(n: Node, sc: Scope, extra: Arg[]): void {
    let op = '';
    const dests: Node[] = [];
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'destination') dests.push(c);
      else if (field === 'descriptor') continue;
      else if (c.type === 'ERROR') {
        // tree-sitter-bash does not know `<>`: it yields `<` followed by an ERROR `>`.
        if (op === '<' && this.text(c, sc) === '>') op = '<>';
        else this.bestEffort(c, sc);
      } else if (!c.isNamed) {
        if (!op) op = c.type;
        else this.problem(`unexpected "${c.type}" in redirection "${short(this.text(n, sc))}"`);
      } else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in redirection`);
        this.bestEffort(c, sc);
      }
    }
    if (op === '<&-' || op === '>&-') {
      for (const d of dests) this.word(d, sc, 'redirect', false);
      return;
    }
    if (!dests.length) {
      this.problem(`redirection "${short(this.text(n, sc))}" has no target`);
      return;
    }
    const first = dests[0];
    const target = this.arg(first, sc, 'redirect');
    let access: 'read' | 'write' | null;
    if (op === '>&' || op === '<&') {
      const fd = target.word.kind === 'literal' && /^(?:\d+-?|-)$/.test(target.word.value);
      access = fd ? null : op === '>&' ? 'write' : 'read';
    } else if (op === '<') access = 'read';
    else if (op === '>' || op === '>>' || op === '>|' || op === '&>' || op === '&>>' || op === '<>') access = 'write';
    else {
      this.problem(`unknown redirection operator "${op}"`);
      access = 'write';
    }
    if (access) {
      this.redirects.push({ op, target: target.word, access, text: sc.src.slice(n.startIndex, first.endIndex) });
    }
    // tree-sitter attaches words after a redirection target to the redirection (`ls > a b`);
    // for bash they are more arguments of the command.
    for (let k = 1; k < dests.length; k++) {
      this.sep(dests[k - 1], dests[k], sc);
      extra.push(this.arg(dests[k], sc, 'arg'));
    }
  }

  private heredoc(n: Node, sc: Scope, extra: Arg[], deferred: Node[]): void {
    let op = '<<';
    let start = '';
    let body: Node | null = null;
    let end: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (c.type === 'heredoc_start') start = this.text(c, sc);
      else if (c.type === 'heredoc_body') body = c;
      else if (c.type === 'heredoc_end') end = c;
      else if (c.type === '<<' || c.type === '<<-') op = c.type;
      else if (field === 'descriptor' || field === 'operator' || c.type === 'comment') continue;
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (field === 'argument') extra.push(this.arg(c, sc, 'arg'));
      else if (field === 'right' || c.type === 'pipeline') deferred.push(c);
      else if (!c.isNamed) continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in heredoc`);
        this.bestEffort(c, sc);
      }
    }
    const quoted = /['"\\]/.test(start);
    const delim = start.replace(/['"\\]/g, '');
    // Verify tree-sitter ended the body where bash does.
    const bodyText = body ? this.text(body, sc) : '';
    const lines = bodyText.split('\n');
    lines.pop();
    const strip = (l: string): string => (op === '<<-' ? l.replace(/^\t+/, '') : l);
    let endOk = false;
    if (end) {
      // The delimiter must be a whole line (after leading tabs for <<-), as bash requires.
      const lineStart = sc.src.lastIndexOf('\n', end.startIndex - 1) + 1;
      const indent = sc.src.slice(lineStart, end.startIndex);
      const after = sc.src[end.endIndex];
      endOk = this.text(end, sc) === delim && (indent === '' || (op === '<<-' && /^\t+$/.test(indent))) && (after === undefined || after === '\n');
    }
    if (!endOk || lines.some((l) => strip(l) === delim)) {
      this.problem(`heredoc "${short(start, 30)}": the parser and bash may disagree on where its body ends`);
    }
    if (quoted || !body) return;
    const scan = this.scanExpansions(sc, body.startIndex, body.endIndex, body.children);
    if (scan.missing) this.problem(`heredoc "${short(start, 30)}" body has expansions the parser did not analyse`);
    for (const c of scan.walk) this.word(c, sc, 'here', true);
  }

  // -------------------------------------------------------------------------------------------
  // Words

  private arg(n: Node, sc: Scope, ctx: Ctx): Arg {
    const text = this.text(n, sc);
    // tree-sitter drops an escaped blank that starts a word (`a \ x` passes " x").
    const s0 = n.startIndex;
    if (s0 >= 2 && /[ \t]/.test(sc.src[s0 - 1]) && sc.src[s0 - 2] === '\\') {
      let backslashes = 0;
      for (let j = s0 - 2; j >= 0 && sc.src[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 1) this.problem(`escaped blank before "${short(text, 30)}": the parser drops it from the word`);
    }
    const w = this.word(n, sc, ctx, false);
    let bare: string | null = null;
    if (n.type === 'word') bare = text;
    else if (n.type === 'command_name' && n.childCount === 1 && n.child(0)?.type === 'word') bare = text;
    return { word: finalize(w, ctx, text), text, bare, src: sc.src, start: n.startIndex, end: n.endIndex };
  }

  /** Evaluates a word node (walking any code inside it). `q`: inside double quotes. */
  private word(n: Node, sc: Scope, ctx: Ctx, q: boolean): WV {
    return this.deeper(n, sc, dynWV(true), () => this.wordInner(n, sc, ctx, q));
  }

  private wordInner(n: Node, sc: Scope, ctx: Ctx, q: boolean): WV {
    const splits = !q && ctx === 'arg';
    switch (n.type) {
      case 'word': {
        const t = this.text(n, sc);
        // A plain word never holds code. One that does (a backtick or `$(` the parser left as text, as
        // in `${x:-`cmd`}`) is code icode cannot see: bash would run it.
        if (HIDDEN_CODE.test(t)) this.problem(`"${short(t)}" holds a command substitution the parser did not recognise`);
        return q ? lit(t, true) : decodeUnquoted(t);
      }
      case 'number':
        if (n.namedChildCount > 0) {
          for (const c of n.namedChildren) this.word(c, sc, ctx, q);
          return dynWV(splits);
        }
        return q ? lit(this.text(n, sc), true) : decodeUnquoted(this.text(n, sc));
      case 'raw_string':
        return lit(this.text(n, sc).slice(1, -1), true);
      case 'string': {
        const kids = n.children;
        // tree-sitter misreads `$` followed by a blank inside quotes ("$ $(id)" hides the
        // substitution): check its expansions against a scan with bash's rules.
        const t = this.text(n, sc);
        if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
          const scan = this.scanExpansions(sc, n.startIndex + 1, n.endIndex - 1, kids);
          if (scan.missing || scan.repaired) {
            if (scan.missing) this.problem(`double-quoted string ${short(t)}: the parser misread its expansions`);
            for (const c of scan.walk) this.word(c, sc, ctx, true);
            return dynWV(false);
          }
          // Only phantom expansions: bash sees plain text.
          if (scan.phantom && scan.found === 0) return lit(decodeDq(t.slice(1, -1)), true);
        }
        let acc = EMPTY;
        for (const c of kids) {
          if (c.type === '"') continue;
          if (c.type === 'string_content') acc = cat(acc, lit(decodeDq(this.text(c, sc)), true));
          else acc = cat(acc, this.word(c, sc, ctx, true));
        }
        return acc;
      }
      case 'command_name': case 'concatenation': {
        let acc = EMPTY;
        for (const c of n.children) acc = cat(acc, this.word(c, sc, ctx, q));
        return acc;
      }
      case 'ansi_c_string': {
        const t = this.text(n, sc);
        const d = decodeAnsiC(t.slice(2, -1));
        return d === null ? dynWV(false) : lit(d, true);
      }
      case 'translated_string':
        for (const c of n.namedChildren) this.word(c, sc, ctx, true);
        return dynWV(false);
      case 'simple_expansion': {
        const t = this.text(n, sc);
        return dynWV(splits || (q && t === '$@'));
      }
      case 'expansion': {
        this.expansion(n, sc);
        const t = this.text(n, sc);
        return dynWV(splits || (q && (/^\$\{[!#]?@/.test(t) || t.includes('[@]'))));
      }
      case 'command_substitution':
        this.substitution(n, sc);
        return dynWV(splits);
      case 'process_substitution':
        this.statements(n, sc);
        return dynWV(false);
      case 'arithmetic_expansion':
        for (const c of n.namedChildren) this.arith(c, sc, `arithmetic "${short(this.text(n, sc))}"`);
        return dynWV(splits);
      case 'brace_expression':
        return dynWV(ctx === 'arg');
      case 'extglob_pattern': {
        const t = this.text(n, sc);
        return /[*?[()|@!+\\]/.test(t) ? dynWV(splits) : lit(t, q);
      }
      case 'array':
        this.arrayLiteral(n, sc);
        return dynWV(false);
      case 'regex': {
        const t = this.text(n, sc);
        if (hasUnparsedExpansion(t)) this.problem(`regular expression "${short(t)}" contains expansions the parser did not analyse`);
        return lit(t, true);
      }
      case 'test_operator': case 'variable_name': case 'special_variable_name': case 'file_descriptor':
        return lit(this.text(n, sc), q);
      case 'comment':
        return EMPTY;
      default:
        if (!n.isNamed) {
          const t = n.type;
          if (t === '$' || t === '==' || t === '=~' || t === '=' || t === '!=') return lit(t, q);
        }
        this.problem(`unsupported word "${short(this.text(n, sc))}" (${n.type})`);
        this.bestEffort(n, sc);
        return dynWV(true);
    }
  }

  private substitution(n: Node, sc: Scope): void {
    const t = this.text(n, sc);
    if (t.startsWith('`') && t.includes('\\')) {
      this.problem(`backslashes inside backticks "${short(t)}" are re-interpreted by bash: use $(…)`);
    }
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (!c.isNamed || c.type === 'comment') continue;
      if (n.fieldNameForChild(i) === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else this.stmt(c, sc, []);
    }
    if (extra.length) this.problem(`unexpected words in "${short(t)}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private expansion(n: Node, sc: Scope): void {
    const t = this.text(n, sc);
    const kids = n.children;
    if (kids.length > 1 && kids[1].type === '!' && !/^\$\{![A-Za-z_][A-Za-z0-9_]*(?:[@*]|\[[@*]\])\}$/.test(t)) {
      this.problem(`indirect expansion "${short(t)}": the variable's value names what bash evaluates (it can run commands)`);
    }
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (c.type === '@' && i + 1 < kids.length && this.text(kids[i + 1], sc).startsWith('P')) {
        this.problem(`prompt expansion "${short(t)}" runs command substitutions found in the value`);
      }
      if (c.type === ':' && !c.isNamed) {
        const rest = sc.src.slice(c.startIndex, n.endIndex - 1);
        if (!/^:\s*-?\d+\s*(?::\s*-?\d+\s*)?$/.test(rest)) {
          this.problem(`substring offsets in "${short(t)}" are evaluated as arithmetic (they can run commands)`);
        }
      }
    }
    for (const c of n.namedChildren) {
      switch (c.type) {
        case 'variable_name': case 'special_variable_name':
          break;
        case 'subscript':
          this.subscript(c, sc);
          break;
        default:
          if (WORD_TYPES.has(c.type)) this.word(c, sc, 'assign', false);
          else this.bestEffort(c, sc);
      }
    }
  }

  /**
   * Scans double-quoted or heredoc text from `start` to `end` with bash's rules and checks that
   * every expansion bash sees is one of tree-sitter's child nodes, starting at the same offset.
   * `missing`: bash sees an expansion the parser does not have (code may be hidden);
   * `phantom`: the parser has an expansion bash does not see; `found`: expansions bash sees.
   */
  private scanExpansions(sc: Scope, start: number, end: number, kids: Node[]): { missing: boolean; phantom: boolean; found: number; repaired: number; walk: Node[] } {
    const src = sc.src;
    const byStart = new Map<number, Node>();
    for (const k of kids) {
      if (!k.isNamed || k.type === 'string_content' || k.type === 'heredoc_content') continue;
      // Expansion nodes inside strings often start with the blanks before them.
      let at = k.startIndex;
      while (at < k.endIndex && /[ \t\n]/.test(src[at])) at++;
      byStart.set(at, k);
    }
    let found = 0;
    let repaired = 0;
    let matched = 0;
    const ranges: [number, number][] = [];
    /** Children to walk: all expansion nodes except those inside a repaired range (done already). */
    const walk = (): Node[] => [...byStart.entries()].filter(([at]) => !ranges.some(([a, b]) => at >= a && at < b)).map(([, k]) => k);
    let i = start;
    while (i < end) {
      const c = src[i];
      if (c === '\\') {
        i += 2;
        continue;
      }
      const exp = c === '`' || (c === '$' && i + 1 < end && /[({[A-Za-z0-9_@*#?$!-]/.test(src[i + 1]));
      if (!exp) {
        i++;
        continue;
      }
      found++;
      const k = byStart.get(i);
      if (!k || (k.type === 'simple_expansion' && !/^\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])$/.test(src.slice(i, k.endIndex)))) {
        const len = this.repairExpansion(sc, i, end);
        if (!len) return { missing: true, phantom: false, found, repaired, walk: walk() };
        repaired++;
        ranges.push([i, i + len]);
        i += len;
        continue;
      }
      matched++;
      i = Math.max(k.endIndex, i + 1);
    }
    return { missing: false, phantom: matched !== byStart.size, found, repaired, walk: walk() };
  }

  /**
   * Analyses an expansion the parser missed at `at` in double-quoted or heredoc text by parsing
   * it alone inside double quotes (same rules for the expansion itself). Returns its length, or
   * 0 when it cannot be isolated cleanly.
   */
  private repairExpansion(sc: Scope, at: number, end: number): number {
    const text = sc.src.slice(at, Math.min(end, at + 8192));
    const simple = /^\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(text);
    if (simple) return simple[0].length; // a plain variable: no code
    const synth = `"${text}"`;
    const tree = this.parser.parse(synth);
    if (!tree) {
      this.parser.reset();
      return 0;
    }
    try {
      const str = tree.rootNode.descendantForIndex(0, 1);
      const k = !str ? null : str.type === 'string' ? str.namedChild(0) : str.parent?.type === 'string' ? str.parent.namedChild(0) : null;
      if (!k || k.startIndex !== 1 || k.hasError || !['command_substitution', 'expansion', 'arithmetic_expansion'].includes(k.type)) return 0;
      this.word(k, { ...sc, src: synth }, 'here', true);
      return k.endIndex - 1;
    } finally {
      tree.delete();
    }
  }

  private subscript(n: Node, sc: Scope): void {
    const idx = n.childForFieldName('index');
    if (!idx) return;
    const t = this.text(idx, sc);
    if ((idx.type === 'word' || idx.type === 'number') && SAFE_INDEX.test(t)) return;
    this.arith(idx, sc, `array subscript "${short(this.text(n, sc))}"`);
  }

  /** Arithmetic may only use literal numbers: variables can carry `a[$(cmd)]` payloads. */
  private arith(n: Node, sc: Scope, where: string): void {
    this.deeper(n, sc, undefined, () => this.arithInner(n, sc, where));
  }

  private arithInner(n: Node, sc: Scope, where: string): void {
    const bad = (): void => {
      this.problem(`${where} evaluates "${short(this.text(n, sc), 40)}" as arithmetic: a variable or run-time value there can make bash run commands`);
    };
    const t = this.text(n, sc);
    switch (n.type) {
      case 'number':
        if (n.namedChildCount > 0) {
          bad();
          this.bestEffort(n, sc);
        }
        return;
      case 'binary_expression': case 'unary_expression': case 'postfix_expression':
      case 'ternary_expression': case 'parenthesized_expression':
        for (const c of n.namedChildren) this.arith(c, sc, where);
        return;
      case 'word':
        if (!/^\d+$/.test(t)) bad();
        return;
      case 'simple_expansion':
        if (!/^\$[#?$!]$/.test(t)) bad();
        return;
      case 'expansion':
        if (!/^\$\{#[A-Za-z_][A-Za-z0-9_]*\}$/.test(t)) bad();
        this.expansion(n, sc);
        return;
      case 'command_substitution':
        bad();
        this.substitution(n, sc);
        return;
      case 'comment':
        return;
      default:
        bad();
        if (WORD_TYPES.has(n.type)) this.word(n, sc, 'assign', false);
        else this.bestEffort(n, sc);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands and wrappers

  private push(p: Pending): void {
    this.commands.push({
      name: p.argv.length ? p.argv[0].word : null,
      args: p.argv.slice(1).map((a) => a.word),
      assignments: p.assigns.map((a) => ({ ...a })),
      wrappers: [...p.wrappers],
      dynamicTail: p.dynamicTail,
      text: p.text,
    });
  }

  private static argsText(args: Arg[]): string {
    if (!args.length) return '';
    const a = args[0];
    const b = args[args.length - 1];
    if (a.src && a.src === b.src && a.start <= b.end) return a.src.slice(a.start, b.end);
    return args.map((x) => x.text).join(' ');
  }

  /** Builds the pending command for `argv[from..]` run by wrapper `label`. */
  private inner(p: Pending, argv: Arg[], label: string, extra: { assigns?: Assign[]; dynamicTail?: boolean } = {}): Pending {
    return {
      argv,
      assigns: [...p.assigns, ...(extra.assigns ?? [])],
      wrappers: [...p.wrappers, label],
      dynamicTail: extra.dynamicTail ?? false,
      text: Walker.argsText(argv),
      depth: p.depth + 1,
    };
  }

  /** Parses a code string a wrapper will run (`bash -c`, `eval`, `su -c`, `trap`…). */
  private code(p: Pending, code: Arg | string, label: string, dialect: Dialect): void {
    if (typeof code !== 'string' && code.word.kind !== 'literal') {
      this.problem(`${label} runs a run-time string "${short(code.text)}": cannot analyse it`);
      return;
    }
    const src = typeof code === 'string' ? code : code.word.kind === 'literal' ? code.word.value : '';
    this.analyzeSource(src, [...p.wrappers, label], p.depth + 1, dialect, p.assigns);
  }

  /** Reports that the wrapper could not be understood, and the wrapper itself unless `pushed`. */
  private refuse(p: Pending, base: string, error: string, pushed = false): void {
    this.problem(`${base}: ${error} — cannot tell what "${short(p.text)}" runs`);
    if (!pushed) this.push(p);
  }

  private emit(p: Pending): void {
    if (!p.argv.length) {
      if (p.assigns.length) this.push(p);
      return;
    }
    const first = p.argv[0];
    if (first.bare !== null && RESERVED.has(first.bare)) {
      this.problem(`reserved word "${first.bare}" used as a command name: the parser may have misread "${short(p.text)}"`);
    }
    for (const a of p.argv) {
      if (/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(a.text) && a.src !== '' && /[<>]/.test(a.src[a.end] ?? '')) {
        this.problem(`"${a.text}" looks like a {var}> file-descriptor redirection, which is not modelled`);
      }
    }
    if (first.word.kind !== 'literal') {
      this.push(p);
      return;
    }
    if (p.depth > MAX_DEPTH) {
      this.problem(`nesting deeper than ${MAX_DEPTH} levels: "${short(p.text)}" not unwrapped`);
      this.push(p);
      return;
    }
    const name = first.word.value;
    const base = basename(name);
    const qualified = name !== base;
    this.builtinChecks(name, p);
    if (SHELLS[base] !== undefined) return this.shell(p, base, qualified, SHELLS[base]);
    switch (base) {
      case 'timeout': return this.simpleWrapper(p, base, qualified, SPEC.timeout, 1);
      case 'nice': return this.simpleWrapper(p, base, qualified, SPEC.nice, 0);
      case 'nohup':
      case 'stdbuf':
      case 'setsid':
      case 'unbuffer':
        return this.simpleWrapper(p, base, qualified, SPEC[base], 0);
      case 'ionice': return this.ionice(p, base, qualified);
      case 'time': return this.time(p, qualified);
      case 'command': return this.commandBuiltin(p, qualified);
      case 'builtin': return this.simpleWrapper(p, base, qualified, {}, 0);
      case 'exec': return this.exec(p, qualified);
      case 'env': return this.env(p, qualified);
      case 'flock': return this.flock(p);
      case 'eval': return this.evalBuiltin(p, qualified);
      case 'sudo': return this.sudo(p);
      case 'doas': return this.doas(p);
      case 'pkexec': return this.launcher(p, base, SPEC.pkexec, 0);
      case 'chroot': return this.launcher(p, base, SPEC.chroot, 1);
      case 'busybox': return this.busybox(p);
      case 'su': case 'runuser': return this.su(p, base);
      case 'xargs': return this.xargs(p);
      case 'find': return this.find(p);
      case 'watch': return this.watch(p);
      case 'script': return this.script(p);
      case 'trap': return this.trap(p, qualified);
      case 'alias': return this.alias(p, qualified);
      default:
        this.push(p);
    }
  }

  /** Checks for builtins that assign or inspect variables by name, or run strings. */
  private builtinChecks(name: string, p: Pending): void {
    const args = p.argv.slice(1);
    const lits = args.map((a) => (a.word.kind === 'literal' ? a.word.value : null));
    const dynName = (a: Arg | undefined, what: string, assigns = true): void => {
      if (!a) return;
      if (a.word.kind !== 'literal') this.problem(`${what} "${short(a.text)}" is a run-time variable name (subscripts in it run commands)`);
      else {
        this.checkVarName(a.word.value);
        // read NAME, printf -v NAME, mapfile NAME…: assigning PATH, HOME, IFS, LD_* by name changes what
        // later commands run, like a `PATH=…` statement (which the policy decides as a command of its own).
        const base = a.word.value.replace(/\[.*$/, '');
        if (assigns && name !== 'declare' && name !== 'typeset' && name !== 'local' && name !== 'export' && name !== 'readonly' && name !== 'unset' && !isInertBareAssignment(base)) {
          this.problem(`${what} assigns ${base}, which changes what later commands run or how they are parsed`);
        }
      }
    };
    switch (name) {
      case 'test': case '[': case '[[':
        for (let i = 0; i < args.length; i++) {
          if (lits[i] === '-v') dynName(args[i + 1], `${name} -v`, false);
          if (name === '[[' && lits[i] !== null && ARITH_TEST_OPS.has(lits[i] as string)) {
            for (const side of [args[i - 1], args[i + 1]]) {
              if (side && !(side.word.kind === 'literal' && /^-?\d+$/.test(side.word.value))) {
                this.problem(`"[[ … ${lits[i]} … ]]" evaluates "${short(side.text, 30)}" as arithmetic: a run-time value can make bash run commands`);
              }
            }
          }
        }
        return;
      case 'declare': case 'typeset': case 'local': case 'export': case 'readonly': case 'unset':
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          const v = lits[i];
          if (v === null) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(a.text)) dynName(a, name);
            continue;
          }
          if (/^[-+]/.test(v) && !v.includes('=')) {
            if (v.startsWith('-') && name !== 'export' && name !== 'unset' && name !== 'readonly' && /[ni]/.test(v.slice(1))) {
              this.problem(`${name} ${v}: namerefs and integer variables make later expansions and assignments evaluate code`);
            }
            continue;
          }
          const eq = v.indexOf('=');
          this.checkVarName((eq < 0 ? v : v.slice(0, eq)).replace(/\+$/, ''));
        }
        return;
      case 'read': {
        const r = parseOpts(p.argv, 1, { flags: 'ers', values: 'adinNptu' });
        dynName(valueOf(r, 'a') ?? undefined, 'read -a');
        for (const a of p.argv.slice(r.next)) dynName(a, 'read');
        return;
      }
      case 'mapfile': case 'readarray': {
        const r = parseOpts(p.argv, 1, { flags: 't', values: 'dnOsuCc' });
        if (has(r, 'C')) this.problem(`${name} -C runs a callback string: not analysed`);
        for (const a of p.argv.slice(r.next)) dynName(a, name);
        return;
      }
      case 'printf':
        if (lits[0] === '-v') dynName(args[1], 'printf -v');
        else if (lits[0]?.startsWith('-v')) dynName(synthArg(lits[0].slice(2)), 'printf -v');
        return;
      case 'getopts':
        dynName(args[1], 'getopts');
        return;
      case 'wait':
        for (let i = 0; i < args.length; i++) if (lits[i] === '-p') dynName(args[i + 1], 'wait -p');
        return;
      case 'let':
        if (lits.some((v) => v === null || /[A-Za-z_]/.test(v))) {
          this.problem(`let evaluates "${short(Walker.argsText(args))}" as arithmetic: variables there can make bash run commands`);
        }
        return;
      default:
    }
  }

  /** Transparent wrapper: `WRAPPER [options] [N positional operands] CMD ARGS…`. */
  private simpleWrapper(p: Pending, base: string, qualified: boolean, spec: OptSpec, operands: number): void {
    const r = parseOpts(p.argv, 1, spec);
    if (r.error) return this.refuse(p, base, r.error);
    if (has(r, 'help', 'version')) return this.push(p);
    for (let k = 0; k < operands; k++) {
      const a = p.argv[r.next + k];
      if (a && a.word.kind === 'dynamic' && a.word.multi) return this.refuse(p, base, `operand "${short(a.text)}" may expand to several words`);
    }
    const at = r.next + operands;
    if (at >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(at), base));
  }

  /** Launcher wrapper (both the wrapper and the inner command are reported). */
  private launcher(p: Pending, base: string, spec: OptSpec, operands: number): void {
    const r = parseOpts(p.argv, 1, spec);
    if (r.error) return this.refuse(p, base, r.error);
    this.push(p);
    if (has(r, 'help', 'version')) return;
    for (let k = 0; k < operands; k++) {
      const a = p.argv[r.next + k];
      if (a && a.word.kind === 'dynamic' && a.word.multi) {
        this.problem(`${base}: operand "${short(a.text)}" may expand to several words — cannot tell what "${short(p.text)}" runs`);
        return;
      }
    }
    const at = r.next + operands;
    if (at < p.argv.length) this.emit(this.inner(p, p.argv.slice(at), base));
  }

  private ionice(p: Pending, base: string, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.ionice);
    if (r.error) return this.refuse(p, base, r.error);
    if (has(r, 'p', 'P', 'u', 'pid', 'pgid', 'uid') || r.next >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(r.next), base));
  }

  private time(p: Pending, qualified: boolean): void {
    // The bash keyword: `time [-p] [--] pipeline`.
    let i = 1;
    const litAt = (k: number): string | null => {
      const a = p.argv[k];
      return a && a.word.kind === 'literal' ? a.word.value : null;
    };
    while (litAt(i) === '-p') i++;
    if (litAt(i) === '--') i++;
    if (qualified || (litAt(i)?.startsWith('-') ?? false)) {
      // /usr/bin/time (or `time` after another wrapper, which is the external one): GNU time.
      // `-o FILE` writes a file, so the wrapper is reported too.
      return this.launcher(p, 'time', SPEC.gnuTime, 0);
    }
    if (i >= p.argv.length) return this.push(p);
    this.emit(this.inner(p, p.argv.slice(i), 'time'));
  }

  private commandBuiltin(p: Pending, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.command);
    if (r.error) return this.refuse(p, 'command', r.error);
    if (has(r, 'v', 'V') || r.next >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(r.next), 'command'));
  }

  private exec(p: Pending, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.exec);
    if (r.error) return this.refuse(p, 'exec', r.error);
    if (qualified) this.push(p);
    // `exec` without a command only applies its redirections.
    if (r.next < p.argv.length) this.emit(this.inner(p, p.argv.slice(r.next), 'exec'));
  }

  /** Collects `NAME=VALUE` operands (env, sudo): any word with `=` before the command is one. */
  private envAssignments(p: Pending, from: number, base: string, pushed: boolean): { assigns: Assign[]; next: number } | null {
    const assigns: Assign[] = [];
    let i = from;
    for (; i < p.argv.length; i++) {
      const a = p.argv[i];
      if (a.word.kind !== 'literal') {
        this.refuse(p, base, `dynamic word "${short(a.text)}" could be an assignment or the command`, pushed);
        return null;
      }
      const v = a.word.value;
      const eq = v.indexOf('=');
      if (eq <= 0) break;
      const name = v.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        this.refuse(p, base, `"${short(v)}" sets an environment variable with an unusual name`, pushed);
        return null;
      }
      if (CODE_VARS.has(name)) this.checkVarName(name);
      assigns.push({ name, value: literalWord(v.slice(eq + 1)) });
    }
    return { assigns, next: i };
  }

  private env(p: Pending, qualified: boolean): void {
    const argv = [...p.argv];
    const assigns: Assign[] = [];
    let effect = qualified;
    let i = 1;
    const need = (k: number, opt: string): Arg | null => {
      const a = argv[k];
      if (!a) {
        this.refuse(p, 'env', `option ${opt} needs a value`);
        return null;
      }
      return a;
    };
    const split = (at: number, s: Arg): boolean => {
      if (s.word.kind !== 'literal') {
        this.refuse(p, 'env', `-S string "${short(s.text)}" is only known at run time`);
        return false;
      }
      const parts = splitEnvString(s.word.value);
      if (!parts) {
        this.refuse(p, 'env', `-S string "${short(s.word.value)}" uses escapes or variables that are not modelled`);
        return false;
      }
      argv.splice(at, 0, ...parts.map(synthArg));
      return true;
    };
    const unset = (a: Arg): void => {
      assigns.push({ name: a.word.kind === 'literal' ? a.word.value : a.text, value: dynamicWord(`-u ${a.text}`) });
    };
    for (;;) {
      const a = argv[i];
      if (!a || a.word.kind !== 'literal') break;
      const v = a.word.value;
      if (v === '--') {
        i++;
        break;
      }
      if (v === '-') {
        i++;
        continue;
      }
      if (v.startsWith('--')) {
        const eq = v.indexOf('=');
        const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
        const inline = eq < 0 ? null : optValue(a, v.slice(eq + 1));
        if (['ignore-environment', 'null', 'debug', 'list-signal-handling'].includes(name) && !inline) {
          i++;
        } else if (['block-signal', 'default-signal', 'ignore-signal'].includes(name)) {
          i++;
        } else if (name === 'help' || name === 'version') {
          return this.push(p);
        } else if (name === 'unset' || name === 'chdir' || name === 'split-string') {
          let val = inline;
          let next = i + 1;
          if (!val) {
            val = need(i + 1, `--${name}`);
            if (!val) return;
            next = i + 2;
          }
          i = next;
          if (name === 'unset') unset(val);
          else if (name === 'chdir') effect = true;
          else if (!split(i, val)) return;
        } else {
          return this.refuse(p, 'env', `unknown option ${v}`);
        }
        continue;
      }
      if (v[0] !== '-' || v.length < 2) break;
      let next = i + 1;
      for (let j = 1; j < v.length; j++) {
        const ch = v[j];
        if (ch === 'i' || ch === '0' || ch === 'v') continue;
        if (ch === 'u' || ch === 'C' || ch === 'S') {
          const rest = v.slice(j + 1);
          let val: Arg | null;
          if (rest) val = optValue(a, rest);
          else {
            val = need(i + 1, `-${ch}`);
            if (!val) return;
            next = i + 2;
          }
          if (ch === 'u') unset(val);
          else if (ch === 'C') effect = true;
          else if (!split(next, val)) return;
          break;
        }
        return this.refuse(p, 'env', `unknown option -${ch} in "${v}"`);
      }
      i = next;
    }
    const envs = this.envAssignments({ ...p, argv }, i, 'env', false);
    if (!envs) return;
    assigns.push(...envs.assigns);
    if (envs.next >= argv.length) return this.push(p);
    if (effect) this.push(p);
    this.emit(this.inner(p, argv.slice(envs.next), 'env', { assigns }));
  }

  private flock(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.flock);
    if (r.error) return this.refuse(p, 'flock', r.error);
    // flock creates its lock file, so it is reported as a command too.
    this.push(p);
    if (has(r, 'help', 'version', 'h', 'V')) return;
    const file = p.argv[r.next];
    if (!file) return;
    if (file.word.kind === 'dynamic' && file.word.multi) {
      this.problem(`flock: lock file "${short(file.text)}" may expand to several words — cannot tell what "${short(p.text)}" runs`);
      return;
    }
    const after = p.argv[r.next + 1];
    if (!after) return;
    if (after.word.kind === 'literal' && (after.word.value === '-c' || after.word.value === '--command')) {
      const str = p.argv[r.next + 2];
      if (!str) return void this.problem('flock -c needs a command string');
      return this.code(p, str, 'flock -c', 'sh');
    }
    this.emit(this.inner(p, p.argv.slice(r.next + 1), 'flock'));
  }

  private evalBuiltin(p: Pending, qualified: boolean): void {
    if (qualified) this.push(p);
    let args = p.argv.slice(1);
    if (args[0]?.word.kind === 'literal' && args[0].word.value === '--') args = args.slice(1);
    if (!args.length) return;
    const dyn = args.find((a) => a.word.kind !== 'literal');
    if (dyn) return void this.problem(`eval of run-time text "${short(dyn.text)}": cannot analyse it`);
    this.code(p, args.map((a) => (a.word.kind === 'literal' ? a.word.value : '')).join(' '), 'eval', 'bash');
  }

  private shell(p: Pending, base: string, qualified: boolean, dialect: Dialect): void {
    let hasC = false;
    let loads = qualified;
    let i = 1;
    for (; i < p.argv.length; i++) {
      const a = p.argv[i];
      // A run-time word: the script path, or (after -c) the string, which code() reports.
      if (a.word.kind !== 'literal') break;
      const v = a.word.value;
      if (v === '--' || v === '-') {
        i++;
        break;
      }
      if (v.startsWith('--')) {
        const name = v.slice(2).replace(/=.*/, '');
        if (['norc', 'noprofile', 'posix', 'restricted', 'verbose', 'noediting', 'debugger', 'dump-strings', 'dump-po-strings', 'pretty-print', 'help', 'version'].includes(name)) continue;
        if (name === 'login') {
          loads = true;
          continue;
        }
        if (name === 'rcfile' || name === 'init-file') {
          loads = true;
          if (!v.includes('=')) i++;
          continue;
        }
        return this.refuse(p, base, `unknown option ${v}`);
      }
      if (v[0] !== '-' && v[0] !== '+') break;
      if (v.length < 2) break;
      for (let j = 1; j < v.length; j++) {
        const ch = v[j];
        if (ch === 'c') hasC = true;
        else if (ch === 'i' || ch === 'l') loads = true;
        else if (ch === 'o') i++;
        else if (ch === 'O' || ch === 'k') {
          return this.refuse(p, base, `option ${v[0]}${ch} changes how the script is parsed`);
        } else if (!'seuxvfhmnptabBCEHPTrD'.includes(ch)) {
          return this.refuse(p, base, `unknown option ${v[0]}${ch}`);
        }
      }
    }
    if (!hasC) return this.push(p);
    const str = p.argv[i];
    if (!str) return this.refuse(p, base, '-c without a command string');
    if (loads) this.push(p);
    this.code(p, str, `${base} -c`, dialect);
  }

  private sudo(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.sudo);
    if (r.error) return this.refuse(p, 'sudo', r.error);
    this.push(p);
    // -e (sudoedit), -l, -v, -K, -V, -h: no command is run.
    if (has(r, 'e', 'edit', 'l', 'list', 'v', 'validate', 'K', 'remove-timestamp', 'V', 'version', 'help')) return;
    if (r.hits.some((h) => h.name === 'h' && h.value === null)) return;
    const envs = this.envAssignments(p, r.next, 'sudo', true);
    if (!envs || envs.next >= p.argv.length) return;
    this.emit(this.inner(p, p.argv.slice(envs.next), 'sudo', { assigns: envs.assigns }));
  }

  private doas(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.doas);
    if (r.error) return this.refuse(p, 'doas', r.error);
    this.push(p);
    if (has(r, 'L', 'C') || r.next >= p.argv.length) return;
    this.emit(this.inner(p, p.argv.slice(r.next), 'doas'));
  }

  private busybox(p: Pending): void {
    this.push(p);
    const a = p.argv[1];
    if (!a || (a.word.kind === 'literal' && a.word.value.startsWith('-'))) return;
    this.emit(this.inner(p, p.argv.slice(1), 'busybox'));
  }

  private su(p: Pending, base: string): void {
    const r = parseOpts(p.argv, 1, SPEC.su);
    if (r.error) return this.refuse(p, base, r.error);
    this.push(p);
    const cmd = valueOf(r, 'c', 'command', 'session-command');
    if (cmd) {
      const sh = valueOf(r, 's', 'shell');
      let dialect: Dialect = 'sh';
      if (sh) dialect = sh.word.kind === 'literal' ? (SHELLS[basename(sh.word.value)] ?? 'foreign') : 'foreign';
      this.code(p, cmd, `${base} -c`, dialect);
    } else if (base === 'runuser' && r.operands.length > 1 && has(r, 'u', 'user')) {
      // runuser -u USER CMD ARGS… runs the command directly.
      this.emit(this.inner(p, r.operands, base));
    }
  }

  private xargs(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.xargs);
    if (r.error) return this.refuse(p, 'xargs', r.error);
    this.push(p);
    if (has(r, 'help', 'version')) return;
    let repl: string | null = null;
    for (const h of r.hits) {
      if (h.name === 'I') {
        if (!h.value || h.value.word.kind !== 'literal') return void this.problem(`xargs -I with a run-time replacement string: cannot analyse "${short(p.text)}"`);
        repl = h.value.word.value;
      } else if (h.name === 'i' || h.name === 'replace') {
        repl = h.value && h.value.word.kind === 'literal' ? h.value.word.value : '{}';
      }
    }
    let argv = r.next < p.argv.length ? p.argv.slice(r.next) : [synthArg('echo')];
    if (repl) {
      const rs = repl;
      argv = argv.map((a) => (a.word.kind === 'literal' && a.word.value.includes(rs) ? { ...a, word: dynamicWord(a.text) } : a));
    }
    this.emit(this.inner(p, argv, 'xargs', { dynamicTail: repl === null }));
  }

  private find(p: Pending): void {
    this.push(p);
    const args = p.argv;
    let i = 1;
    // Leading options: -H -L -P -D debugopts -Olevel.
    for (; i < args.length; i++) {
      const w = args[i].word;
      if (w.kind !== 'literal') break;
      if (w.value === '-H' || w.value === '-L' || w.value === '-P' || /^-O\d*$/.test(w.value)) continue;
      if (w.value === '-D') {
        i++;
        continue;
      }
      break;
    }
    for (; i < args.length; i++) {
      const a = args[i];
      if (a.word.kind !== 'literal') {
        this.problem(`find: run-time word "${short(a.text)}" could be an action such as -exec or -delete`);
        continue;
      }
      const action = a.word.value;
      if (action !== '-exec' && action !== '-execdir' && action !== '-ok' && action !== '-okdir') continue;
      const inner: Arg[] = [];
      let lastBraces = false;
      let plus = false;
      let done = false;
      let j = i + 1;
      for (; j < args.length; j++) {
        const b = args[j];
        if (b.word.kind === 'literal') {
          if (b.word.value === ';') {
            done = true;
            break;
          }
          if (b.word.value === '+' && lastBraces) {
            plus = true;
            done = true;
            break;
          }
          lastBraces = b.word.value === '{}';
          inner.push(b.word.value.includes('{}') ? { ...b, word: dynamicWord(b.text) } : b);
        } else {
          lastBraces = false;
          if (b.word.multi) this.problem(`find ${action}: "${short(b.text)}" may expand to several words, including ";"`);
          inner.push(b);
        }
      }
      if (!done || !inner.length) {
        this.problem(`find ${action} without a command and a terminating ";" or "{} +"`);
        return;
      }
      this.emit(this.inner(p, inner, `find ${action}`, { dynamicTail: plus }));
      i = j;
    }
  }

  private watch(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.watch);
    if (r.error) return this.refuse(p, 'watch', r.error);
    this.push(p);
    if (has(r, 'help', 'version', 'h', 'v') || r.next >= p.argv.length) return;
    const rest = p.argv.slice(r.next);
    if (has(r, 'x', 'exec')) return this.emit(this.inner(p, rest, 'watch'));
    const dyn = rest.find((a) => a.word.kind !== 'literal');
    if (dyn) return void this.problem(`watch runs run-time text "${short(dyn.text)}" through sh -c: cannot analyse it`);
    this.code(p, rest.map((a) => (a.word.kind === 'literal' ? a.word.value : '')).join(' '), 'watch', 'sh');
  }

  private script(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.script);
    if (r.error) return this.refuse(p, 'script', r.error);
    this.push(p);
    const cmd = valueOf(r, 'c', 'command');
    if (cmd) this.code(p, cmd, 'script -c', 'sh');
  }

  private trap(p: Pending, qualified: boolean): void {
    this.push(p);
    if (qualified) return;
    let args = p.argv.slice(1);
    // `trap -l` / `trap -p` only print.
    if (args.length && args[0].word.kind === 'literal' && /^-[lp]+$/.test(args[0].word.value)) return;
    if (args[0]?.word.kind === 'literal' && args[0].word.value === '--') args = args.slice(1);
    if (args.length < 2) return;
    const action = args[0];
    if (action.word.kind === 'literal' && action.word.value === '-') return;
    this.code(p, action, 'trap', 'bash');
  }

  private alias(p: Pending, qualified: boolean): void {
    this.push(p);
    if (qualified) return;
    for (const a of p.argv.slice(1)) {
      if (a.word.kind !== 'literal') {
        this.problem(`alias with run-time text "${short(a.text)}": cannot analyse it`);
        continue;
      }
      const eq = a.word.value.indexOf('=');
      if (eq > 0) this.code(p, a.word.value.slice(eq + 1), 'alias', 'bash');
    }
  }
}
