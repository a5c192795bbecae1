/**
 * Command patterns used by policy rules (`git diff **`, `npm run *`, `NODE_ENV=test npm test`…),
 * matched against the SimpleCommands produced by analyze.ts.
 *
 * A pattern is split into tokens like a shell line (single/double quotes, backslash); quoting a
 * glob character makes it literal. The first token (after leading `NAME=VALUE` tokens) matches the
 * command name, each further token one argument, as a glob where `*` matches any characters
 * including `/` and a leading dot, `?` one character and `[…]` a class. A token `**` matches zero or
 * more whole arguments; a trailing `*` token alone also means "any further arguments, or none".
 * A pattern without wildcards matches exactly.
 *
 * Globs are compiled here rather than with picomatch on purpose: picomatch drops a leading `./`
 * from patterns, reads a leading `!` as negation and never lets `*` match an empty string, all of
 * which are wrong for shell arguments (`find . ! -name x`, `rm ./x`, `git commit -m ""`).
 *
 * Two modes:
 * - `must` (allow rules): the command certainly matches. A run-time word matches only `*`, `**` or
 *   the trailing wildcard (only `**`/trailing when it may expand to several words), a run-time
 *   command name never matches, appended arguments (`dynamicTail`) need a trailing wildcard, the
 *   name is compared exactly, and every prefix assignment outside a small safe list must be named
 *   by the pattern, unless the pattern starts with `*=*` (any assignments: for commands that run
 *   arbitrary code anyway, where the environment adds nothing).
 * - `could` (ask/deny rules): the command might match at run time. A run-time word matches any
 *   token (several, or none, when it may expand to several words), a run-time name matches every
 *   pattern, `dynamicTail` may supply missing trailing arguments, the name also matches by basename
 *   (`/bin/rm` is `rm`), and assignments only matter when the pattern names them.
 */
import { compileGlob, type GlobTest } from '../pure/glob-match.js';
import type { MatchMode, SimpleCommand, Word } from './types.js';
import { basename, splitQuotedWords } from './words.js';

export interface CommandPattern {
  source: string;
  match(cmd: SimpleCommand, mode: MatchMode): boolean;
}

/** Prefix assignments that never need to be named by an allow pattern. */
const SAFE_ASSIGNMENTS = new Set([
  'CI', 'NODE_ENV', 'DEBUG', 'FORCE_COLOR', 'NO_COLOR', 'TZ', 'LANG', 'TERM', 'COLUMNS', 'LINES',
  'RUST_BACKTRACE', 'RUST_LOG', 'PYTHONUNBUFFERED', 'PYTHONDONTWRITEBYTECODE', 'VERBOSE',
]);

/** True for prefix assignments an allow pattern does not have to mention (`CI=1 npm test`). */
export function isSafeAssignment(name: string): boolean {
  return SAFE_ASSIGNMENTS.has(name) || /^LC_[A-Z]+$/.test(name);
}

/** Variables that change what later commands run, how the shell parses, or children's environment. */
const NOT_INERT = new Set([
  // Shell behaviour and command lookup.
  'PATH', 'IFS', 'HOME', 'CDPATH', 'GLOBIGNORE', 'BASHOPTS', 'SHELLOPTS', 'PS0', 'PS1', 'PS2', 'PS3',
  'PS4', 'PROMPT_COMMAND', 'BASH_ENV', 'ENV', 'SHELL', 'TMPDIR', 'PWD', 'OLDPWD', 'MAIL', 'MAILPATH',
  'MAILCHECK', 'FIGNORE', 'EXECIGNORE', 'FUNCNEST', 'HISTFILE', 'HISTCONTROL', 'HISTIGNORE',
  'HISTSIZE', 'HISTFILESIZE', 'HISTTIMEFORMAT', 'INPUTRC', 'POSIXLY_CORRECT', 'TIMEFORMAT',
  'OPTIND', 'OPTARG', 'OPTERR', 'TEXTDOMAIN', 'TEXTDOMAINDIR', 'NLSPATH', 'LOCPATH', 'HOSTALIASES',
  'HOSTFILE', 'RESOLV_HOST_CONF', 'COMP_WORDBREAKS',
  // Exported by default in most sessions: a bare assignment changes every later child's environment.
  'USER', 'LOGNAME', 'TERM', 'LANG', 'LANGUAGE', 'TZ', 'EDITOR', 'VISUAL', 'PAGER', 'MANPAGER',
  'BROWSER', 'DISPLAY', 'XAUTHORITY', 'LESS', 'LESSOPEN', 'LESSCLOSE', 'CLASSPATH', 'CC', 'CXX',
  'MAKEFLAGS', 'RUSTFLAGS', 'RUSTC_WRAPPER', 'GOFLAGS', 'GOPATH',
  'http_proxy', 'https_proxy', 'ftp_proxy', 'all_proxy', 'no_proxy',
  'HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'ALL_PROXY', 'NO_PROXY',
  '_JAVA_OPTIONS', 'JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS',
]);
const NOT_INERT_PREFIXES = [
  'BASH_', 'LD_', 'DYLD_', 'LC_', 'GIT_', 'SSH_', 'XDG_', 'GCONV_', 'MALLOC_', 'GLIBC_', 'NODE_',
  'NPM_', 'npm_', 'PYTHON', 'PERL', 'RUBY', 'CARGO_', 'RUSTUP_', 'PIP_', 'DOCKER_', 'GNUPG', 'GPG_',
];

