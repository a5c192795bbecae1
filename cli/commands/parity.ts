/**
 * `icode parity [--tool T] [--json] [--seed N] [--runs N]`: every file tool and the shell held to its
 * reference implementation (cat -n, rg, bash, find, python3) through icode's real pipeline
 * (bench/parity, docs/parity.md). Exit 0 all passed, 1 a divergence, 2 a missing reference or bad input.
 */
import type { Command } from 'commander';
import { DEFAULT_SEED, runParity } from '../../bench/parity/run.js';
import { MissingReferenceError, PARITY_TOOLS, type ParityReport, type ParityTool } from '../../bench/parity/types.js';
import { EXIT, printJson, renderTable, UsageError } from '../output.js';
import { parseWholeNumber } from '../parse.js';
import { startProgress } from '../progress.js';
import { useColor } from '../../engine/agent/text-style.js';

function parseTool(v: string, prev: ParityTool[] = []): ParityTool[] {
  if (!(PARITY_TOOLS as readonly string[]).includes(v)) throw new UsageError(`unknown tool ${JSON.stringify(v)}; one of ${PARITY_TOOLS.join(', ')}`);
  return [...prev, v as ParityTool];
}

export function register(program: Command): void {
  program
    .command('parity')
    .description('Check the tools against their reference implementations (cat -n, rg, bash, find, python3) through the real pipeline')
    .option('--tool <name>', `only this tool (repeatable): ${PARITY_TOOLS.join(', ')}`, parseTool)
    .option('--seed <n>', `seed of the property-based part (default ${DEFAULT_SEED}, the one CI uses)`, (v) => parseWholeNumber(v, 0, 2 ** 31 - 1))
    .option('--runs <n>', 'random trees in the property-based part (default 100; 0 turns it off)', (v) => parseWholeNumber(v, 0, 100_000), 100)
    .option('--json', 'print the report as JSON')
    .action(async (opts: { tool?: ParityTool[]; seed?: number; runs: number; json?: boolean }) => {
      const progress = opts.json ? null : startProgress('parity', 1);
      let report: ParityReport;
      try {
        let bar: ReturnType<typeof startProgress> | null = null;
        report = await runParity({
          tools: opts.tool,
          seed: opts.seed ?? DEFAULT_SEED,
          propertyRuns: opts.runs,
          onProgress: (done, total) => {
            if (opts.json) return;
            if (!bar) {
              progress?.stop();
              bar = startProgress('parity', total);
            }
            bar.tick(done);
          },
        });
        (bar as ReturnType<typeof startProgress> | null)?.stop();
      } catch (e) {
        progress?.stop();
        if (e instanceof MissingReferenceError) throw new UsageError(e.message);
        throw e;
      }
      progress?.stop();
      if (opts.json) printJson(report);
      else process.stdout.write(renderReport(report, useColor(process.stdout)));
      process.exitCode = report.failed > 0 ? EXIT.FAILED : EXIT.OK;
    });
}

const MAX_SHOWN = 4000;
const clip = (s: string): string => (s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}\n[… ${s.length - MAX_SHOWN} more characters]` : s);

export function renderReport(r: ParityReport, color = false): string {
  const table = renderTable(
    ['tool', 'cases', 'passed', 'failed', 'icode ms', 'reference ms'],
    r.tools.map((t) => [t.tool, t.cases, t.passed, t.failed, Math.round(t.icodeMs), Math.round(t.referenceMs)]),
    24,
    color,
  );
  const parts = [table, `${r.passed}/${r.cases} cases passed (seed ${r.seed})`];
  for (const f of r.failures) {
    parts.push(
      `\n✗ ${f.tool}: ${f.name}\n  input: ${JSON.stringify(f.input)}\n--- reference\n${clip(f.expected)}\n--- icode\n${clip(f.actual)}\n--- diff\n${clip(f.diff)}`,
    );
  }
  return parts.join('\n') + '\n';
}
