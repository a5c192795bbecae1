/** Runs scenarios with a progress bar, prints a table, writes the JSON report. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import cliProgress from 'cli-progress';
import { SCENARIOS } from './index.js';
import type { Scenario, ScenarioResult } from './types.js';

export interface BenchReport {
  date: string;
  node: string;
  cpus: number;
  scenarios: ScenarioResult[];
}

export function selectScenarios(names: string[]): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  return names.map((n) => {
    // `policy` selects policy.file and policy.shell.
    const found = SCENARIOS.filter((s) => s.name === n || s.name.startsWith(n + '.'));
    if (found.length === 0) throw new Error(`unknown scenario "${n}" (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
    return found;
  }).flat();
}

export async function runBench(scenarios: Scenario[], iterations: number, showProgress: boolean): Promise<BenchReport> {
  const results: ScenarioResult[] = [];
  const multi = showProgress ? new cliProgress.MultiBar({ stream: process.stderr, format: '{name} [{bar}] {percentage}%', clearOnComplete: true, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  for (const s of scenarios) {
    const bar = multi?.create(iterations, 0, { name: s.name.padEnd(14) });
    let done = 0;
    const r = await s.run({
      iterations,
      tick(n = 1) {
        done = Math.min(iterations, done + n);
        bar?.update(done);
      },
    });
    bar?.update(iterations);
    results.push(r);
  }
  multi?.stop();
  return { date: new Date().toISOString(), node: process.version, cpus: cpus().length, scenarios: results };
}

export function writeReport(report: BenchReport, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