/**
 * True when a bare assignment (`X=1`, no command) cannot affect anything else the script runs:
 * false for PATH, IFS, HOME, BASH_*, LD_*, DYLD_*, prompt/hook variables, and for variables that
 * are normally already exported (LANG, TERM, GIT_*, proxies…), whose new value children inherit.
 */
export function isInertBareAssignment(name: string): boolean {
  const b = name.indexOf('[');
  const base = b < 0 ? name : name.slice(0, b);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(base)) return false;
  if (NOT_INERT.has(base)) return false;
  return !NOT_INERT_PREFIXES.some((p) => base.startsWith(p));
}

// ---------------------------------------------------------------------------------------------
// Tokens and globs

interface Token {
  /** Value after quote removal. */
  raw: string;
  /** Compiled glob (linear time: arguments are model-chosen), or null when the token has no unquoted wildcard. */
  re: GlobTest | null;
  /** Unquoted `*` alone. */
  star: boolean;
  /** Unquoted `**` alone. */
  globstar: boolean;
}

/** Splits a pattern string into shell-like tokens; quoted glob characters are escaped. */
export function tokenizePattern(source: string): string[] {
  const esc = (c: string): string => (/[*?[\]\\]/.test(c) ? `\\${c}` : c);
  const r = splitQuotedWords(source, esc);
  if ('unclosed' in r) throw new Error(`command pattern ${JSON.stringify(source)}: unterminated ${r.unclosed}`);
  return r.words;
}

/** Compiles one glob token (backslash escapes the next character). */
function compileToken(glob: string): Token {
  let raw = '';
  let wild = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) {
      raw += glob[++i];
    } else if (c === '*' || c === '?') {
      wild = true;
      raw += c;
    } else if (c === '[') {
      const close = findClassEnd(glob, i);
      if (close < 0) {
        raw += c;
        continue;
      }
      wild = true;
      raw += glob.slice(i, close + 1);
      i = close;
    } else {
      raw += c;
    }
  }
  return {
    raw,
    re: wild ? compileGlob(glob, { path: false, braces: false, negation: false }) : null,
    star: glob === '*',
    globstar: glob === '**',
  };
}

function findClassEnd(glob: string, open: number): number {
  let j = open + 1;
  if (glob[j] === '!' || glob[j] === '^') j++;
  if (glob[j] === ']') j++;
  for (; j < glob.length; j++) {
    if (glob[j] === '\\') j++;
    else if (glob[j] === ']') return j;
  }
  return -1;
}

function tokenMatches(t: Token, value: string): boolean {
  return t.re ? t.re(value) : t.raw === value;
}

// ---------------------------------------------------------------------------------------------
// Patterns

interface Compiled {
  assigns: { name: string; value: Token }[];
  /** Leading `*=*`: any prefix assignment is accepted (for commands that run arbitrary code anyway). */
  anyAssigns: boolean;
  name: Token;
  args: Token[];
  /** Ends with `**` or a lone `*`: any further arguments (or none). */
  prefix: boolean;
}

