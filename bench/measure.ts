/** Latency sampling shared by the scenarios: per-operation timings, percentiles, throughput. */
import type { BaselineResult, ScenarioResult } from './types.js';

export interface Sampled {
  p50_us: number;
  p99_us: number;
  ops_per_s: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarise(samplesNs: Float64Array, totalNs: number, ops: number): Sampled {
  const sorted = samplesNs.slice().sort();
  return {
    p50_us: round(percentile(sorted, 50) / 1000),
    p99_us: round(percentile(sorted, 99) / 1000),
    ops_per_s: Math.round(ops / (totalNs / 1e9)),
  };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nanoseconds one async operation takes: for scenarios that interleave their own measured variants. */
export async function timed(op: () => Promise<unknown>): Promise<number> {
  const s = process.hrtime.bigint();
  await op();
  return Number(process.hrtime.bigint() - s);
}

/** p50/p99 of samples taken one by one (nanoseconds); throughput is their count over their sum. */
export function summariseSamples(ns: readonly number[]): Sampled {
  return summarise(Float64Array.from(ns), ns.reduce((a, b) => a + b, 0), ns.length);
}

/** Time a synchronous operation `n` times (after `warmup` untimed runs). */
export function sampleSync(n: number, op: (i: number) => void, onProgress?: () => void, warmup = Math.min(1000, n)): Sampled {
  for (let i = 0; i < warmup; i++) op(i);
  const samples = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    op(i);
    samples[i] = Number(process.hrtime.bigint() - s);
    if (onProgress && (i & 1023) === 0) onProgress();
  }
  return summarise(samples, Number(process.hrtime.bigint() - t0), n);
}

/**
 * Time an async operation `n` times with `concurrency` in flight: latency is per operation, throughput
 * is operations over the wall time of the whole run.
 */
export async function sampleAsync(n: number, op: (i: number) => Promise<unknown>, concurrency = 1, onProgress?: () => void, warmup = Math.min(200, n)): Promise<Sampled> {
  for (let i = 0; i < warmup; i++) await op(i);
  const samples = new Float64Array(n);
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const s = process.hrtime.bigint();
      await op(i);
      samples[i] = Number(process.hrtime.bigint() - s);
      if (onProgress && (i & 255) === 0) onProgress();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarise(samples, Number(process.hrtime.bigint() - t0), n);
}

/**
 * Runs `fn` and reports the process's CPU time meanwhile (user + system, every thread: the fs workers,
 * SQLite's checkpoint thread), in µs. On a shared 2-core machine it moves much less than wall time.
 */
export async function withCpu<T>(fn: () => Promise<T>): Promise<{ value: T; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, cpuUs: c.user + c.system };
}

export function result(name: string, icode: Sampled, baselineName: string, baseline: Sampled, extra?: Record<string, unknown>): ScenarioResult {
  const b: BaselineResult = { name: baselineName, p50_us: baseline.p50_us, ops_per_s: baseline.ops_per_s };
  return { name, ...icode, baseline: b, ratio: round(icode.ops_per_s / baseline.ops_per_s), ...(extra ? { extra } : {}) };
}
