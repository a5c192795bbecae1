/**
 * shell: `ShellJail.run('true')` in a persistent bwrap jail against a bare node-pty spawn of
 * `bash -c true`, interleaved one by one in the same run (a loaded machine slows both alike). For the
 * record, the same command through a fresh bwrap sandbox per command (what the persistent jail saves).
 * Goal: ratio ≥ 0.83 (jailed latency ≤ 1.2× the bare spawn).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pty from 'node-pty';
import { ShellJail } from '../../sandbox/jail/index.js';
import { result, round, summariseSamples, timed } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

const COLS = 200;
const ROWS = 50;

function spawnToExit(file: string, args: string[], env: Record<string, string>, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = pty.spawn(file, args, { name: 'dumb', cols: COLS, rows: ROWS, cwd, env });
    p.onData(() => undefined);
    p.onExit(({ exitCode }) => (exitCode === 0 ? resolve() : reject(new Error(`${file} exited with ${exitCode}`))));
  });
}

export const shellScenario: Scenario = {
  name: 'shell',
  description:
    "ShellJail.run('true') in a persistent bwrap jail (one long-lived sandbox, a supervisor spawning each command in a pty) vs a bare node-pty spawn of bash -c true, interleaved; extra: a fresh bwrap per command",
  async run(ctx: ScenarioContext) {
    const n = Math.max(30, Math.min(400, Math.floor(ctx.iterations / 1000)));
    const fresh = Math.max(10, Math.floor(n / 4));
    const step = Math.max(1, Math.floor(ctx.iterations / (n + fresh)));
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-shell-'));
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    const t0 = process.hrtime.bigint();
    const jail = await ShellJail.start({ workspace: ws, network: false });
    const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', TERM: 'dumb' };
    const bare = () => spawnToExit('/bin/bash', ['-c', 'true'], env, ws);
    const jailed = async () => {
      const r = await jail.run('true', { cols: COLS, rows: ROWS });
      if (r.exitCode !== 0) throw new Error(`jailed true: ${JSON.stringify(r)}`);
    };
    const one = jail.oneShotCommand('true');
    const freshBwrap = () => spawnToExit(one.file, one.args, one.env, ws);
    try {
      for (let i = 0; i < 10; i++) {
        await bare();
        await jailed();
      }
      const b: number[] = [];
      const j: number[] = [];
      for (let i = 0; i < n; i++) {
        // Alternate which goes first so neither always runs right after the other.
        if (i % 2 === 0) {
          b.push(await timed(bare));
          j.push(await timed(jailed));
        } else {
          j.push(await timed(jailed));
          b.push(await timed(bare));
        }
        ctx.tick(step);
      }
      const f: number[] = [];
      const fb: number[] = [];
      for (let i = 0; i < fresh; i++) {
        f.push(await timed(freshBwrap));
        fb.push(await timed(bare));
        ctx.tick(step);
      }
      const icode = summariseSamples(j);
      const base = summariseSamples(b);
      const fr = summariseSamples(f);
      const frBase = summariseSamples(fb);
      return result('shell', icode, 'bare node-pty spawn of bash -c true', base, {
        goal_ratio: 0.83,
        iterations: n,
        latency_ratio_p50: round(icode.p50_us / base.p50_us),
        jail_start_ms: round(startMs, 1),
        fresh_bwrap_p50_us: fr.p50_us,
        fresh_bwrap_ops_per_s: fr.ops_per_s,
        fresh_bwrap_ratio: round(fr.ops_per_s / frBase.ops_per_s),
        fresh_bwrap_baseline_p50_us: frBase.p50_us,
        fresh_bwrap_iterations: fresh,
      });
    } finally {
      await jail.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
