/**
 * startup: whole processes, as a hook runs them. Interleaved in one run (so machine load hits all
 * alike), 20 of each: bare `node -e 0` (the baseline), `icode --version`, and exactly the command
 * `icode guard install claude-code --policy builtin:workspace-write` installs
 * (`icode guard claude-code --policy builtin:workspace-write`), answering a PreToolUse Bash event.
 * Its audit log and runtime directory are the bench's own (XDG_STATE_HOME, XDG_RUNTIME_DIR), so the
 * guard daemon it talks to is started by the bench's first (uncounted) call and stopped at the end.
 * Every decision row is checked to be committed. The cold path (ICODE_GUARD_DAEMON=0, no daemon) is
 * measured too, 5 runs, for information. Goals: --version ≤ 2× and guard ≤ 3× the bare Node start (p50).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../engine/audit/log.js';
import { packageRoot } from '../../policies/package-root.js';
import { result, round, type Sampled } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

const RUNS = 20;
const COLD_RUNS = 5;

function stats(samplesMs: number[]): Sampled {
  const s = [...samplesMs].sort((a, b) => a - b);
  const p = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50_us: round(p(0.5) * 1000, 0), p99_us: round(p(0.99) * 1000, 0), ops_per_s: round(1000 / p(0.5), 2) };
}

function timed(args: string[], input?: string, env?: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 || (input !== undefined && !r.stdout.includes('"permissionDecision":"allow"'))) {
    throw new Error(`startup bench: ${args.slice(1).join(' ')} exited ${r.status}: ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0]}`);
  }
  return ms;
}

/** Waits (bounded) for the daemon the first call started to listen. */
async function daemonListening(runtime: string): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(runtime) && readdirSync(runtime).some((f) => f.endsWith('.pid'))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function stopDaemons(runtime: string): void {
  if (!existsSync(runtime)) return;
  for (const f of readdirSync(runtime).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(runtime, f), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
}

export const startupScenario: Scenario = {
  name: 'startup',
  description: 'whole-process start: icode --version and the installed hook command icode guard claude-code (PreToolUse Bash) vs node -e 0',
  async run(ctx: ScenarioContext) {
    const bin = join(packageRoot(), 'bin', 'icode.js');
    const dir = mkdtempSync(join(tmpdir(), 'icode-bench-startup-'));
    const runtime = join(dir, 'run');
    const sockets = join(runtime, 'icode');
    mkdirSync(runtime, { mode: 0o700 });
    const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
    const coldEnv = { ...env, ICODE_GUARD_DAEMON: '0' };
    const hook = [bin, 'guard', 'claude-code', '--policy', 'builtin:workspace-write'];
    const event = (i: number): string =>
      JSON.stringify({ session_id: 'bench', transcript_path: join(dir, 't.jsonl'), cwd: dir, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'git status --short' }, tool_use_id: `toolu_${i}` });
    try {
      // The first call of a session: no daemon yet (cold path; it starts one for the next call).
      const first = timed(hook, event(-1), env);
      const daemon = await daemonListening(sockets);
      const node: number[] = [];
      const version: number[] = [];
      const guard: number[] = [];
      const cold: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        node.push(timed(['-e', '0']));
        version.push(timed([bin, '--version']));
        guard.push(timed(hook, event(i), env));
        if (i < COLD_RUNS) cold.push(timed(hook, event(1000 + i), coldEnv));
        ctx.tick(Math.max(1, Math.floor(ctx.iterations / RUNS)));
      }
      const log = AuditLog.open(join(dir, 'state', 'icode', 'audit.db'), { readonly: true });
      const committed = log.list({ session: 'bench', kind: 'decision' }).length;
      log.close();
      const n = stats(node);
      const v = stats(version);
      const g = stats(guard);
      const c = stats(cold);
      const slowdown = (x: Sampled): number => round(x.p50_us / n.p50_us, 2);
      const extra = {
        runs: RUNS,
        version: { ...v, slowdown: slowdown(v), goal: 2 },
        guard: { ...g, slowdown: slowdown(g), goal: 3, daemon, audit_rows_committed: committed, audit_rows_expected: 1 + RUNS + COLD_RUNS, first_call_ms: round(first, 0) },
        guard_cold: { ...c, runs: COLD_RUNS, slowdown: slowdown(c) },
        command: `icode ${hook.slice(1).join(' ')}`,
        note: 'slowdown = p50 of the icode command ÷ p50 of node -e 0 in the same run; guard = the installed hook command with its daemon running; guard_cold = ICODE_GUARD_DAEMON=0',
      };
      process.stderr.write(
        `startup: node -e 0 p50 ${(n.p50_us / 1000).toFixed(0)} ms · icode --version ${slowdown(v)}× (goal ≤ 2×) · icode guard claude-code ${slowdown(g)}× (goal ≤ 3×; daemon ${daemon ? 'up' : 'DOWN'}; cold path ${slowdown(c)}×, first call ${first.toFixed(0)} ms), ${committed}/${1 + RUNS + COLD_RUNS} decision rows committed\n`,
      );
      return result('startup', g, 'node -e 0', n, extra);
    } finally {
      stopDaemons(sockets);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
