/**
 * state.checkpoint: the cost of one workspace checkpoint before a mutating call, on a workspace of
 * 10 000 files where one file changed, against a plain `git add -A && git commit` of the same change
 * in a same-sized ordinary repository, in the same run. Goals: ≤ 0.5× the baseline's time and
 * ≤ 15 ms p50. Also measured: the change-set variant (`take({paths})`, what a jail that reports its
 * change set gets) and an unchanged workspace.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { result, round, sampleAsync } from '../measure.js';
import type { Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const run = promisify(execFile);
const FILES = 10_000;
const PER_DIR = 100;

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

export const checkpointScenario: Scenario = {
  name: 'state.checkpoint',
  description: `one checkpoint (shadow git: stat-cache scan, update-index, write-tree) after a one-file change in a ${FILES}-file workspace, vs git add -A && git commit of the same change`,
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
      await store.take({ sessionId: 'bench', kind: 'start' });
      const n = Math.max(30, Math.min(200, Math.floor(ctx.iterations / 2000)));
      const change = (root: string, i: number): string => {
        const rel = files[(i * 7919) % FILES]!;
        writeFileSync(join(root, rel), `export const changed = ${i};\n`);
        return rel;
      };
      let k = 0;
      const icode = await sampleAsync(n, async () => {
        change(ws, k++);
        await store.take({ sessionId: 'bench', kind: 'call' });
      }, 1, () => ctx.tick(), 5);
      const withPaths = await sampleAsync(n, async () => {
        const rel = change(ws, k++);
        await store.take({ sessionId: 'bench', kind: 'call', paths: [rel] });
      }, 1, undefined, 5);
      const unchanged = await sampleAsync(n, () => store.take({ sessionId: 'bench', kind: 'call' }), 1, undefined, 5);
      let j = 0;
      const base = await sampleAsync(n, async () => {
        change(plain, j++);
        await g(['add', '-A']);
        await g(['commit', '-q', '--no-verify', '-m', 'x']);
      }, 1, () => ctx.tick(), 5);
      const timeRatio = round(icode.p50_us / base.p50_us);
      return result('state.checkpoint', icode, 'git add -A && git commit (same tree, same change)', base, {
        files: FILES,
        samples: n,
        p50_ms: round(icode.p50_us / 1000),
        p99_ms: round(icode.p99_us / 1000),
        baseline_p50_ms: round(base.p50_us / 1000),
        baseline_p99_ms: round(base.p99_us / 1000),
        time_ratio_p50: timeRatio,
        with_change_set: { p50_ms: round(withPaths.p50_us / 1000), p99_ms: round(withPaths.p99_us / 1000), time_ratio_p50: round(withPaths.p50_us / base.p50_us) },
        unchanged: { p50_ms: round(unchanged.p50_us / 1000), p99_ms: round(unchanged.p99_us / 1000) },
        goal_time_ratio: 0.5,
        goal_p50_ms: 15,
      });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
