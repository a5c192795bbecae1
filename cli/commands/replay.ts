/** `icode replay FILE.jsonl`: re-run recorded tool calls through the pipeline, one JSON result per line. */
import { accessSync, constants, createReadStream, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { createPipeline } from '../../engine/pipeline.js';
import { boundedLines, replayLines, type ReplayResult } from '../../engine/replay.js';
import { EXIT, UsageError, writeErr } from '../output.js';
import { parseAsk, parsePositiveIntUpTo } from '../parse.js';
import { startProgress } from '../progress.js';
import { timingsLine } from '../../engine/pipeline/timings-line.js';

interface ReplayOpts {
  workspace: string;
  policy: string;
  audit?: string;
  ask: 'deny' | 'allow';
  concurrency: number;
  session?: string;
  json?: boolean;
  timings?: boolean;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('Replay a JSONL of tool calls (or a Claude Code transcript) through the pipeline; prints one JSON result per call, in input order')
    .argument('<file>', 'JSONL file, or - for standard input')
    .option('--workspace <dir>', 'workspace root (default: the current directory)', '.')
    .requiredOption('--policy <file>', 'policy file or builtin:NAME')
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--ask <answer>', 'how to settle "ask" decisions without a person: deny or allow. allow answers asks only: a deny (rm -rf /, curl | sh, ~/.ssh, sudo…) stays a deny', parseAsk, 'deny')
    .option('--concurrency <n>', 'calls in flight at once (results stay in input order)', (v) => parsePositiveIntUpTo(v, 1024), 1)
    .option('--session <id>', 'session id for lines that carry none')
    .option('--json', 'JSON output (the default: one object per line)')
    .option('--timings', 'add each call\'s per-stage times (ms) to its JSON line, and a compact line per call on stderr')
    .addHelpText('after', '\nExit codes: 0 every call ok · 3 some call denied · 1 some call failed or a line was malformed · 2 bad arguments')
    .action(async (file: string, opts: ReplayOpts) => {
      const input = file === '-' ? process.stdin : openInput(file);
      // The bar's total costs a read of the file: only on a terminal.
      const total = file === '-' || !process.stderr.isTTY ? undefined : countLines(file);
      const pipeline = await createPipeline({ workspace: opts.workspace, policy: opts.policy, audit: opts.audit, ask: opts.ask, session: opts.session });
      const progress = startProgress('replay', total);
      const counts = { ok: 0, error: 0, denied: 0 };
      try {
        // Bounded lines: an over-long line is a recorded refusal, not a crash of the reader.
        const lines = boundedLines(input as AsyncIterable<Buffer>);
        await replayLines(lines, pipeline, opts.concurrency, (r: ReplayResult) => {
          counts[r.status]++;
          progress.tick(r.line);
          const { timings, ...plain } = r;
          if (opts.timings && timings) process.stderr.write(`timings #${r.index} ${r.tool}: ${timingsLine(timings, r.duration_ms)}\n`);
          process.stdout.write(JSON.stringify(opts.timings ? r : plain) + '\n');
        });
      } finally {
        progress.stop();
        await pipeline.close();
      }
      writeErr(`replayed ${counts.ok + counts.error + counts.denied} calls: ${counts.ok} ok, ${counts.denied} denied, ${counts.error} error (session ${pipeline.session})\n`);
      process.exitCode = counts.error ? EXIT.FAILED : counts.denied ? EXIT.DENIED : EXIT.OK;
    });
}

function openInput(file: string): NodeJS.ReadableStream {
  let st;
  try {
    accessSync(file, constants.R_OK);
    st = statSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  // A directory (EISDIR on the first read) or a device is a usage error, said before anything runs.
  if (st.isDirectory()) throw new UsageError(`cannot replay ${file}: it is a directory, not a JSONL file`);
  if (!st.isFile() && !st.isFIFO()) throw new UsageError(`cannot replay ${file}: not a regular file`);
  return createReadStream(file);
}

function countLines(file: string): number {
  const buf = readFileSync(file);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return buf.length && buf[buf.length - 1] !== 10 ? n + 1 : n;
}
