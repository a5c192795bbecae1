/**
 * grep vs ripgrep: `rg --no-config --no-require-git --hidden -g '!.git'` (icode searches hidden files,
 * never .git, honours .gitignore without a repository), the same files, lines and counts in every
 * output mode. Ordering: icode walks in its own sorted order, rg in another; both sides are put in byte
 * order of the path (files_with_matches and count: the lines; content: each file's block, the file's
 * own lines in order, the `--` between two files dropped). A pattern rg refuses must be refused.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolCallResult } from '../../engine/pipeline-types.js';
import { runRef } from './exec.js';
import { DEFAULT_FS_OPTIONS } from '../../sandbox/fs/types.js';
import { byteSort, cut, icodeText, sortLines, utf8 } from './normalise.js';

const MAX_LINE = DEFAULT_FS_OPTIONS.maxLineLength;
import { REFUSED, type CaseEnv, type ParityCase } from './types.js';

export interface GrepArgs {
  pattern: string;
  path?: string;
  glob?: string;
  type?: string;
  output_mode?: 'files_with_matches' | 'content' | 'count';
  '-i'?: boolean;
  '-n'?: boolean;
  '-A'?: number;
  '-B'?: number;
  '-C'?: number;
  multiline?: boolean;
}

/** Every path below the workspace (files and links), for splitting content lines by file. */
function allFiles(ws: string): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync(ws, { recursive: true, withFileTypes: true })) {
    if (!e.isDirectory()) out.add(join(e.parentPath, e.name).slice(ws.length + 1));
  }
  return out;
}

/** Content output in byte order of the file: blocks of one file kept in order, `--` between files dropped. */
export function normaliseContent(text: string, files: Set<string>, cutLines = false): string {
  if (text === '' || text.startsWith('No matches')) return text;
  const lines = text.replace(/\n$/, '').split('\n');
  const byFile = new Map<string, string[]>();
  let cur: string | null = null;
  let pendingSep = false;
  for (const l of lines) {
    if (l === '--') {
      pendingSep = true;
      continue;
    }
    let file: string | null = null;
    for (let i = l.length; i > 0; i--) {
      const c = l[i];
      if ((c === ':' || c === '-') && files.has(l.slice(0, i))) {
        file = l.slice(0, i);
        break;
      }
    }
    const key = file ?? '?';
    const list = byFile.get(key) ?? [];
    if (pendingSep && cur === key) list.push('--');
    pendingSep = false;
    list.push(cutLines && file !== null ? cutContentLine(l, file) : l);
    byFile.set(key, list);
    cur = key;
  }
  return byteSort([...byFile.keys()]).map((k) => byFile.get(k)!.join('\n')).join('\n--\n') + '\n';
}

/** The long-line cut (icode's contract, the same as read's) applied to one `path:N:text` line of rg's. */
function cutContentLine(l: string, file: string): string {
  const m = /^[:-](\d+[:-])?/.exec(l.slice(file.length))!;
  const head = file.length + m[0].length;
  return l.slice(0, head) + cut(l.slice(head), MAX_LINE);
}

export function rgArgs(a: GrepArgs): string[] {
  const args = ['--no-config', '--no-require-git', '--hidden', '-g', '!.git', '--color', 'never', '--no-messages'];
  // -E utf-8: rg decodes as icode does (invalid bytes as U+FFFD; a BOM dropped)
  args.push('--encoding', 'utf-8');
  if (a['-i']) args.push('-i');
  if (a.multiline) args.push('-U', '--multiline-dotall');
  if (a.glob !== undefined) args.push('-g', a.glob);
  if (a.type !== undefined) args.push('-t', a.type);
  const mode = a.output_mode ?? 'files_with_matches';
  if (mode === 'files_with_matches') args.push('-l');
  else if (mode === 'count') args.push('-c', '--with-filename');
  else {
    args.push('--no-heading', '--with-filename', a['-n'] === false ? '-N' : '-n');
    // icode: -A/-B win over -C for their side whatever the order (rg: the flag given last wins), so
    // rg gets the resolved pair
    const after = a['-A'] ?? a['-C'];
    const before = a['-B'] ?? a['-C'];
    if (after !== undefined) args.push('-A', String(after));
    if (before !== undefined) args.push('-B', String(before));
  }
  args.push('-e', a.pattern);
  if (a.path !== undefined) args.push('--', a.path);
  return args;
}

export function grepReference(ws: string, a: GrepArgs): string {
  // a missing path: rg's error is silenced by --no-messages, its exit 2 is a refusal
  if (a.path !== undefined && !existsSync(join(ws, a.path))) return REFUSED;
  const r = runRef('rg', rgArgs(a), { cwd: ws });
  // exit 2 with nothing said (--no-messages): "no files were searched" (a type or glob that names no
  // file), which icode reports as no matches; a pattern rg refuses prints its parse error
  if (r.status === 2 && r.stderr.length === 0 && r.stdout.length === 0) return 'No matches found\n';
  if (r.status === 2) return REFUSED;
  if (r.status === 1 || r.stdout.length === 0) return 'No matches found\n';
  const text = utf8(r.stdout);
  const mode = a.output_mode ?? 'files_with_matches';
  return mode === 'content' ? normaliseContent(text, allFiles(ws), true) : sortLines(text);
}

export function grepActual(r: ToolCallResult, ws: string, a: GrepArgs): string {
  const t = icodeText(r);
  if (t === REFUSED || t.startsWith('No matches')) return t;
  return (a.output_mode ?? 'files_with_matches') === 'content' ? normaliseContent(t, allFiles(ws)) : sortLines(t);
}

/**
 * A case where icode's documented contract differs from rg on purpose (docs/parity.md): the expected
 * text is the contract's, and the reason is in the case's name.
 */
