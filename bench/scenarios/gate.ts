/**
 * gate: the change gate's cost per command (issue 17). A workspace of 10 000 files (100 folders × 100
 * files); the same commands in a gated jail (overlay + freeze + change gate) and in a jail without the
 * gate (the workspace bound read-write, `benchmarkWithoutGate`), interleaved one by one in the same run:
 * `true` (changes nothing: freeze, read an empty upper layer, thaw) and `echo $i > f.txt` (one change:
 * applied, and a fresh layer mounted). Ratio = ungated ops/s ÷ … as everywhere: icode ops/s ÷ baseline.
 * Also the masks of paths denied at any depth (`**\/.env`, `**\/*.pem`; masks.ts): the walk at start, the
 * per-command check of what changed (a stat per folder), and `true` in a gated jail with those masks.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellJail } from '../../sandbox/jail/index.js';
import { MaskIndex } from '../../sandbox/jail/masks.js';
import { result, round, summariseSamples, timed } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

export const gateScenario: Scenario = {
  name: 'gate',
  description: "the change gate's cost per command on a 10 000-file workspace: ShellJail.run in a gated jail vs the same jail without the gate, interleaved; `true` (headline) and a one-file write (extra)",
  async run(ctx: ScenarioContext) {
    const n = Math.max(20, Math.min(200, Math.floor(ctx.iterations / 2000)));
    const step = Math.max(1, Math.floor(ctx.iterations / (2 * n)));
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-gate-'));
    const ws = join(dir, 'ws');
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(ws, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(ws, `d${d}`, `f${f}.txt`), `${d}/${f}\n`);
    }
    for (let d = 0; d < 100; d += 10) writeFileSync(join(ws, `d${d}`, '.env'), 'SECRET=1\n');
    const globs = ['**/.env', '**/*.pem'];
    const t0 = process.hrtime.bigint();
    const idx = new MaskIndex(ws, globs);
    const maskScanUs = Number(process.hrtime.bigint() - t0) / 1000;
    const upd: number[] = [];
    for (let i = 0; i < 50; i++) upd.push(await timed(async () => idx.update()));
    const maskUpdate = summariseSamples(upd);
    const masked = await ShellJail.start({ workspace: ws, network: false, maskedGlobs: globs });
    const gated = await ShellJail.start({ workspace: ws, network: false });
    const plain = await ShellJail.start({ workspace: ws, network: false, benchmarkWithoutGate: true });
    const run = (j: ShellJail, c: string) => async () => {
      const r = await j.run(c);
      if (r.exitCode !== 0) throw new Error(`${c}: ${r.output}`);
    };
    try {
      for (let i = 0; i < 5; i++) {
        await run(masked, 'true')();
        await run(gated, 'true')();
        await run(plain, 'true')();
      }
      const g: number[] = [];
      const p: number[] = [];
      const m: number[] = [];
      const gw: number[] = [];
      const pw: number[] = [];
      for (let i = 0; i < n; i++) {
        const pair = async (a: () => Promise<void>, b: () => Promise<void>, ra: number[], rb: number[]) => {
          if (i % 2 === 0) {
            ra.push(await timed(a));
            rb.push(await timed(b));
          } else {
            rb.push(await timed(b));
            ra.push(await timed(a));
          }
        };
        await pair(run(gated, 'true'), run(plain, 'true'), g, p);
        m.push(await timed(run(masked, 'true')));
        await pair(run(gated, `echo ${i} > d0/f0.txt`), run(plain, `echo ${i} > d1/f0.txt`), gw, pw);
        ctx.tick(step * 2);
      }
      const icode = summariseSamples(g);
      const base = summariseSamples(p);
      const w = summariseSamples(gw);
      const wb = summariseSamples(pw);
      return result('gate', icode, 'the same jail without the change gate (workspace bound read-write), `true`', base, {
        workspace_files: 10_000,
        iterations: n,
        gate_cost_p50_us: round(icode.p50_us - base.p50_us),
        write_p50_us: w.p50_us,
        write_p99_us: w.p99_us,
        write_baseline_p50_us: wb.p50_us,
        write_baseline_p99_us: wb.p99_us,
        write_ratio: round(w.ops_per_s / wb.ops_per_s),
        write_gate_cost_p50_us: round(w.p50_us - wb.p50_us),
        masked_globs: globs.join(' '),
        masked_paths: idx.list().length,
        mask_scan_us: round(maskScanUs),
        mask_update_p50_us: maskUpdate.p50_us,
        mask_update_p99_us: maskUpdate.p99_us,
        masked_true_p50_us: summariseSamples(m).p50_us,
        masked_true_p99_us: summariseSamples(m).p99_us,
      });
    } finally {
      await masked.close();
      await gated.close();
      await plain.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
