/**
 * tools.read: end-to-end `read` calls through the whole pipeline (ajv → policy → audit decision commit →
 * fs worker pool → audit outcome) against in-process fs.promises.readFile of the same files, same
 * concurrency, same run.
 *
 * Durability: each call's decision row is COMMITTED to the audit log (WAL, synchronous=NORMAL) before
 * the worker reads the file; its outcome row is queued and committed with a later batch.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline } from '../../engine/pipeline.js';
import { result, sampleAsync } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

const FILES = 256;
const CONCURRENCY = 32;
const GOAL_RATIO = 0.7;

export const toolsReadScenario: Scenario = {
  name: 'tools.read',
  description: `end-to-end read calls (policy + audit + worker pool), ${CONCURRENCY} in flight, vs in-process fs.readFile`,
  async run(ctx: ScenarioContext) {
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-read-'));
    const ws = join(dir, 'ws');
    mkdirSync(join(ws, 'src'), { recursive: true });
    const body = Array.from({ length: 40 }, (_, i) => `export const line${i} = ${i}; // some source text`).join('\n') + '\n';
    for (let i = 0; i < FILES; i++) writeFileSync(join(ws, 'src', `f${i}.ts`), body);
    const pipeline = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: join(dir, 'audit.db'), session: 'bench' });
    try {
      const n = Math.max(2000, Math.floor(ctx.iterations / 20));
      const icode = await sampleAsync(
        n,
        async (i) => {
          const r = await pipeline.call({ tool: 'read', input: { path: `src/f${i % FILES}.ts` } });
          if (r.status !== 'ok') throw new Error(`tools.read: ${r.error}`);
        },
        CONCURRENCY,
        () => ctx.tick(256 * 20),
      );
      const base = await sampleAsync(n, (i) => readFile(join(ws, 'src', `f${i % FILES}.ts`), 'utf8'), CONCURRENCY, () => ctx.tick(256 * 20));
      const r = result('tools.read', icode, 'in-process fs.promises.readFile', base, {
        goal_ratio: GOAL_RATIO,
        meets_goal: icode.ops_per_s / base.ops_per_s >= GOAL_RATIO,
        concurrency: CONCURRENCY,
        durability: 'decision row committed before the tool runs (WAL, synchronous=NORMAL); outcome row queued',
      });
      const ratio = icode.ops_per_s / base.ops_per_s;
      r.notes = [
        `goal ≥ ${GOAL_RATIO}× of readFile: ${ratio >= GOAL_RATIO ? 'met' : `missed by ${Math.round((1 - ratio / GOAL_RATIO) * 100)}%`}; durability: each read's decision row is committed before the worker reads the file.`,
      ];
      return r;
    } finally {
      await pipeline.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
