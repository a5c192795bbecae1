/**
 * state.checkpoint: the cost of one workspace checkpoint before a mutating call, on a workspace of
 * 10 000 files, against a plain `git add -A && git commit` of the same change in a same-sized
 * ordinary repository, in the same run (interleaved, so that a load change on the machine hits both).
 * Three variants, each after its own change:
 *
 *  - `paths` (the headline): one file changed, the change set known (`take({paths})`: what a call
 *    gets after a jailed shell command or a write/edit);
 *  - `full_scan`: one file changed, the change set unknown (the first call of a turn, jail mode none,
 *    MCP tools): the whole workspace walked with the stat cache;
 *  - `unchanged`: nothing changed, full scan.
 *
 * Goals (issue 9): ≤ 0.5× the baseline's p50 and ≤ 15 ms p50 for a one-file change.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { result, round, type Sampled, summariseSamples, timed } from '../measure.js';
import type { Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const run = promisify(execFile);
const FILES = 10_000;
const PER_DIR = 100;
const GOAL_RATIO = 0.5;
const GOAL_P50_MS = 15;

function makeTree(root: string): string[] {
  const files: string[] = [];
  for (let d = 0; d < FILES / PER_DIR; d++) {
    mkdirSync(join(root, `pkg${d}`, 'src'), { recursive: true });
    for (let f = 0; f < PER_DIR; f++) {
      const rel = `pkg${d}/src/m${f}.ts`;
      writeFileSync(join(root, rel), `export const v${f} = ${d * PER_DIR + f};\n`);
      files.push(rel);
    }
  }
  return files;
}

/** Per-operation samples (ns) → p50/p99 and throughput. */

function figures(s: Sampled, base: Sampled): Record<string, number | boolean> {
  const ratio = round(s.p50_us / base.p50_us);
  return { p50_ms: round(s.p50_us / 1000), p99_ms: round(s.p99_us / 1000), time_ratio_p50: ratio, time_ratio_p99: round(s.p99_us / base.p99_us), meets_ratio_goal: ratio <= GOAL_RATIO, meets_p50_goal: s.p50_us / 1000 <= GOAL_P50_MS };
}

export const checkpointScenario: Scenario = {
  name: 'state.checkpoint',
  description: `one checkpoint (in-process git objects; one changed file named by the change set) in a ${FILES}-file workspace, vs git add -A && git commit of the same change; extra: the same change found by a full scan, and an unchanged workspace`,
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-cp-'));
    const ws = join(dir, 'ws');
    const plain = join(dir, 'plain');
    const files = makeTree(ws);
    makeTree(plain);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
    const g = (args: string[]): Promise<unknown> => run('git', args, { cwd: plain, env, maxBuffer: 64 * 1024 * 1024 });
    const store = await CheckpointStore.open(ws, { baseDir: join(dir, 'state') });
    try {
      await g(['init', '-q']);
      await g(['add', '-A']);
      await g(['commit', '-qm', 'init']);
      const first = await timed(() => store.take({ sessionId: 'bench', kind: 'start' }));
      const n = Math.max(30, Math.min(200, Math.floor(ctx.iterations / 2000)));
      let k = 0;
      const change = (root: string): string => {
        const rel = files[(k++ * 7919) % FILES]!;
        writeFileSync(join(root, rel), `export const changed = ${k};\n`);
        return rel;
      };
      const samples = { paths: [] as number[], scan: [] as number[], unchanged: [] as number[], base: [] as number[] };
      const modes = new Set<string>();
      const warmup = 5;
      for (let i = 0; i < n + warmup; i++) {
        const keep = i >= warmup;
        const rel = change(ws);
        const p = await timed(() => store.take({ sessionId: 'bench', kind: 'call', paths: [rel] }));
        modes.add(`paths:${store.lastTakeMode}`);
        change(ws);
        const s = await timed(() => store.take({ sessionId: 'bench', kind: 'call' }));
        modes.add(`scan:${store.lastTakeMode}`);
        const u = await timed(() => store.take({ sessionId: 'bench', kind: 'call' }));
        change(plain);
        const b = await timed(async () => {
          await g(['add', '-A']);
          await g(['commit', '-q', '--no-verify', '-m', 'x']);
        });
        if (keep) {
          samples.paths.push(p);
          samples.scan.push(s);
          samples.unchanged.push(u);
          samples.base.push(b);
        }
        if ((i & 7) === 0) ctx.tick(Math.max(1, Math.floor(ctx.iterations / n) * 8));
      }
      // The paths variant must really have taken the fast path (and the scan variant must have scanned).
      if (!modes.has('paths:paths') || modes.has('paths:scan') || !modes.has('scan:scan')) throw new Error(`state.checkpoint: unexpected take modes ${[...modes].join(', ')}`);
      const paths = summariseSamples(samples.paths);
      const scan = summariseSamples(samples.scan);
      const unchanged = summariseSamples(samples.unchanged);
      const base = summariseSamples(samples.base);
      return result('state.checkpoint', paths, 'git add -A && git commit (same tree, same change)', base, {
        files: FILES,
        samples: n,
        headline: 'paths: one changed file, change set known',
        ...figures(paths, base),
        baseline_p50_ms: round(base.p50_us / 1000),
        baseline_p99_ms: round(base.p99_us / 1000),
        full_scan: figures(scan, base),
        unchanged: figures(unchanged, base),
        first_full_hash_ms: round(first / 1e6),
        goal_time_ratio: GOAL_RATIO,
        goal_p50_ms: GOAL_P50_MS,
      });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** Lines under the bench table: each variant's p50/p99 and its time against the same-run baseline. */
export function checkpointNotes(s: ScenarioResult): string[] {
  if (s.name !== 'state.checkpoint' || !s.extra) return [];
  const x = s.extra as Record<string, unknown> & { full_scan?: Record<string, unknown>; unchanged?: Record<string, unknown> };
  const line = (label: string, v: Record<string, unknown> | undefined): string =>
    v ? `    ${label.padEnd(30)} p50 ${String(v.p50_ms).padStart(8)} ms  p99 ${String(v.p99_ms).padStart(8)} ms  ${String(v.time_ratio_p50)}× the baseline's time` : '';
  return [
    `  state.checkpoint (goals: ≤ ${String(x.goal_time_ratio)}× the baseline's time, p50 ≤ ${String(x.goal_p50_ms)} ms for one file; baseline p50 ${String(x.baseline_p50_ms)} ms, p99 ${String(x.baseline_p99_ms)} ms):`,
    line('one file, change set known', x),
    line('one file, full scan', x.full_scan),
    line('unchanged, full scan', x.unchanged),
  ].filter(Boolean);
}
