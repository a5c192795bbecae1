/**
 * A small, quote-aware shell splitter used by dangerous_command_guard when the real analyzer
 * (policies/shell/analyze.ts, tree-sitter) is unavailable or reports problems. It produces the same
 * `SimpleCommand` model: commands split at `; & | && || ( ) newline`, quotes removed, `$…`, globs and
 * `~` marked dynamic, `$(…)`, backticks and `<(…)` parsed as nested scripts, and the common wrappers
 * (sudo, env, command, exec, nice, nohup, time, timeout, xargs, `sh|bash -c '…'`) unwrapped.
 * It errs towards finding commands; it is a safety net, not a parser.
 */
import type { Redirect, ShellAnalysis, SimpleCommand, Word } from '../../../policies/shell/types.js';

interface Token {
  op?: string;
  word?: Word;
  raw: string;
}

const OPERATORS = ['&&', '||', ';;', '|&', '>>', '&>', '>&', '>|', '<>', '<<', ';', '&', '|', '(', ')', '\n', '<', '>'];
const REDIRECT_OPS = new Set(['>', '>>', '&>', '>|', '<', '<>']);
const MAX_DEPTH = 8;

function closing(src: string, start: number, open: string, close: string): number {
  let depth = 1;
  for (let i = start; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j < 0) return src.length;
      i = j;
    } else if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return src.length;
}

function tokenize(src: string, nested: string[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    // Redirection with a file descriptor number (2>, 2>>, 1>&2…).
    const fd = /^(\d+)(>>|>&|>|<)/.exec(src.slice(i, i + 8));
    if (fd && src[i + fd[0].length] !== '(') {
      tokens.push({ op: fd[2], raw: fd[0] });
      i += fd[0].length;
      continue;
    }
    const op = (c === '<' || c === '>') && src[i + 1] === '(' ? undefined : OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      tokens.push({ op, raw: op });
      i += op.length;
      continue;
    }
    // A word.
    let literal = '';
    let dynamic = false;
    const start = i;
    while (i < src.length) {
      const ch = src[i];
      if ((ch === '$' || ch === '<' || ch === '>') && src[i + 1] === '(') {
        const end = closing(src, i + 2, '(', ')');
        nested.push(src.slice(i + 2, end));
        dynamic = true;
        i = end + 1;
        continue;
      }
      if (' \t\r\n;&|()<>'.includes(ch)) break;
      if (ch === '\\') {
        literal += src[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        const j = src.indexOf("'", i + 1);
        const end = j < 0 ? src.length : j;
        literal += src.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\' && i + 1 < src.length) {
            literal += src[i + 1];
            i += 2;
          } else if (src[i] === '$' && src[i + 1] === '(') {
            const end = closing(src, i + 2, '(', ')');
            nested.push(src.slice(i + 2, end));
            dynamic = true;
            i = end + 1;
          } else if (src[i] === '`') {
            const end = src.indexOf('`', i + 1);
            nested.push(src.slice(i + 1, end < 0 ? src.length : end));
            dynamic = true;
            i = end < 0 ? src.length : end + 1;
          } else {
            if (src[i] === '$') dynamic = true;
            literal += src[i++];
          }
        }
        i++;
      } else if (ch === '`') {
        const end = src.indexOf('`', i + 1);
        nested.push(src.slice(i + 1, end < 0 ? src.length : end));
        dynamic = true;
        i = end < 0 ? src.length : end + 1;
      } else {
        if (ch === '$' || ch === '*' || ch === '?' || ch === '[' || (ch === '~' && i === start) || ch === '{') dynamic = true;
        literal += ch;
        i++;
      }
    }
    const raw = src.slice(start, i);
    if (raw.length === 0) {
      i++; // never loop on an unexpected character
      continue;
    }
    tokens.push({ word: dynamic ? { kind: 'dynamic', text: raw } : { kind: 'literal', value: literal }, raw });
  }
  return tokens;
}

function text(w: Word): string {
  return w.kind === 'literal' ? w.value : w.text;
}

