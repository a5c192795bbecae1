/**
 * glob vs bash (`shopt -s globstar nullglob`, dotglob off: a `*` or `**` never enters or matches a
 * dot-name unless the pattern spells the dot, which is icode's rule). The match set is bash's minus
 * directories (glob lists files and symlinks), minus paths below a symlink (icode never follows one),
 * minus .gitignored files unless include_ignored (the ignore oracle is `rg --files`). Brace
 * alternatives are expanded before bash globs (bash expands braces in the command line only).
 * Ordering: icode lists in walk order; both sides are compared in byte order.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { runRef } from './exec.js';
import { icodeText, sortLines } from './normalise.js';
import { REFUSED, type CaseEnv, type ParityCase } from './types.js';

/** `a{b,c}d` → `abd`, `acd` (nested braces too). */
export function expandBraces(p: string): string[] {
  const m = /\{([^{}]*,[^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1]!.split(',').flatMap((alt) => expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

const BASH = 'shopt -s globstar nullglob; shopt -u dotglob; IFS=; cd -- "$1" || exit 2; shift; for p in "$@"; do for f in $p; do if [[ -L $f || ! -d $f ]]; then printf "%s\\0" "$f"; fi; done; done';

/** Whether a component of `rel` after the first `from` (the path and the pattern's literal base) is a link. */
function belowLink(ws: string, rel: string, from: number): boolean {
  const parts = rel.split('/');
  for (let i = Math.max(1, from + 1); i < parts.length; i++) {
    try {
      if (lstatSync(join(ws, ...parts.slice(0, i))).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}

export function globReference(ws: string, pattern: string, path?: string, includeIgnored = false): string {
  const dir = path === undefined ? ws : join(ws, path);
  const r = runRef('bash', ['-c', BASH, 'bash', dir, ...expandBraces(pattern)]);
  if (r.status !== 0) return REFUSED;
  const prefix = path === undefined ? '' : `${path}/`;
  // icode resolves the pattern's literal base like any path (a link there is followed), below it never
  const segs = pattern.split('/');
  let lit = 0;
  while (lit < segs.length - 1 && !/[*?[{]/.test(segs[lit]!)) lit++;
  const literalBase = (path === undefined ? 0 : path.split('/').length) + lit;
  // a word without glob characters comes back as itself even when no such file exists
  const exists = (f: string): boolean => {
    try {
      lstatSync(join(ws, f));
      return true;
    } catch {
      return false;
    }
  };
  let found = [...new Set(r.stdout.toString('utf8').split('\0').filter(Boolean))].map((f) => prefix + f).filter((f) => exists(f) && !belowLink(ws, f, literalBase));
  if (!includeIgnored) {
    const listed = new Set(runRef('rg', ['--files', '--no-config', '--no-require-git', '--hidden', '-g', '!.git'], { cwd: ws }).stdout.toString('utf8').split('\n'));
    // judged at its real path (a link in the literal base was followed)
    const real = (f: string): string => {
      const dir = realpathSync(join(ws, dirname(f)));
      return relative(realpathSync(ws), join(dir, basename(f)));
    };
    found = found.filter((f) => listed.has(real(f)) || lstatSync(join(ws, f)).isSymbolicLink());
  }
  return found.length === 0 ? 'No files found\n' : sortLines(found.join('\n') + '\n');
}

export function globCase(name: string, input: { pattern: string; path?: string; include_ignored?: boolean }): ParityCase {
  return {
    tool: 'glob',
    name,
    input: { ...input },
    reference: (env: CaseEnv) => globReference(env.corpus.ws, input.pattern, input.path, input.include_ignored === true),
    actual: (r) => {
      const t = icodeText(r);
      return t === REFUSED || t.startsWith('No files found') ? (t.startsWith('No files found') ? 'No files found\n' : t) : sortLines(t);
    },
  };
}

const PATTERNS = [
  '*', '**/*', '*.txt', '**/*.ts', 'src/**', 'src/*', '**/*.{js,ts}', '*.md', '**/*.md', 'deep/**/leaf.txt', '**/leaf.txt', 'ünïcödé/*',
  '**/*😀*', '* *', '?????.txt', '[a-c]*', '[!a-c]*', '.*', '.config/*', '**/.gitignore', 'src/lib/*.*', '*/*', '*/*/*', 'nope*',
  'README.md', 'docs/guide.md', 'linkdir/*', 'link*', 'bin/*', '**/*.log', 'build/*', 'nested/*', '**/*.secret', '**/*.{py,rs,go}',
  'deep/*/*/*', '**/a/**/*.js', '*.{json,sh}', '**/[A-Z]*', 'docs/*.t?t', '**',
];

export function globCases(_env: CaseEnv): ParityCase[] {
  const c: ParityCase[] = [];
  for (const p of PATTERNS) {
    c.push(globCase(`glob ${p}`, { pattern: p }));
    c.push(globCase(`glob ${p} include_ignored`, { pattern: p, include_ignored: true }));
  }
  for (const [p, path] of [['*', 'src'], ['**/*', 'deep'], ['*.txt', 'ünïcödé'], ['**/*.ts', 'src'], ['*', 'nested'], ['*', 'empty-dir']] as const) {
    c.push(globCase(`glob ${p} in ${path}`, { pattern: p, path }));
  }
  return c;
}