function compile(tokens: string[], source: string): Compiled {
  let i = 0;
  const assigns: Compiled['assigns'] = [];
  let anyAssigns = false;
  for (; i < tokens.length; i++) {
    if (tokens[i] === '*=*') {
      anyAssigns = true;
      continue;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(tokens[i]);
    if (!m) break;
    assigns.push({ name: m[1], value: compileToken(tokens[i].slice(m[0].length)) });
  }
  if (i >= tokens.length) throw new Error(`command pattern ${JSON.stringify(source)} has no command name`);
  const name = compileToken(tokens[i]);
  const args = tokens.slice(i + 1).map(compileToken);
  let prefix = false;
  // A lone `*`/`**` pattern means any command with any arguments.
  if (!args.length && (name.star || name.globstar)) prefix = true;
  const last = args[args.length - 1];
  if (last && (last.star || last.globstar)) {
    prefix = true;
    args.pop();
  }
  return { assigns, anyAssigns, name, args, prefix };
}

function wordMatches(t: Token, w: Word, mode: MatchMode): boolean {
  if (w.kind === 'literal') return tokenMatches(t, w.value) || (mode === 'could' && optionSpelling(t, w.value));
  return mode === 'could' || t.star;
}

/**
 * In `could` mode an option token also matches the other spellings getopt accepts for it, so that an
 * ask/deny rule cannot be dodged by spelling: a GNU long option may be abbreviated to any prefix and take
 * `=value` (`--compress-program` ↔ `--co=sh`, `--output` ↔ `--outp=x`), and a short option may sit in a
 * cluster or carry its value (`-o` ↔ `-uo`, `-oout`; xxd's `-r` ↔ `-revert`).
 */
function optionSpelling(t: Token, value: string): boolean {
  const raw = t.raw.replace(/\*$/, '');
  if (raw.startsWith('--') && raw.length > 2) {
    if (!value.startsWith('--') || value.length <= 2) return false;
    const name = raw.slice(2).split('=')[0];
    const given = value.slice(2).split('=')[0];
    return given.length > 0 && name.startsWith(given);
  }
  if (/^-[A-Za-z0-9]$/.test(raw)) {
    return value.length > 1 && value[0] === '-' && value[1] !== '-' && value.slice(1).includes(raw[1]);
  }
  return false;
}

function matchAssignments(p: Compiled, cmd: SimpleCommand, mode: MatchMode): boolean {
  for (const pa of p.assigns) {
    const found = cmd.assignments.filter((a) => a.name === pa.name);
    if (!found.length || !found.every((a) => wordMatches(pa.value, a.value, mode))) return false;
  }
  if (mode === 'must' && !p.anyAssigns) {
    for (const a of cmd.assignments) {
      if (!isSafeAssignment(a.name) && !p.assigns.some((pa) => pa.name === a.name)) return false;
    }
  }
  return true;
}

function matchArgs(p: Compiled, cmd: SimpleCommand, mode: MatchMode): boolean {
  const toks = p.args;
  const args = cmd.args;
  const memo = new Map<number, boolean>();
  const rec = (ti: number, ai: number): boolean => {
    const key = ti * (args.length + 1) + ai;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    memo.set(key, false); // cycles cannot succeed
    const r = step(ti, ai);
    memo.set(key, r);
    return r;
  };
  const step = (ti: number, ai: number): boolean => {
    if (ti === toks.length) {
      if (p.prefix) return true;
      if (mode === 'must') return ai === args.length && !cmd.dynamicTail;
      // could: leftover words that may expand to nothing still allow a match.
      for (let k = ai; k < args.length; k++) {
        const w = args[k];
        if (!(w.kind === 'dynamic' && w.multi)) return false;
      }
      return true;
    }
    const t = toks[ti];
    if (t.globstar) {
      for (let k = ai; k <= args.length; k++) if (rec(ti + 1, k)) return true;
      return mode === 'could' && cmd.dynamicTail;
    }
    if (ai === args.length) return mode === 'could' && cmd.dynamicTail;
    const w = args[ai];
    if (w.kind === 'dynamic' && w.multi) {
      if (mode === 'must') return false;
      // Zero words, one word, or several words (this token, and the word goes on).
      return rec(ti, ai + 1) || rec(ti + 1, ai + 1) || rec(ti + 1, ai);
    }
    return wordMatches(t, w, mode) && rec(ti + 1, ai + 1);
  };
  return rec(0, 0);
}

/** git global options that change neither what git runs nor what it may write: matched as if absent. */
const GIT_DISPLAY_OPTIONS = new Set(['--no-pager', '-P', '--no-optional-locks', '--literal-pathspecs', '--glob-pathspecs', '--noglob-pathspecs', '--icase-pathspecs']);

/**
 * `git --no-pager log`, `git -P diff`, `git -C sub status` without those leading global options, so that
 * patterns written for the subcommand (`git log **`) see them; null when there are none. `-C DIR` is
 * dropped only with a literal DIR (in `must` mode): DIR stays among the command's arguments, so path
 * conditions still see it (`git -C .. log` is outside the workspace), and relative paths resolved from the
 * root are no less outside than resolved from DIR, as for `cd DIR && git …`. Every other global option
 * (`-c`, `--git-dir`, `--exec-path`…) stops the stripping: the pattern must then name it.
 */
export function withoutGitDisplayOptions(cmd: SimpleCommand, mode: MatchMode): SimpleCommand | null {
  let i = 0;
  for (;;) {
    const w = cmd.args[i];
    if (w?.kind !== 'literal') break;
    if (GIT_DISPLAY_OPTIONS.has(w.value)) i++;
    else if (w.value === '-C' && i + 1 < cmd.args.length && (mode === 'could' || cmd.args[i + 1].kind === 'literal')) i += 2;
    else break;
  }
  return i === 0 ? null : { ...cmd, args: cmd.args.slice(i) };
}

/** Compiles a pattern string (tokenised like a shell line) or an already tokenised pattern. */
export function compileCommandPattern(pattern: string | string[]): CommandPattern {
  const source = typeof pattern === 'string' ? pattern : pattern.join(' ');
  const tokens = typeof pattern === 'string' ? tokenizePattern(pattern) : [...pattern];
  const p = compile(tokens, source);
  return {
    source,
    match(cmd: SimpleCommand, mode: MatchMode): boolean {
      const name = cmd.name;
      if (name === null) return false;
      if (name.kind === 'dynamic') return mode === 'could';
      const nameOk = tokenMatches(p.name, name.value) || (mode === 'could' && tokenMatches(p.name, basename(name.value)));
      if (!nameOk) return false;
      if (!matchAssignments(p, cmd, mode)) return false;
      if (matchArgs(p, cmd, mode)) return true;
      const plain = basename(name.value) === 'git' ? withoutGitDisplayOptions(cmd, mode) : null;
      return plain !== null && matchArgs(p, plain, mode);
    },
  };
}
