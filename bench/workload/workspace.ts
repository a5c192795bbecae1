/** The workload benchmark's workspaces: a private copy of the user's, a tree hash, generated repositories. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempTree {
  root: string;
  cleanup(): void;
}

/** A fresh temporary directory (removed by cleanup). */
export function tempTree(prefix: string): TempTree {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Copy `src` into `dest` (symlinks kept as links, never followed): the benchmark only ever touches copies. */
export function copyWorkspace(src: string, dest: string): string {
  cpSync(src, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  return dest;
}

/** sha256 over every entry of a tree (path, type, mode, content or link target), in sorted order. */
export function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = rel ? join(root, rel) : root;
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      h.update(`${r}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(join(root, r)));
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) h.update(readFileSync(join(root, r)));
      h.update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}

/** Directories the generated files are spread over. */
const MODULES = 25;

/** The workspace-relative path of generated file `i`. */
export function generatedPath(i: number): string {
  return `src/mod${i % MODULES}/file${i}.ts`;
}

/** The content of generated file `i`: a few small functions; every 7th file has a TODO. */
export function generatedContent(i: number): string {
  const lines = [`// module ${i % MODULES}, file ${i}`, `import { helper } from '../util.js';`, ''];
  for (let f = 0; f < 3; f++) {
    lines.push(`export function fn${i}_${f}(x: number): number {`, `  return helper(x) + ${i * 3 + f};`, '}', '');
  }
  if (i % 7 === 0) lines.push(`// TODO: handle negative inputs in fn${i}_0`);
  return lines.join('\n') + '\n';
}

/**
 * A deterministic repository of `files` source files under `dir` (created), plus a package.json, a
 * README, a util module and a test folder; with `git`, committed with fixed dates.
 */
export function generateRepo(dir: string, files: number, opts: { git?: boolean } = {}): string {
  mkdirSync(join(dir, 'test'), { recursive: true });
  for (let m = 0; m < Math.min(MODULES, files); m++) mkdirSync(join(dir, `src/mod${m}`), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sample-app', version: '1.0.0', type: 'module', scripts: { test: 'node --test test/' } }, null, 2) + '\n');
  writeFileSync(join(dir, 'README.md'), '# sample-app\n\nA generated repository for the icode workload benchmark.\n');
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\ndist/\n');
  writeFileSync(join(dir, 'src/util.ts'), 'export function helper(x: number): number {\n  return x * 2;\n}\n');
  for (let i = 0; i < files; i++) writeFileSync(join(dir, generatedPath(i)), generatedContent(i));
  writeFileSync(join(dir, 'test/util.test.js'), "import { test } from 'node:test';\ntest('helper', () => {});\n");
  if (opts.git) {
    const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' };
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
    execFileSync('git', ['add', '-A'], { cwd: dir, env });
    execFileSync('git', ['commit', '-q', '-m', 'initial'], { cwd: dir, env });
  }
  return dir;
}
