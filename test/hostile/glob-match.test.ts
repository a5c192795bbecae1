/**
 * Linear-time glob matching (issue 19): the compiled matcher agrees with picomatch on a corpus of
 * everyday patterns, and patterns that make a backtracking regex run for minutes against a long
 * model-chosen string finish (bounded by vitest's timeout, asserted on the result).
 */
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { compileGlob, GlobSyntaxError } from '../../policies/pure/glob-match.js';
import { loadPolicyText, type CompiledPolicy } from '../../policies/index.js';
import { compileMatch } from '../../sandbox/hooks/matcher.js';

const PATTERNS = [
  '*', '**', '*.ts', '**/*.ts', 'src/**', 'src/**/*.ts', 'a/**/b', '**/x', 'a/*/b', '?.js', '[a-c]*', '[^a]*',
  '*.{js,ts}', '{a,b}/**', 'src/{a,b{c,d}}/*', 'x{1..3}', '.env*', '**/.env', '**/node_modules/**',
  'a/**/b/**/c', '*/*', 'a?c', '[[:digit:]]*', '\\*.md', 'a/b', '.git/**', '**/*.pem', 'foo.*', '*.', 'a*b*c',
  '**/*.test.*', '/etc/**', '/etc/*', '[]a]*', 'a-[0-9]*.log', '**/**', '**/*', 'a/**/**/b', '!a/**', '*.*.*',
];
const SUBJECTS = [
  'a', 'a.ts', 'src/a.ts', 'src/b/c.ts', 'src', 'src/', 'a/b', 'a/x/b', 'a/x/y/b', 'x', 'y/x', 'a/q/b', 'b.js',
  'ab.js', 'bcd', 'abc', 'e', 'a.js', 'a/q', 'b/q/r', 'src/a/x', 'src/bd/x', 'src/bc/q', 'x2', 'x4', '.env',
  '.env.local', 'q/.env', 'node_modules/a', 'q/node_modules/b/c', 'a/b/c', 'a/q/b/r/c', 'a/b/b/c', '1x', '*.md',
  'x.md', '.git', '.git/HEAD', 'k/z.pem', 'foo.', 'foo.bar', 'a.', 'aXbYc', 'ac', 'a/test.ts', 'a/b.test.js',
  '/etc/passwd', '/etc/a/b', ']x', 'a-1.log', 'a-x.log', 'a.b.c', 'a.b', 'a/.hidden/b',
];

describe('glob matcher agrees with picomatch (dot: true)', () => {
  for (const p of PATTERNS) {
    it(p, () => {
      const pm = picomatch(p, { dot: true, nobrace: false, strictSlashes: false });
      const mine = compileGlob(p);
      const diff = SUBJECTS.filter((s) => pm(s) !== mine(s)).map((s) => `${s}: picomatch ${pm(s)}`);
      expect(diff).toEqual([]);
    });
  }
});

describe('glob matcher: adversarial subjects stay linear', () => {
  const long = 'a/' + '.'.repeat(100_000) + 'y';
  it('many stars and literal dots against a long path of dots', () => {
    expect(compileGlob('**/*.*.*.*.*.*.*.*.*.*.*.*.x')(long)).toBe(false);
    expect(compileGlob('**/*.*.*.*.*.*.*.*.*.*.*.*y')(long)).toBe(true);
    expect(compileGlob('*a*a*a*a*a*a*a*a*a*a*b', { path: false })('a'.repeat(100_000))).toBe(false);
  });
  it('many globstars against a deep path', () => {
    const deep = 'a/'.repeat(50_000) + 'c';
    expect(compileGlob('**/a/**/a/**/a/**/a/**/a/**/b')(deep)).toBe(false);
    expect(compileGlob('**/a/**/a/**/a/**/a/**/a/**/c')(deep)).toBe(true);
  });
  it('brace expansion is bounded at compile time', () => {
    expect(() => compileGlob('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}')).toThrow(GlobSyntaxError);
    expect(() => compileGlob('{1..100000000}')).toThrow(GlobSyntaxError);
  });
  it('extglobs are refused rather than read literally', () => {
    expect(() => compileGlob('@(a|b)')).toThrow(/extglob/);
    expect(() => compileGlob('src/!(x).ts')).toThrow(/extglob/);
  });
});

describe('policy decisions against backtracking patterns and long model-chosen strings', () => {
  const WS = '/tmp/icode-ws';
  const HOME = '/home/agent';
  const decide = (p: CompiledPolicy, tool: string, input: Record<string, unknown>) =>
    p.decide({ tool, input, workspace: WS, home: HOME });

  it('path, command, tool and host globs decide in linear time', async () => {
    const p = await loadPolicyText(
      [
        'version: 1',
        'default: deny',
        'rules:',
        '  - {id: dots, decision: allow, tool: read, paths: ["**/*.*.*.*.*.*.*.*.*.*.*.*.x"]}',
        '  - {id: cmd, decision: allow, tool: shell, command: ["echo *a*a*a*a*a*a*a*a*a*a*a*b"]}',
        '  - {id: tools, decision: allow, tool: "*_*_*_*_*_*_*_*_*_*_*_*_x"}',
        '  - {id: host, decision: allow, tool: web_fetch, host: ["*.*.*.*.*.*.*.*.*.*.*.*.x"]}',
        '',
      ].join('\n'),
      'adversarial.yaml',
      { home: HOME },
    );
    const dots = 'a/' + '.'.repeat(60_000) + 'y';
    expect(decide(p, 'read', { path: dots }).decision).toBe('deny');
    expect(decide(p, 'read', { path: 'a/' + '.'.repeat(60_000) + 'x' }).decision).toBe('allow');
    expect(decide(p, 'shell', { command: `echo ${'a'.repeat(60_000)}` }).decision).toBe('deny');
    expect(decide(p, 'shell', { command: `echo ${'a'.repeat(60_000)}b` }).decision).toBe('allow');
    expect(decide(p, '_'.repeat(60_000), {}).decision).toBe('deny');
    expect(decide(p, 'web_fetch', { url: `https://${'a.'.repeat(30_000)}y/` }).decision).toBe('deny');
  });

  it('a pattern that cannot be compiled is a policy error, not a literal', async () => {
    await expect(
      loadPolicyText(['version: 1', 'rules:', '  - {id: x, decision: deny, tool: read, paths: ["@(a|b)"]}', ''].join('\n'), 'x.yaml', { home: HOME }),
    ).rejects.toThrow(/extglob/);
  });
});

describe('hook matchers are linear too', () => {
  it('a backtracking tool matcher against a long tool name', () => {
    const m = compileMatch({ tool: '*a*a*a*a*a*a*a*a*a*a*a*b|Bash' });
    expect(m({ tool: 'a'.repeat(100_000) })).toBe(false);
    expect(m({ tool: 'Bash' })).toBe(true);
    expect(compileMatch({ tool: 'mcp__x[1]' })({ tool: 'mcp__x[1]' })).toBe(true);
  });
});
