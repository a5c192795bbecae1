/**
 * `icode bench --workload FILE`: a recorded workload through the full pipeline on a private copy of a
 * workspace (its own temporary audit log), beside the same calls run directly (direct.ts); then the
 * same workload in 1, 2, 4… concurrent sessions, and the size-dependent tools on generated trees.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from '../../engine/audit/log.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import type { ToolCall } from '../../engine/pipeline-types.js';
import { FsPool } from '../../sandbox/fs/pool.js';
import { runDirect } from './direct.js';
import { loadWorkload, type Workload } from './calls.js';
import { treeUsage, watchPeakRss } from './proc.js';
import { breakdown, breakdownByTool, percentile, r3, type Breakdown, type CallSample } from './stats.js';
import { copyWorkspace, generateRepo, tempTree, type TempTree } from './workspace.js';

export interface WorkloadOptions {
  workload: string;
  /** The workspace to copy (default: the workload's generated one if its header names one, else the current directory). */
  workspace?: string;
  policy: string;
  ask: 'deny' | 'allow';
  /** Concurrent sessions at each point of the scaling curve ([] to skip). */
  sessions: number[];
  /** Generated workspace sizes for the size curve ([] to skip). */
  files: number[];
  /** Calls per tool at each size point (default 5). */
  filesRepeat?: number;
  /** Keep the main run's audit log at this path instead of a temporary one (tests read it). */
  auditPath?: string;
  progress?: (message: string) => void;
}

export interface ToolTax {
  calls: number;
  icode_ms: number;
  direct_ms: number;
  /** (icode − direct) ÷ direct × 100. */
  tax_pct: number;
}

export interface SessionsPoint {
  sessions: number;
  calls: number;
  wall_s: number;
  calls_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Peak RSS of icode, its worker threads, jails and their processes. */
  peak_rss_mb: number;
  /** CPU time of that process tree per call. */
  cpu_ms_per_call: number;
}

export interface FilesPoint {
  files: number;
  /** p50 per tool through icode, and directly. */
  tools: Record<string, { icode_p50_ms: number; direct_p50_ms: number }>;
}

export interface WorkloadReport {
  kind: 'workload';
  date: string;
  node: string;
  cpus: number;
  /** Load average (1, 5, 15 min) at the start: the machine's other work. */
  loadavg: number[];
  workload: { file: string; calls: number; malformed: number; workspace: string; policy: string; ask: string };
  statuses: Record<'ok' | 'error' | 'denied', number>;
  overall: Breakdown;
  tools: Record<string, Breakdown>;
  /** `skipped`: calls not run directly (not allowed outright, or not ok through icode); not in the totals. */
  tax: { icode_ms: number; direct_ms: number; tax_pct: number; skipped: number; tools: Record<string, ToolTax> };
  audit: { session: string; decision_rows: number; outcome_rows: number };
  sessions: SessionsPoint[];
  /** Which parts the sessions share. */
  shared: string;
  files: FilesPoint[];
  /** Every call of the main run, in workload order: its wall time and the pipeline's stage timings. */
  calls: { tool: string; status: string; decision: string; wall_ms: number; direct_ms: number | null; timings: CallSample['timings'] }[];
}

/** Bad input to the benchmark (no calls, a policy that does not load): exit 2 in the CLI. */
export class WorkloadInputError extends Error {}

/**
 * One fs call and one shell call before timing, in a session of their own (so the run's session holds
 * exactly the workload's rows): the pool's threads, the audit log's first commit and the jail start
 * once per process or session, not per call.
 */
const WARM_UP: readonly ToolCall[] = [
  { tool: 'list', input: {} },
  { tool: 'shell', input: { command: 'true' } },
];

async function warmUp(p: Pipeline): Promise<void> {
  for (const c of WARM_UP) await p.call({ ...c, session: `${p.session}-warm-up` });
}

/** Calls lose a recorded session: each pipeline here is one session. */
const own = (calls: readonly ToolCall[]): ToolCall[] => calls.map(({ session: _s, ...c }) => c);

async function timedRun(pipeline: Pipeline, calls: readonly ToolCall[], into: CallSample[]): Promise<void> {
  for (const call of calls) {
    const t0 = performance.now();
    const r = await pipeline.call(call);
    const wallMs = performance.now() - t0;
    into.push({ tool: r.tool, status: r.status, decision: r.decision, wallMs, timings: r.timings ?? { validate: 0, decide: 0, commit: 0, preHooks: 0, execute: 0, postHooks: 0, outcome: 0 } });
  }
}