export function grepContractCase(name: string, a: GrepArgs, expected: string): ParityCase {
  return { ...grepCase(name, a), reference: () => expected };
}

export function grepCase(name: string, a: GrepArgs): ParityCase {
  return {
    tool: 'grep',
    name,
    input: { ...a },
    reference: (env: CaseEnv) => grepReference(env.corpus.ws, a),
    actual: (r, env) => grepActual(r, env.corpus.ws, a),
  };
}

const PATTERNS = [
  'TODO', 'todo', 'line', '^line 1', 'hundred$', '\\bcat\\b', 'cat', '\\w+ate', '\\d+', '[[:digit:]]{3}', 'é', '日本', '😀', '^$',
  '\\r$', 'a\\.b', '\\$dollar', '\\(paren\\)', 'foo(_|-)bar', 'fo{2}', '(?i)straße', 'Привет', '\\p{Greek}+', '\\pL{12}', '(?P<n>foo)\\d+',
  'x{2000}', 'Step (one|two)', '[^\\x00-\\x7F]', '\\s{2}', '\\t', 'export (function|const)', 'ERROR', 'kept', 'password', 'important',
  'hidden', 'compiled', '.', 'e\\u0301', 'back\\\\slash', '[a-c]at', '\\bCAT\\b', 'ΑΒΓ', '\\W{3}', '\\S+\\s\\S+$', 'zero.width', '\\x{1F600}',
  'café', 'caf.', 'end$', 'mac.line', '^\\s+', '[\\]\\[]', '\\|pipe', 'a\\*b|a\\+b', '.{300}', 'STRASSE', '\\d', 'ok',
];

const REFUSED_PATTERNS = ['(?=foo)foo', '(a)\\1', '\\h', '(?<=x)y', '(', '[z-a]', '(?<!x)y', '\\', 'a{3,2}'];
/** Rust syntax rg accepts and icode refuses with a clear error rather than risk another meaning. */
const CONTRACT_REFUSED = ['[a-z&&[^aeiou]]', '[a-z--c]', '[[a-c][x-z]]', 'a++', '(?i:ab)c', 'a(?i)b', '(?x)a b'];

export function grepCases(_env: CaseEnv): ParityCase[] {
  const c: ParityCase[] = [];
  for (const p of PATTERNS) {
    c.push(grepCase(`grep files ${p}`, { pattern: p }));
    c.push(grepCase(`grep count ${p}`, { pattern: p, output_mode: 'count' }));
    c.push(grepCase(`grep content ${p}`, { pattern: p, output_mode: 'content' }));
  }
  for (const p of ['cat', 'straße', 'todo', 'привет', 'ΑΒΓ', 'É']) {
    c.push(grepCase(`grep -i files ${p}`, { pattern: p, '-i': true }));
    c.push(grepCase(`grep -i content ${p}`, { pattern: p, '-i': true, output_mode: 'content' }));
  }
  for (const p of REFUSED_PATTERNS) c.push(grepCase(`grep refused ${p}`, { pattern: p }));
  for (const p of CONTRACT_REFUSED) c.push(grepContractCase(`grep refused by contract (rg accepts) ${p}`, { pattern: p }, REFUSED));
  // contract: .gitignore applies to every path below the workspace, an explicitly given one too (rg
  // exempts the directory it is asked to search)
  c.push(grepContractCase('grep path build (ignored directory given explicitly: contract)', { pattern: 'e', path: 'build', output_mode: 'count' }, 'No matches found\n'));
  const ctx: Array<Partial<GrepArgs>> = [{ '-A': 1 }, { '-B': 2 }, { '-C': 1 }, { '-C': 3 }, { '-A': 2, '-B': 0 }, { '-C': 2, '-A': 0 }, { '-n': false }, { '-n': false, '-C': 1 }];
  for (const x of ctx) for (const p of ['TODO', 'hundred', 'cat', 'Step', 'line 2']) c.push(grepCase(`grep content ${p} ${JSON.stringify(x)}`, { pattern: p, output_mode: 'content', ...x }));
  for (const glob of ['*.ts', '*.{js,ts}', 'src/**/*.ts', '*.md', '!*.txt', '**/lib/*', '*.secret', '.*', 'deep/**', '*.log']) {
    c.push(grepCase(`grep glob ${glob}`, { pattern: 'TODO|e', glob }));
    c.push(grepCase(`grep glob ${glob} count`, { pattern: '.', glob, output_mode: 'count' }));
  }
  for (const type of ['ts', 'js', 'md', 'py', 'rust', 'txt', 'json', 'go', 'yaml', 'nope']) c.push(grepCase(`grep type ${type}`, { pattern: '.', type, output_mode: 'count' }));
  for (const path of ['src', 'docs/guide.md', 'ünïcödé', 'nested', 'deep/a', 'src/lib', '.config', 'spaces in name.txt', 'missing', 'link-to-readme', 'linkdir']) {
    c.push(grepCase(`grep path ${path}`, { pattern: 'e', path, output_mode: 'count' }));
  }
  const multi = ['install\\.\\r\\nStep', 'TODO.*\\n.*', '^def.*\\n\\s+"""', 'a \\+ b\\n\\}', 'first\\nsecond', '\\n\\n\\n', 'line 99\\nline 100', 'e.{0,3}\\n'];
  for (const p of multi) {
    c.push(grepCase(`grep multiline content ${p}`, { pattern: p, multiline: true, output_mode: 'content' }));
    c.push(grepCase(`grep multiline count ${p}`, { pattern: p, multiline: true, output_mode: 'count' }));
    c.push(grepCase(`grep multiline files ${p}`, { pattern: p, multiline: true }));
  }
  return c;
}
