/**
 * The shipped sample workload (bench/workloads/sample.jsonl): a deterministic coding session on the
 * generated repository (workspace.ts, SAMPLE_FILES files) — explore (list, glob, grep), read, fix
 * functions with edits, add files and tests, check with git and the shell — about 300 calls.
 *
 * Regenerate: `npm run build && node dist/bench/workload/sample.js` (writes bench/workloads/sample.jsonl).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../policies/package-root.js';
import { generatedPath } from './workspace.js';

export const SAMPLE_FILES = 200;
/** The header line: skipped by `icode replay`, read by `icode bench --workload` to build the workspace. */
export const SAMPLE_HEADER = { type: 'icode-workload', workspace: 'generated', files: SAMPLE_FILES, git: true };

/** mulberry32: a small seeded PRNG, so the session is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Line {
  tool: string;
  input: Record<string, unknown>;
}

export function sampleCalls(): Line[] {
  const rnd = prng(18);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const calls: Line[] = [];
  // Current text of each function's return line that the session has edited.
  const edited = new Map<string, number>();
  const add = (tool: string, input: Record<string, unknown>): void => void calls.push({ tool, input });

  add('list', {});
  add('read', { path: 'README.md' });
  add('read', { path: 'package.json' });
  add('shell', { command: 'git status --short' });
  add('glob', { pattern: 'src/**/*.ts' });
  add('grep', { pattern: 'TODO', output_mode: 'files_with_matches' });
  add('shell', { command: 'git log --oneline -5' });

  for (let task = 0; task < 24; task++) {
    // Find the code to change.
    const file = pick(SAMPLE_FILES);
    const path = generatedPath(file);
    add('grep', { pattern: `fn${file}_`, output_mode: 'content', head_limit: 20 });
    if (task % 3 === 0) add('glob', { pattern: `src/mod${file % 25}/*.ts` });
    add('list', { path: `src/mod${file % 25}` });
    add('read', { path });
    for (let r = 0; r < 2; r++) add('read', { path: generatedPath(pick(SAMPLE_FILES)) });
    add('read', { path: 'src/util.ts' });
    // Change it: one to three edits, each on the line's current text.
    for (let e = 0; e < 1 + pick(3); e++) {
      const f = pick(3);
      const key = `${file}_${f}`;
      const v = edited.get(key) ?? 0;
      const base = `return helper(x) + ${file * 3 + f}`;
      const old = v === 0 ? `${base};` : `${base} + ${v};`;
      add('edit', { path, old_string: old, new_string: `${base} + ${v + 1};` });
      edited.set(key, v + 1);
    }
    add('read', { path, offset: 1, limit: 20 });
    // A test for it, and a note every few tasks.
    add('write', { path: `test/fn${file}.test.js`, content: `import { test } from 'node:test';\ntest('fn${file}', () => {});\n` });
    if (task % 4 === 0) add('write', { path: `docs/notes-${task}.md`, content: `# task ${task}\n\nChanged ${path}.\n`.repeat(1 + pick(4)) });
    // Check the work.
    add('shell', { command: 'git diff --stat' });
    if (task % 2 === 0) add('shell', { command: `grep -rn "fn${file}_" src | head -5` });
    if (task % 3 === 0) add('shell', { command: 'ls test | wc -l' });
    if (task % 6 === 5) add('grep', { pattern: 'helper\\(', output_mode: 'count', glob: '*.ts' });
  }
  add('shell', { command: 'git status --short' });
  add('shell', { command: 'git diff --stat' });
  add('grep', { pattern: 'TODO', output_mode: 'content' });
  return calls;
}

export function sampleJsonl(): string {
  return [SAMPLE_HEADER, ...sampleCalls()].map((l) => JSON.stringify(l)).join('\n') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = join(packageRoot(), 'bench/workloads/sample.jsonl');
  writeFileSync(out, sampleJsonl());
  process.stdout.write(`wrote ${out} (${sampleCalls().length} calls)\n`);
}