function countRows(path: string, session: string): { decision_rows: number; outcome_rows: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const n = (kind: string): number => (db.prepare('SELECT count(*) FROM audit WHERE kind = ? AND session = ?').pluck().get(kind, session) as number);
    return { decision_rows: n('decision'), outcome_rows: n('outcome') };
  } finally {
    db.close();
  }
}

export async function runWorkloadBench(opts: WorkloadOptions): Promise<WorkloadReport> {
  const say = opts.progress ?? (() => {});
  const wl: Workload = loadWorkload(opts.workload);
  if (wl.calls.length === 0) throw new WorkloadInputError(`${opts.workload}: no tool calls in it`);
  const calls = own(wl.calls);
  const tmp = tempTree('icode-bench-workload-');
  try {
    // The source tree: the user's (only ever read, to copy it) or the one the workload's header describes.
    let source: string;
    let described: string;
    if (opts.workspace !== undefined || wl.header === null) {
      source = resolve(opts.workspace ?? '.');
      described = source;
    } else {
      source = generateRepo(join(tmp.root, 'source'), wl.header.files, { git: wl.header.git });
      described = `generated (${wl.header.files} files${wl.header.git ? ', git' : ''})`;
    }
    let copies = 0;
    const fresh = (): string => copyWorkspace(source, join(tmp.root, `copy-${copies++}`));
    const loads = loadavg().map((x) => r3(x));

    // 1. The workload through icode.
    say('workload through icode');
    const auditPath = opts.auditPath ?? join(tmp.root, 'audit.db');
    const pipeline = await createPipeline({ workspace: fresh(), policy: opts.policy, audit: auditPath, ask: opts.ask });
    const samples: CallSample[] = [];
    try {
      // Every call would be a recorded deny: nothing to measure.
      if (pipeline.policy === null) throw new WorkloadInputError(`policy ${opts.policy} does not load`);
      await warmUp(pipeline);
      await timedRun(pipeline, calls, samples);
    } finally {
      await pipeline.close();
    }
    const audit = { session: pipeline.session, ...countRows(auditPath, pipeline.session) };

    // 2. The same calls, directly, on a fresh copy.
    say('workload run directly');
    const directRoot = fresh();
    mkdirSync(join(tmp.root, 'direct-home')); // HOME and TMPDIR of the direct shell commands
    await runDirect(WARM_UP[1]!, directRoot);
    // Only what icode's policy allowed outright and what ran fine in its jail runs here, with no jail:
    // a denied or failed call (an escape attempt, a command that needed the network) is skipped.
    const direct: ({ tool: string; ms: number } | null)[] = [];
    for (const [i, call] of calls.entries()) {
      if (samples[i]!.decision !== 'allow' || samples[i]!.status !== 'ok') {
        direct.push(null);
        continue;
      }
      const t0 = performance.now();
      const d = await runDirect(call, directRoot);
      direct.push({ tool: d.tool, ms: performance.now() - t0 });
    }
    const tax = hardeningTax(samples, direct);

    // 3. Concurrent sessions.
    const sessions: SessionsPoint[] = [];
    for (const n of opts.sessions) {
      say(`${n} concurrent session(s)`);
      sessions.push(await sessionsPoint(n, calls, fresh, opts, join(tmp.root, `sessions-${n}.db`)));
    }

    // 4. Workspace size.
    const files: FilesPoint[] = [];
    for (const n of opts.files) {
      say(`workspace of ${n} files`);
      files.push(await filesPoint(n, opts, tmp));
    }

    const statuses = { ok: 0, error: 0, denied: 0 };
    for (const s of samples) statuses[s.status]++;
    return {
      kind: 'workload',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavg: loads,
      workload: { file: opts.workload, calls: calls.length, malformed: wl.malformed, workspace: described, policy: opts.policy, ask: opts.ask },
      statuses,
      overall: breakdown(samples),
      tools: breakdownByTool(samples),
      tax,
      audit,
      sessions,
      shared: 'one fs worker pool and one audit database file; each session has its own pipeline, policy instance, shell jail, audit session id and workspace copy',
      files,
      calls: samples.map((c, i) => ({ tool: c.tool, status: c.status, decision: c.decision, wall_ms: r3(c.wallMs), direct_ms: direct[i] ? r3(direct[i]!.ms) : null, timings: roundTimings(c.timings) })),
    };
  } finally {
    tmp.cleanup();
  }
}

