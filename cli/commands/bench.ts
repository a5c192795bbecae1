/** `icode bench [SCENARIO…]`: p50/p99, ops/s and a ratio against a baseline measured in the same run. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { BaselineMissingError } from '../../bench/baseline.js';
import { runBench, selectScenarios, writeReport } from '../../bench/harness.js';
import { SCENARIOS } from '../../bench/index.js';
import { packageRoot } from '../../policies/package-root.js';
import type { ScenarioResult } from '../../bench/types.js';
import { useColor } from '../../engine/agent/text-style.js';
import { printJson, renderTable, UsageError } from '../output.js';
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
      process.stdout.write(benchTable(report.scenarios, useColor(process.stdout)) + '\n');
      process.stdout.write(`JSON: ${opts.out}\n`);
    });
}

const num = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : n < 100 ? 1 : 0 });

/**
 * The bench table, narrow enough for a 100-column terminal (the baseline's full name and its p50 are
 * in the legend below and in the JSON), with the notes that explain how to read each row.
 */
export function benchTable(scenarios: readonly ScenarioResult[], color = false): string {
  const table = renderTable(
    ['scenario', 'p50 µs', 'p99 µs', 'ops/s', 'baseline ops/s', 'ratio'],
    scenarios.map((s) => [s.name, num(s.p50_us), num(s.p99_us), num(s.ops_per_s), num(s.baseline.ops_per_s), `${s.ratio}×`]),
    24,
    color,
  );
  const legend = scenarios.flatMap((s) => wrap(`  ${s.name}: baseline = ${s.baseline.name} (p50 ${num(s.baseline.p50_us)} µs)`, 100, '    '));
  const notes = [
    'ratio = icode ops/s ÷ baseline ops/s (above 1: icode is faster).',
    ...(scenarios.some((s) => s.name === 'audit')
      ? ['audit: p50/p99 are the wait for one group commit (a batch of up to 256 decisions in flight);',
         '  ops/s counts decisions committed per second. A batch commits many at once: ops/s is not 1 ÷ p50.']
      : []),
  ];
  return [table, ...legend, ...notes].join('\n');
}

/** Word-wrap a line to `width` columns, continuation lines indented. */
function wrap(line: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(/(?<=\S) (?=\S)/)) {
    if (cur && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = indent + word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  return out;
}
