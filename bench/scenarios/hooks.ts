/**
 * hooks: one pre_tool hook call in a warm isolated-vm isolate (event serialised in, result validated
 * JSON out: the whole IsolateHook.invoke path) against the same function called in-process.
 * Goal: p50 ≤ 20 µs. Extra: the full HookRunner.run path (matching, validation, merge, outcome); the
 * refusal of a hook whose circuit is open (three timeouts in a row: answered without running, goal
 * p50 well under 50 ms); and secret_redactor's redaction of 500 KB of adversarial text (linear time).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallLog } from '../../sandbox/hooks/call-log.js';
import { IsolateHook } from '../../sandbox/hooks/isolate-runtime.js';
import { KvStore } from '../../sandbox/hooks/kv.js';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import type { HookEventInput } from '../../sandbox/hooks/types.js';
import { redactSecrets } from '../../policies/secrets/redact.js';
import { round, result, sampleAsync, sampleSync } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

interface BenchEvent {
  tool: string;
  input: { command?: unknown };
}

/** The hook under test: self-contained, so its source text can be loaded into the isolate as is. */
function noForcePush(event: BenchEvent): { decision?: 'deny'; reason?: string } {
  const cmd = typeof event.input.command === 'string' ? event.input.command : '';
  if (event.tool === 'shell' && /\bgit\s+push\b/.test(cmd) && /\s(-f|--force)\b/.test(cmd)) {
    return { decision: 'deny', reason: 'no force pushes' };
  }
  return {};
}

const EVENTS: HookEventInput<'pre_tool'>[] = [
  { session: 'bench', agent: 'main', tool: 'shell', input: { command: 'git status --short' } },
  { session: 'bench', agent: 'main', tool: 'shell', input: { command: 'git push --force origin main' } },
  { session: 'bench', agent: 'main', tool: 'read', input: { path: 'src/index.ts' } },
  { session: 'bench', agent: 'main', tool: 'shell', input: { command: 'npm test -- --run' } },
];
/** The events as the isolate receives them (the runner adds `point`). */
const EVENT_JSON = EVENTS.map((e) => JSON.stringify({ ...e, point: 'pre_tool' }));

export const hooksScenario: Scenario = {
  name: 'hooks',
  description: 'pre_tool hook call in a warm isolated-vm isolate vs the same function called in-process',
  async run(ctx: ScenarioContext) {
    const source = `export default ${noForcePush.toString()}`;
    const hook = IsolateHook.fromSource(source, { filename: 'bench-hook.js' });
    const host = { session: 'bench', kv: new KvStore(), log: new CallLog() };
    try {
      // Same answers on both sides, or the comparison means nothing.
      for (let k = 0; k < EVENTS.length; k++) {
        const inIsolate = JSON.stringify(hook.invoke('pre_tool', EVENT_JSON[k], host) ?? {});
        const inProcess = JSON.stringify(noForcePush(EVENTS[k]));
        if (inIsolate !== inProcess) throw new Error(`hooks: isolate says ${inIsolate}, in-process says ${inProcess}`);
      }
      const n = Math.max(1000, Math.floor(ctx.iterations / 2));
      // The event is serialised per call, as the runner does.
      const icode = sampleSync(n, (i) => void hook.invoke('pre_tool', JSON.stringify({ ...EVENTS[i & 3], point: 'pre_tool' }), host), () => ctx.tick(1024));
      const base = sampleSync(n, (i) => void noForcePush(EVENTS[i & 3]), () => ctx.tick(1024));

      const runnerFigure = await measureRunner(source, Math.max(500, Math.floor(n / 10)));
      const circuit = measureOpenCircuit(host, 200);
      // Adversarial input for the redactor's patterns (was a wall-clock assertion in a test).
      const big = 'a.'.repeat(200_000) + 'password=' + 'b'.repeat(100_000) + ' -----BEGIN PRIVATE KEY-----';
      const redact = sampleSync(5, () => void redactSecrets(big), undefined, 1);
      return result('hooks', icode, 'same function called in-process', base, {
        goal_p50_us: 20,
        runner_run_p50_us: runnerFigure.p50_us,
        runner_run_ops_per_s: runnerFigure.ops_per_s,
        isolate_builds: hook.builds,
        open_circuit_refusal_p50_us: circuit.p50_us,
        open_circuit_refusal_p99_us: circuit.p99_us,
        redact_adversarial_500kb_p50_ms: round(redact.p50_us / 1000),
      });
    } finally {
      hook.dispose();
    }
  },
};

/** A hook that timed out three times in a row is refused without running: how fast is the refusal? */
function measureOpenCircuit(host: { session: string; kv: KvStore; log: CallLog }, n: number): { p50_us: number; p99_us: number } {
  const hook = IsolateHook.fromSource('export default function () { for (;;) {} }', { filename: 'bench-spin.js', timeoutMs: 20 });
  const call = (): void => {
    try {
      hook.invoke('pre_tool', EVENT_JSON[0], host);
    } catch {
      // Every call fails: three timeouts, then "not run: failed 3 times in a row".
    }
  };
  try {
    for (let i = 0; i < 3; i++) call();
    const s = sampleSync(n, call, undefined, 10);
    return { p50_us: round(s.p50_us), p99_us: round(s.p99_us) };
  } finally {
    hook.dispose();
  }
}

/** HookRunner.run on a script file: the path the pipeline takes. */
async function measureRunner(source: string, n: number): Promise<{ p50_us: number; ops_per_s: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'icode-bench-hooks-'));
  writeFileSync(join(dir, 'hook.js'), source);
  const runner = await HookRunner.create({ pre_tool: [{ script: 'hook.js', match: { tool: 'shell' } }] }, { baseDir: dir });
  try {
    const s = await sampleAsync(n, (i) => runner.run('pre_tool', EVENTS[i & 3]));
    return { p50_us: round(s.p50_us), ops_per_s: s.ops_per_s };
  } finally {
    runner.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