function roundTimings(t: CallSample['timings']): CallSample['timings'] {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v])) as CallSample['timings'];
}

/** Over the calls that ran both ways (allowed and ok through icode, then run directly). */
function hardeningTax(samples: readonly CallSample[], direct: readonly ({ tool: string; ms: number } | null)[]): WorkloadReport['tax'] {
  const tools: Record<string, ToolTax> = {};
  let icodeMs = 0;
  let directMs = 0;
  let skipped = 0;
  samples.forEach((s, i) => {
    const d = direct[i];
    if (!d) return void skipped++;
    const t = (tools[s.tool] ??= { calls: 0, icode_ms: 0, direct_ms: 0, tax_pct: 0 });
    t.calls++;
    t.icode_ms += s.wallMs;
    t.direct_ms += d.ms;
    icodeMs += s.wallMs;
    directMs += d.ms;
  });
  const pct = (a: number, b: number): number => (b > 0 ? Math.round(((a - b) / b) * 1000) / 10 : 0);
  for (const t of Object.values(tools)) {
    t.tax_pct = pct(t.icode_ms, t.direct_ms);
    t.icode_ms = r3(t.icode_ms);
    t.direct_ms = r3(t.direct_ms);
  }
  return { icode_ms: r3(icodeMs), direct_ms: r3(directMs), tax_pct: pct(icodeMs, directMs), skipped, tools };
}

async function sessionsPoint(n: number, calls: readonly ToolCall[], fresh: () => string, opts: WorkloadOptions, auditPath: string): Promise<SessionsPoint> {
  const pool = new FsPool();
  const audit = AuditLog.open(auditPath);
  const pipelines: Pipeline[] = [];
  try {
    for (let i = 0; i < n; i++) pipelines.push(await createPipeline({ workspace: fresh(), policy: opts.policy, audit, ask: opts.ask, fsPool: pool }));
    for (const p of pipelines) await warmUp(p);
    const before = treeUsage();
    const peak = watchPeakRss();
    const samples: CallSample[][] = pipelines.map(() => []);
    const t0 = performance.now();
    await Promise.all(pipelines.map((p, i) => timedRun(p, calls, samples[i]!)));
    const wallMs = performance.now() - t0;
    const after = treeUsage(); // before the jails close: their CPU is still theirs
    const peakRss = peak.stop();
    const wall = samples.flat().map((s) => s.wallMs);
    return {
      sessions: n,
      calls: wall.length,
      wall_s: r3(wallMs / 1000),
      calls_per_s: Math.round((wall.length / wallMs) * 1000 * 10) / 10,
      p50_ms: r3(percentile(wall, 50)),
      p99_ms: r3(percentile(wall, 99)),
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      cpu_ms_per_call: r3(((after.cpuSeconds - before.cpuSeconds) * 1000) / wall.length),
    };
  } finally {
    await Promise.allSettled(pipelines.map((p) => p.close()));
    audit.close();
    await pool.close();
  }
}

/** The tools whose cost grows with the tree: glob and grep walk it, the shell's change gate scans it. */
const SIZE_CALLS: readonly ToolCall[] = [
  { tool: 'glob', input: { pattern: '**/*.ts' } },
  { tool: 'grep', input: { pattern: 'TODO', output_mode: 'files_with_matches' } },
  { tool: 'shell', input: { command: 'true' } },
];

async function filesPoint(n: number, opts: WorkloadOptions, tmp: TempTree): Promise<FilesPoint> {
  const root = generateRepo(join(tmp.root, `files-${n}`), n);
  const repeat = Math.max(1, opts.filesRepeat ?? 5);
  const pipeline = await createPipeline({ workspace: root, policy: opts.policy, audit: join(tmp.root, `files-${n}.db`), ask: opts.ask });
  const tools: FilesPoint['tools'] = {};
  try {
    for (const call of SIZE_CALLS) {
      const mine: CallSample[] = [];
      const theirs: number[] = [];
      await timedRun(pipeline, [call], []); // warm-up: the first shell call starts the jail
      for (let i = 0; i < repeat; i++) {
        await timedRun(pipeline, [call], mine);
        const t0 = performance.now();
        await runDirect(call, root);
        theirs.push(performance.now() - t0);
      }
      tools[call.tool] = { icode_p50_ms: r3(percentile(mine.map((s) => s.wallMs), 50)), direct_p50_ms: r3(percentile(theirs, 50)) };
    }
  } finally {
    await pipeline.close();
  }
  return { files: n, tools };
}
