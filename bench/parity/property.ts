/**
 * The property-based part (fast-check): random trees (names with dots, spaces, accents; nested
 * directories; random .gitignore lines; CRLF and missing final newlines) and random patterns from a
 * safe regex subset (literals, `.`, classes, `?*+{m,n}`, anchors, groups, alternation, \d \w \s \b)
 * and glob patterns, each checked grep-vs-ripgrep (all three output modes, -i, context) and
 * glob-vs-bash. Values come from `fc.sample` with a fixed seed, so a run is reproducible with
 * `icode parity --seed N`; every case's name carries its seed and index.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { globCase } from './cases-glob.js';
import { grepCase, type GrepArgs } from './cases-grep.js';
import type { CaseEnv, ParityCase } from './types.js';

const nameChar = fc.constantFrom('a', 'b', 'c', 'é', ' ', '.', '1', '_', 'Z');
const name = fc.array(nameChar, { minLength: 1, maxLength: 5 }).map((cs) => cs.join('')).filter((n) => n !== '.' && n !== '..' && n !== '.git');
const word = fc.constantFrom('ab', 'abc', 'cab', 'b', 'Abc', 'é', 'a1', '12', ' ', 'x_y', 'caba', '');
const lineArb = fc.array(word, { maxLength: 5 }).map((ws) => ws.join(' '));
const content = fc.record({ lines: fc.array(lineArb, { maxLength: 8 }), crlf: fc.boolean(), finalNewline: fc.boolean() }).map(({ lines, crlf, finalNewline }) => {
  const eol = crlf ? '\r\n' : '\n';
  return lines.join(eol) + (finalNewline && lines.length > 0 ? eol : '');
});
const tree = fc.array(fc.tuple(fc.array(name, { minLength: 1, maxLength: 3 }), content), { minLength: 1, maxLength: 12 });
const ignoreLine = fc.constantFrom('*.c', 'a*', '!abc', 'b/', '1*', '*é*', '.*', 'Z');

const atom = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'é', 'A', '1', ' ', '_'),
  fc.constantFrom('.', '[ab]', '[^a]', '[a-c]', '\\d', '\\w', '\\s', '\\W', '[[:alpha:]]'),
);
const quant = fc.constantFrom('', '', '', '?', '*', '+', '{1,2}', '{2}');
const piece = fc.tuple(atom, quant).map(([a, q]) => a + q);
const seq = fc.array(piece, { minLength: 1, maxLength: 4 }).map((ps) => ps.join(''));
const regex = fc
  .tuple(fc.constantFrom('', '^', '\\b'), seq, fc.option(seq, { nil: undefined }), fc.constantFrom('', '$', '\\b'), fc.boolean())
  .map(([pre, a, b, post, group]) => {
    const body = b === undefined ? a : group ? `(${a}|${b})` : `${a}|${b}`;
    return pre + body + post;
  });
const grepOpts = fc.record({
  output_mode: fc.constantFrom('files_with_matches', 'content', 'count') as fc.Arbitrary<GrepArgs['output_mode']>,
  ci: fc.boolean(),
  ctx: fc.constantFrom(undefined, 0, 1, 2),
});
const globSeg = fc.constantFrom('*', '?', 'a*', '*b', '[ab]*', '*.*', '*é*', '[!a]*', 'a', '*1*');
const glob = fc.array(fc.oneof(globSeg, fc.constant('**')), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

interface Sample {
  files: Array<[string[], string]>;
  ignore: string[];
  patterns: string[];
  opts: Array<{ output_mode: GrepArgs['output_mode']; ci: boolean; ctx: number | undefined }>;
  globs: string[];
}

const sampleArb: fc.Arbitrary<Sample> = fc.record({
  files: tree,
  ignore: fc.array(ignoreLine, { maxLength: 3 }),
  patterns: fc.array(regex, { minLength: 2, maxLength: 2 }),
  opts: fc.array(grepOpts, { minLength: 2, maxLength: 2 }),
  globs: fc.array(glob, { minLength: 1, maxLength: 1 }),
});

/** Writes a random tree below `dir`: a path that collides with a file already written is skipped. */
function writeTree(dir: string, s: Sample): void {
  mkdirSync(dir, { recursive: true });
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const [parts, text] of s.files) {
    const rel = parts.join('/');
    const ancestors = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
    if (files.has(rel) || dirs.has(rel) || ancestors.some((a) => files.has(a))) continue;
    files.add(rel);
    ancestors.forEach((a) => dirs.add(a));
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  if (s.ignore.length > 0) writeFileSync(join(dir, '.gitignore'), s.ignore.join('\n') + '\n');
}

/** `runs` random trees, each with two grep cases and one glob case. */
export function propertyCases(env: CaseEnv, seed: number, runs: number): ParityCase[] {
  if (runs <= 0) return [];
  const samples = fc.sample(sampleArb, { seed, numRuns: runs });
  const cases: ParityCase[] = [];
  samples.forEach((s, i) => {
    const path = `prop/${i}`;
    let written = false;
    const setup = (): void => {
      if (!written) writeTree(join(env.corpus.ws, path), s);
      written = true;
    };
    s.patterns.forEach((pattern, k) => {
      const o = s.opts[k]!;
      const a: GrepArgs = { pattern, path, output_mode: o.output_mode };
      if (o.ci) a['-i'] = true;
      if (o.output_mode === 'content' && o.ctx !== undefined) a['-C'] = o.ctx;
      cases.push({ ...grepCase(`grep property seed=${seed} #${i}.${k} ${JSON.stringify(a)}`, a), setup });
    });
    for (const g of s.globs) cases.push({ ...globCase(`glob property seed=${seed} #${i} ${g}`, { pattern: g, path }), setup });
  });
  return cases;
}
