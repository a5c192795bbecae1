/** `icode exec`: one tool call through the full pipeline. */
import type { Command } from 'commander';
import { createPipeline } from '../../engine/pipeline.js';
import { loadPolicy } from '../../policies/index.js';
import { EXIT, parseJsonArg, printJson, writeErr, writeOut } from '../output.js';
import { parseAsk } from '../parse.js';
import { timingsLine } from '../../engine/pipeline/timings-line.js';

interface ExecOpts {
  tool: string;
  input: string;
  workspace: string;
  policy: string;
  audit?: string;
  ask: 'deny' | 'allow';
  agent: string;
  session?: string;
  json?: boolean;
  otel?: boolean;
  timings?: boolean;
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('Run one tool call through the pipeline (validate → policy → audit → execute → audit)')
    .requiredOption('--tool <name>', 'tool name (read, write, edit, glob, grep, list, shell, or an alias such as Read)')
    .requiredOption('--input <json>', 'tool input as a JSON object')
    .option('--workspace <dir>', 'workspace root (default: the current directory)', '.')
    .requiredOption('--policy <file>', 'policy file or builtin:NAME')
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--ask <answer>', 'how to settle "ask" decisions without a person: deny or allow. allow answers asks only: a deny (rm -rf /, curl | sh, ~/.ssh, sudo…) stays a deny', parseAsk, 'deny')
    .option('--agent <name>', 'agent name', 'main')
    .option('--session <id>', 'session id')
    .option('--json', 'print the result as JSON')
    .option('--otel', 'export the decision as an OpenTelemetry span (on by itself when OTEL_EXPORTER_OTLP_ENDPOINT is set)')
    .option('--timings', 'print the time spent in each pipeline stage on stderr (always in --json)')
    .addHelpText('after', '\nExit codes: 0 ok · 1 the tool failed · 2 bad input (schema) or a policy that does not load · 3 denied by the policy')
    .action(async (opts: ExecOpts) => {
      const input = parseJsonArg('--input', opts.input);
      // The policy and its hooks load first: a bad one is a usage error (exit 2), not a run that denies everything.
      const policy = await loadPolicy(opts.policy);
      const pipeline = await createPipeline({ workspace: opts.workspace, policy, audit: opts.audit, ask: opts.ask, session: opts.session, hooksMustLoad: true });
      try {
        const r = await pipeline.call({ tool: opts.tool, input, agent: opts.agent });
        const { otelEnabled } = await import('../../engine/telemetry/otel.js');
        if (otelEnabled(opts.otel)) {
          // Loaded only when telemetry is on; a failed export is counted and said, never the call's failure.
          // The call's rows (decision, hook actions, outcome) as spans and log records.
          const { exportCall } = await import('../../engine/telemetry/otel.js');
          await exportCall(pipeline.audit, pipeline.session, r.callId, r.auditId);
        }
        if (opts.timings && r.timings) process.stderr.write(`timings: ${timingsLine(r.timings, r.durationMs)}\n`);
        if (opts.json) printJson(r);
        else {
          if (r.status === 'ok') writeOut(r.output?.endsWith('\n') || !r.output ? (r.output ?? '') : r.output + '\n');
          else if (r.refusal) writeErr(`icode: ${r.reason} (recorded as a deny)\n`);
          else writeErr(`${r.status === 'denied' ? '' : 'error: '}${r.error ?? r.output}\n`);
        }
        // Only a policy decision is "denied" (3); a schema failure or an unloadable policy is bad input (2).
        process.exitCode = r.status === 'ok' ? EXIT.OK : r.refusal ? EXIT.USAGE : r.status === 'denied' ? EXIT.DENIED : EXIT.FAILED;
      } finally {
        await pipeline.close();
      }
    });
}