const SIMPLE_WRAPPERS = new Set(['sudo', 'doas', 'command', 'exec', 'nohup', 'time', 'nice', 'ionice', 'env', 'timeout', 'xargs', 'builtin', 'stdbuf']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh']);

/** Unwraps wrappers; returns the inner command, or a script string to parse (`bash -c '…'`). */
function unwrap(cmd: SimpleCommand, depth: number, out: SimpleCommand[], problems: string[]): void {
  const name = cmd.name && cmd.name.kind === 'literal' ? cmd.name.value.replace(/^.*\//, '') : null;
  if (name && SIMPLE_WRAPPERS.has(name)) {
    let k = 0;
    const args = cmd.args;
    while (k < args.length) {
      const t = text(args[k]);
      if (t.startsWith('-')) k += ['-u', '-g', '-n', '-s', '-k', '-c', '-C', '-I', '-P', '-L', '-d', '-E'].includes(t) && name !== 'env' ? 2 : 1;
      else if (name === 'env' && /^\w+=/.test(t)) k++;
      else if (name === 'timeout' && /^\d/.test(t)) k++;
      else if (name === 'nice' && /^-?\d+$/.test(t)) k++;
      else break;
    }
    if (k < args.length) {
      const inner: SimpleCommand = { ...cmd, name: args[k], args: args.slice(k + 1), wrappers: [...cmd.wrappers, name], dynamicTail: cmd.dynamicTail || name === 'xargs' };
      if (depth < MAX_DEPTH) return unwrap(inner, depth + 1, out, problems);
    }
  }
  out.push(cmd);
  if (name && SHELLS.has(name)) {
    const c = cmd.args.findIndex((w) => w.kind === 'literal' && /^-[a-z]*c[a-z]*$/.test(w.value));
    const script = c >= 0 ? cmd.args[c + 1] : undefined;
    if (script && script.kind === 'literal' && depth < MAX_DEPTH) {
      const inner = naiveAnalyze(script.value, depth + 1);
      for (const ic of inner.commands) out.push({ ...ic, wrappers: [...cmd.wrappers, `${name} -c`, ...ic.wrappers] });
      problems.push(...inner.problems);
    }
  }
}

export function naiveAnalyze(src: string, depth = 0): ShellAnalysis {
  const nested: string[] = [];
  const tokens = tokenize(src, nested);
  const commands: SimpleCommand[] = [];
  const redirects: Redirect[] = [];
  const problems: string[] = [];
  let words: Word[] = [];
  let raws: string[] = [];
  const flush = (): void => {
    const assignments: SimpleCommand['assignments'] = [];
    while (words.length > 0 && words[0].kind === 'literal' && /^[A-Za-z_]\w*=/.test(words[0].value)) {
      const w = words.shift()! as { kind: 'literal'; value: string };
      const eq = w.value.indexOf('=');
      assignments.push({ name: w.value.slice(0, eq), value: { kind: 'literal', value: w.value.slice(eq + 1) } });
    }
    while (words.length > 0 && words[0].kind === 'literal' && ['{', '}', '!', 'then', 'do', 'else', 'if', 'while', 'until', 'elif'].includes(words[0].value)) {
      words.shift();
    }
    if (words.length > 0 || assignments.length > 0) {
      const cmd: SimpleCommand = { name: words[0] ?? null, args: words.slice(1), assignments, wrappers: [], dynamicTail: false, text: raws.join(' ') };
      unwrap(cmd, depth, commands, problems);
    }
    words = [];
    raws = [];
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.op && (REDIRECT_OPS.has(t.op) || t.op === '>&')) {
      const target = tokens[k + 1]?.word;
      if (target && !(t.op === '>&' && /^\d+$/.test(text(target)))) {
        redirects.push({ op: t.op, target, access: t.op === '<' ? 'read' : 'write', text: `${t.raw}${tokens[k + 1].raw}` });
      }
      if (target) k++;
      continue;
    }
    if (t.op) {
      if (t.op === '<<') problems.push('here-document not analysed');
      flush();
      continue;
    }
    words.push(t.word!);
    raws.push(t.raw);
  }
  flush();
  if (depth < MAX_DEPTH) {
    for (const inner of nested) {
      const sub = naiveAnalyze(inner, depth + 1);
      commands.push(...sub.commands);
      redirects.push(...sub.redirects);
      problems.push(...sub.problems);
    }
  }
  return { commands, redirects, problems };
}
