/** `icode bench [SCENARIO…]`: p50/p99, ops/s and a ratio against a baseline measured in the same run. */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { renderHtml, renderText } from '../../bench/workload/render.js';
import { runWorkloadBench, WorkloadInputError } from '../../bench/workload/run.js';
import { BaselineMissingError } from '../../bench/baseline.js';
import { runBench, selectScenarios, writeReport } from '../../bench/harness.js';
import { SCENARIOS } from '../../bench/index.js';
import { checkpointNotes } from '../../bench/scenarios/checkpoints.js';
import { packageRoot } from '../../policies/package-root.js';
import type { ScenarioResult } from '../../bench/types.js';
import { useColor } from '../../engine/agent/text-style.js';
import { printJson, renderTable, UsageError } from '../output.js';
import { parseAsk, parsePositiveIntUpTo } from '../parse.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run benchmarks; each scenario reports p50/p99, ops/s, a baseline measured in the same run, and the ratio')
    .argument('[scenario...]', `scenarios (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .option('--iterations <n>', 'measured operations for the cheapest scenarios (others scale down)', (v) => parsePositiveIntUpTo(v, 10_000_000), 200_000)
    .option('--out <file>', 'where to write the JSON report', join(packageRoot(), 'bench/results/latest.json'))
    .option('--json', 'print the JSON report on stdout instead of a table')
    .option('--workload <file>', 'benchmark a recorded workload instead (a JSONL of tool calls or a Claude Code transcript, as `icode replay` reads)')
    .option('--workspace <dir>', 'with --workload: the workspace to copy into a temporary directory (never touched; default: the workload\'s generated one, else the current directory)')
    .option('--policy <file>', 'with --workload: policy file or builtin:NAME', 'builtin:workspace-write')
    .option('--ask <answer>', 'with --workload: how to settle "ask": deny or allow', parseAsk, 'deny')
    .option('--sessions <list>', 'with --workload: concurrent sessions at each point of the scaling curve, e.g. 1,2,4,8,16 (none: skip)', parseCounts, [1, 2, 4])
    .option('--files <list>', 'with --workload: generated workspace sizes for glob, grep and the shell change gate, e.g. 1k,10k,100k (none: skip)', parseCounts, [1000, 10_000])
    .option('--html <file>', 'with --workload: also write one self-contained HTML page with the charts')
    .addHelpText('after', '\nWith --workload: per-stage p50/p99 and shares, the hardening tax against the same calls run directly, the sessions and workspace-size curves (docs/benchmarks.md).')
    .action(async (names: string[], opts: BenchOpts) => {
      if (opts.workload !== undefined) return workloadBench(opts, names);
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

interface BenchOpts {
  iterations: number;
  out: string;
  json?: boolean;
  workload?: string;
  workspace?: string;
  policy: string;
  ask: 'deny' | 'allow';
  sessions: number[];
  files: number[];
  html?: string;
}

/** `1,2,4` or `1k,10k,100k`; `none` for an empty list. */
function parseCounts(v: string): number[] {
  if (v === 'none') return [];
  return v.split(',').map((part) => {
    const m = /^(\d{1,7})(k?)$/i.exec(part.trim());
    const n = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError(`expected a comma-separated list of counts (1 to 1000000, k = thousand), not ${JSON.stringify(v)}`);
    return n;
  });
}

async function workloadBench(opts: BenchOpts, names: string[]): Promise<void> {
  if (names.length) throw new UsageError('--workload runs the workload benchmark: give no scenario names with it');
  const file = opts.workload!;
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (opts.workspace !== undefined && !statSync(opts.workspace, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`workspace ${opts.workspace} is not a directory`);
  const showProgress = !opts.json && process.stderr.isTTY === true;
  let report;
  try {
    report = await runWorkloadBench({
      workload: file,
      workspace: opts.workspace,
      policy: opts.policy,
      ask: opts.ask,
      sessions: opts.sessions,
      files: opts.files,
      progress: showProgress ? (m) => process.stderr.write(`bench: ${m}…\n`) : undefined,
    });
  } catch (e) {
    if (e instanceof WorkloadInputError) throw new UsageError(e.message);
    throw e;
  }
  if (opts.html) writeFileSync(opts.html, renderHtml(report));
  if (opts.json) printJson(report);
  else process.stdout.write(renderText(report) + '\n' + (opts.html ? `HTML: ${opts.html}\n` : ''));
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
    ...scenarios.flatMap((s) => (s.notes ?? []).flatMap((n) => wrap(`${s.name}: ${n}`, 100, '  '))),
    ...scenarios.flatMap(checkpointNotes),
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
