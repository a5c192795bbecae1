/**
 * startup: whole processes, as a hook runs them. Interleaved in one run (so machine load hits all
 * alike), 20 of each: bare `node -e 0` (the baseline), `icode --version`, and `icode guard claude-code`
 * answering a PreToolUse Bash event (its decision row committed to a real audit log before it answers;
 * checked after the runs). Goals: --version ≤ 2× and guard ≤ 3× the bare Node start (p50).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../engine/audit/log.js';
import { packageRoot } from '../../policies/package-root.js';
import { result, round, type Sampled } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

const RUNS = 20;

function stats(samplesMs: number[]): Sampled {
  const s = [...samplesMs].sort((a, b) => a - b);
  const p = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50_us: round(p(0.5) * 1000, 0), p99_us: round(p(0.99) * 1000, 0), ops_per_s: round(1000 / p(0.5), 2) };
}

function timed(args: string[], input?: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`startup bench: ${args.slice(1).join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
  return ms;
}

export const startupScenario: Scenario = {
  name: 'startup',
  description: 'whole-process start: icode --version and icode guard claude-code (PreToolUse Bash) vs node -e 0',
  async run(ctx: ScenarioContext) {
    const bin = join(packageRoot(), 'bin', 'icode.js');
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-startup-'));
    const db = join(dir, 'audit.db');
    try {
      const node: number[] = [];
      const version: number[] = [];
      const guard: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        node.push(timed(['-e', '0']));
        version.push(timed([bin, '--version']));
        const event = JSON.stringify({ session_id: 'bench', transcript_path: join(dir, 't.jsonl'), cwd: dir, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'git status --short' }, tool_use_id: `toolu_${i}` });
        guard.push(timed([bin, 'guard', 'claude-code', '--audit', db, '--policy', 'builtin:workspace-write'], event));
        ctx.tick(Math.max(1, Math.floor(ctx.iterations / RUNS)));
      }
      const log = AuditLog.open(db, { readonly: true });
      const committed = log.list({ session: 'bench', kind: 'decision' }).length;
      log.close();
      const n = stats(node);
      const v = stats(version);
      const g = stats(guard);
      const slowdown = (x: Sampled): number => round(x.p50_us / n.p50_us, 2);
      const extra = {
        runs: RUNS,
        version: { ...v, slowdown: slowdown(v), goal: 2 },
        guard: { ...g, slowdown: slowdown(g), goal: 3, audit_rows_committed: committed },
        note: 'slowdown = p50 of the icode command ÷ p50 of node -e 0 in the same run',
      };
      process.stderr.write(`startup: node -e 0 p50 ${(n.p50_us / 1000).toFixed(0)} ms · icode --version ${slowdown(v)}× (goal ≤ 2×) · icode guard claude-code ${slowdown(g)}× (goal ≤ 3×), ${committed}/${RUNS} decision rows committed\n`);
      return result('startup', g, 'node -e 0', n, extra);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
