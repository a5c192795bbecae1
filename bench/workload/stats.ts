/** Per-stage figures of a workload run: p50/p99 per stage and each stage's share of the total time. */
import type { StageTimings } from '../../engine/pipeline-types.js';

export const STAGES = ['validate', 'decide', 'commit', 'preHooks', 'execute', 'postHooks', 'outcome'] as const;
export type Stage = (typeof STAGES)[number];

/** One call as the benchmark measured it. */
export interface CallSample {
  tool: string;
  status: 'ok' | 'error' | 'denied';
  /** The policy's own decision (an `ask` settled by --ask allow is still `ask`). */
  decision: 'allow' | 'ask' | 'deny';
  /** Wall time around `pipeline.call`, ms. */
  wallMs: number;
  timings: StageTimings;
}

export interface StageFigure {
  p50_ms: number;
  p99_ms: number;
  /** This stage's time ÷ the total wall time of the calls, 0–1. */
  share: number;
}

export interface Breakdown {
  calls: number;
  p50_ms: number;
  p99_ms: number;
  total_ms: number;
  stages: Record<Stage, StageFigure>;
  /** Wall time no stage accounts for (the await around the call), ms in total: measurement error. */
  unaccounted_ms: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function stageSum(t: StageTimings): number {
  return STAGES.reduce((s, k) => s + t[k], 0);
}

export function breakdown(samples: readonly CallSample[]): Breakdown {
  const total = samples.reduce((s, c) => s + c.wallMs, 0);
  const stages = Object.fromEntries(
    STAGES.map((k) => {
      const v = samples.map((c) => c.timings[k]);
      const sum = v.reduce((a, b) => a + b, 0);
      return [k, { p50_ms: r3(percentile(v, 50)), p99_ms: r3(percentile(v, 99)), share: total > 0 ? r3(sum / total) : 0 }];
    }),
  ) as Record<Stage, StageFigure>;
  const wall = samples.map((c) => c.wallMs);
  return {
    calls: samples.length,
    p50_ms: r3(percentile(wall, 50)),
    p99_ms: r3(percentile(wall, 99)),
    total_ms: r3(total),
    stages,
    unaccounted_ms: r3(samples.reduce((s, c) => s + (c.wallMs - stageSum(c.timings)), 0)),
  };
}

/** The breakdown overall and per tool (tools by descending total time). */
export function breakdownByTool(samples: readonly CallSample[]): Record<string, Breakdown> {
  const groups = new Map<string, CallSample[]>();
  for (const s of samples) groups.set(s.tool, [...(groups.get(s.tool) ?? []), s]);
  return Object.fromEntries([...groups].map(([t, list]) => [t, breakdown(list)] as const).sort((a, b) => b[1].total_ms - a[1].total_ms));
}
