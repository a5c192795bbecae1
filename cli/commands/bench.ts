/** `icode bench [SCENARIO…]`: p50/p99, ops/s and a ratio against a baseline measured in the same run. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { BaselineMissingError } from '../../bench/baseline.js';
import { runBench, selectScenarios, writeReport } from '../../bench/harness.js';
import { SCENARIOS } from '../../bench/index.js';
import { packageRoot } from '../../policies/package-root.js';
import { printJson, printTable, UsageError } from '../output.js';
import { parsePositiveIntUpTo } from '../parse.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run benchmarks; each scenario reports p50/p99, ops/s, a baseline measured in the same run, and the ratio')
    .argument('[scenario...]', `scenarios (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .option('--iterations <n>', 'measured operations for the cheapest scenarios (others scale down)', (v) => parsePositiveIntUpTo(v, 10_000_000), 200_000)
    .option('--out <file>', 'where to write the JSON report', join(packageRoot(), 'bench/results/latest.json'))
    .option('--json', 'print the JSON report on stdout instead of a table')
    .action(async (names: string[], opts: { iterations: number; out: string; json?: boolean }) => {
      let scenarios;
      try {
        scenarios = selectScenarios(names);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      let report;
      try {
        report = await runBench(scenarios, opts.iterations, !opts.json && process.stderr.isTTY === true);
      } catch (e) {
        // A baseline package left out of the install: one clear line, exit 2.
        if (e instanceof BaselineMissingError) throw new UsageError(e.message);
        throw e;
      }
      writeReport(report, opts.out);
      if (opts.json) {
        printJson(report);
        return;
      }
      printTable(
        ['scenario', 'p50 µs', 'p99 µs', 'ops/s', 'baseline', 'baseline p50 µs', 'baseline ops/s', 'ratio'],
        report.scenarios.map((s) => [s.name, s.p50_us, s.p99_us, s.ops_per_s, s.baseline.name, s.baseline.p50_us, s.baseline.ops_per_s, `${s.ratio}×`]),
        40,
      );
      process.stdout.write(`ratio = icode ops/s ÷ baseline ops/s (above 1: icode is faster). JSON: ${opts.out}\n`);
    });
}
