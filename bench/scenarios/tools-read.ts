/**
 * tools.read: end-to-end `read` calls through the whole pipeline (ajv → policy → audit decision commit →
 * fs worker pool → post-tool hooks (secret_redactor) → audit outcome) against in-process
 * fs.promises.readFile of the same files, same concurrency, same run.
 *
 * Where the time goes, measured in the same run: the fs worker pool alone (FsPool.run, the execute stage
 * without the rest of the pipeline), and the process CPU per call of all three (every thread). The CPU a
 * call may cost at the goal is `cores / (goal × readFile ops/s)`: the notes compare it with what the
 * pool alone and the whole pipeline spend.
 *
 * Durability: each call's decision row is COMMITTED to the audit log (WAL, synchronous=NORMAL) before
 * the worker reads the file; its outcome row is queued and committed with a later batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline } from '../../engine/pipeline.js';
import { FsPool } from '../../sandbox/fs/pool.js';
import { DEFAULT_FS_OPTIONS } from '../../sandbox/fs/types.js';
import { result, round, sampleAsync, withCpu } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';
import { makeReadFixture } from './fs.js';

const FILES = 256;
const CONCURRENCY = 32;
const GOAL_RATIO = 0.7;

export const toolsReadScenario: Scenario = {
  name: 'tools.read',
  description: `end-to-end read calls (policy + audit + worker pool + secret_redactor), ${CONCURRENCY} in flight, vs in-process fs.readFile`,
  async run(ctx: ScenarioContext) {
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-read-'));
    const fx = makeReadFixture(dir, FILES);
    const pipeline = await createPipeline({ workspace: fx.root, policy: 'builtin:readonly', audit: join(dir, 'audit.db'), session: 'bench' });
    const pool = new FsPool();
    try {
      const n = Math.max(2000, Math.floor(ctx.iterations / 20));
      const tick = () => ctx.tick(256 * 20);
      const icode = await withCpu(() =>
        sampleAsync(
          n,
          async (i) => {
            const r = await pipeline.call({ tool: 'read', input: { path: fx.files[i % FILES]! } });
            if (r.status !== 'ok') throw new Error(`tools.read: ${r.error}`);
          },
          CONCURRENCY,
          tick,
        ),
      );
      const poolOnly = await withCpu(() =>
        sampleAsync(
          n,
          async (i) => {
            const r = await pool.run({ tool: 'read', input: { path: fx.files[i % FILES]! }, root: fx.root, options: DEFAULT_FS_OPTIONS });
            if (!r.ok) throw new Error(`tools.read (pool alone): ${r.code}: ${r.error}`);
          },
          CONCURRENCY,
          tick,
        ),
      );
      const base = await withCpu(() => sampleAsync(n, (i) => readFile(fx.absolute[i % FILES]!, 'utf8'), CONCURRENCY, tick));
      // sampleAsync's warm-up calls run inside withCpu too.
      const perCall = (cpuUs: number) => round(cpuUs / (n + Math.min(200, n)), 1);
      const cores = availableParallelism();
      const cpu = { icode: perCall(icode.cpuUs), pool: perCall(poolOnly.cpuUs), readFile: perCall(base.cpuUs) };
      const budget = round((cores * 1e6) / (GOAL_RATIO * base.value.ops_per_s), 1);
      const ratio = icode.value.ops_per_s / base.value.ops_per_s;
      const r = result('tools.read', icode.value, 'in-process fs.promises.readFile', base.value, {
        goal_ratio: GOAL_RATIO,
        meets_goal: ratio >= GOAL_RATIO,
        concurrency: CONCURRENCY,
        durability: 'decision row committed before the tool runs (WAL, synchronous=NORMAL); outcome row queued',
        pool_alone_ops_per_s: poolOnly.value.ops_per_s,
        pool_alone_ratio: round(poolOnly.value.ops_per_s / base.value.ops_per_s),
        cpu_us_per_call: cpu,
        cpu_budget_us_at_goal: budget,
        cores,
      });
      r.notes = [
        `goal ≥ ${GOAL_RATIO}× of readFile: ${ratio >= GOAL_RATIO ? 'met' : `missed by ${Math.round((1 - ratio / GOAL_RATIO) * 100)}%`}; durability: each read's decision row is committed before the worker reads the file.`,
        `same run: the fs worker pool alone reaches ${round(poolOnly.value.ops_per_s / base.value.ops_per_s, 2)}× of readFile.`,
        `process CPU per call (all threads): pipeline ${cpu.icode} µs, pool alone ${cpu.pool} µs, readFile ${cpu.readFile} µs; at ${GOAL_RATIO}× on ${cores} cores a call may cost at most ${budget} µs.`,
      ];
      return r;
    } finally {
      await pipeline.close();
      await pool.close();
      fx.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
