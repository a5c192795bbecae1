/** `icode exec`: one tool call through the full pipeline. */
import type { Command } from 'commander';
import { createPipeline } from '../../engine/pipeline.js';
import { EXIT, parseJsonArg, printJson } from '../output.js';
import { parseAsk } from '../parse.js';

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
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('Run one tool call through the pipeline (validate → policy → audit → execute → audit)')
    .requiredOption('--tool <name>', 'tool name (read, write, edit, glob, grep, list, shell, or an alias such as Read)')
    .requiredOption('--input <json>', 'tool input as a JSON object')
    .requiredOption('--workspace <dir>', 'workspace root')
    .requiredOption('--policy <file>', 'policy file or builtin:NAME')
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--ask <answer>', 'how to settle "ask" decisions without a person: deny or allow. allow answers asks only: a deny (rm -rf /, curl | sh, ~/.ssh, sudo…) stays a deny', parseAsk, 'deny')
    .option('--agent <name>', 'agent name', 'main')
    .option('--session <id>', 'session id')
    .option('--json', 'print the result as JSON')
    .action(async (opts: ExecOpts) => {
      const input = parseJsonArg('--input', opts.input);
      const pipeline = await createPipeline({ workspace: opts.workspace, policy: opts.policy, audit: opts.audit, ask: opts.ask, session: opts.session });
      try {
        const r = await pipeline.call({ tool: opts.tool, input, agent: opts.agent });
        if (opts.json) printJson(r);
        else {
          if (r.status === 'ok') process.stdout.write(r.output?.endsWith('\n') || !r.output ? (r.output ?? '') : r.output + '\n');
          else process.stderr.write(`${r.status === 'denied' ? '' : 'error: '}${r.error ?? r.output}\n`);
        }
        process.exitCode = r.status === 'ok' ? EXIT.OK : r.status === 'denied' ? EXIT.DENIED : EXIT.FAILED;
      } finally {
        await pipeline.close();
      }
    });
}
