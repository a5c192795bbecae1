/**
 * fs.pool: `read` calls through FsPool (piscina worker threads, full path confinement in the worker)
 * against in-process fs.promises.readFile of the same files, same concurrency, same run.
 * Also exports the fixture maker the end-to-end tools.read benchmark can share.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsPool } from '../../sandbox/fs/pool.js';
import { DEFAULT_FS_OPTIONS } from '../../sandbox/fs/types.js';
import { result, sampleAsync } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

export interface ReadFixture {
  /** Workspace root. */
  root: string;
  /** Workspace-relative paths of the files (`src/fN.ts`). */
  files: string[];
  /** Absolute paths of the same files. */
  absolute: string[];
  cleanup(): void;
}

/**
 * Creates `n` small source files (40 lines, ~2 KiB each) under `dir/ws/src`. `dir` must exist; the
 * fixture's cleanup removes `dir/ws` only.
 */
export function makeReadFixture(dir: string, n: number): ReadFixture {
  const root = join(dir, 'ws');
  mkdirSync(join(root, 'src'), { recursive: true });
  const body = Array.from({ length: 40 }, (_, i) => `export const line${i} = ${i}; // some source text`).join('\n') + '\n';
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `src/f${i}.ts`;
    writeFileSync(join(root, rel), body);
    files.push(rel);
  }
  return { root, files, absolute: files.map((f) => join(root, f)), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const FILES = 256;
const CONCURRENCY = 32;

export const fsPoolScenario: Scenario = {
  name: 'fs.pool',
  description: `read calls through the fs worker pool (confinement in the worker, read calls batched under load), ${CONCURRENCY} in flight, vs in-process fs.promises.readFile`,
  async run(ctx: ScenarioContext) {
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-fs-'));
    const fx = makeReadFixture(dir, FILES);
    const pool = new FsPool();
    try {
      const n = Math.max(5000, Math.floor(ctx.iterations / 5));
      const step = Math.max(1, Math.floor(ctx.iterations / 2 / Math.ceil(n / 256)));
      const icode = await sampleAsync(
        n,
        async (i) => {
          const r = await pool.run({ tool: 'read', input: { path: fx.files[i % FILES]! }, root: fx.root, options: DEFAULT_FS_OPTIONS });
          if (!r.ok) throw new Error(`fs.pool: ${r.code}: ${r.error}`);
        },
        CONCURRENCY,
        () => ctx.tick(step),
      );
      const base = await sampleAsync(n, (i) => readFile(fx.absolute[i % FILES]!, 'utf8'), CONCURRENCY, () => ctx.tick(step));
      return result('fs.pool', icode, 'in-process fs.promises.readFile', base, {
        concurrency: CONCURRENCY,
        threads: pool.stats().threads,
        goal_ratio: 0.5,
      });
    } finally {
      await pool.close();
      fx.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
