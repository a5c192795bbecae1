/**
 * `icode guard`: icode's policy and audit log as a hook of another agent (Claude Code, Gemini CLI).
 * Registering this command imports nothing heavy: the engine is loaded by the action that needs it,
 * so a hook pays only for what one event uses.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readStdin } from '../../engine/guard/client.js';

type Agent = 'claude-code' | 'gemini-cli';
const AGENTS: readonly Agent[] = ['claude-code', 'gemini-cli'];
const SETTINGS_DIR: Record<Agent, string> = { 'claude-code': '.claude', 'gemini-cli': '.gemini' };

interface EventOpts {
  policy?: string;
  audit?: string;
  otel?: boolean;
}
interface InstallOpts {
  project?: boolean;
  user?: boolean;
  settings?: string;
  policy?: string;
  command: string;
  json?: boolean;
}

export function register(program: Command): void {
  const guard = program
    .command('guard')
    .description('Guard another agent: its tool calls decided by an icode policy and recorded in the audit log (Claude Code, Gemini CLI hooks)');
  for (const agent of AGENTS) {
    guard
      .command(agent)
      .description(`Answer one ${agent} hook event read on stdin (installed by "icode guard install ${agent}")`)
      .option('--policy <file>', 'policy file or builtin:NAME (default: $ICODE_POLICY, <cwd>/.icode/policy.yaml, builtin:workspace-write)')
      .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
      .option('--otel', 'export the decision as an OpenTelemetry span (on by itself when OTEL_EXPORTER_OTLP_ENDPOINT is set)')
      .addHelpText('after', '\nAlways exits 0 with the answer as JSON on stdout (a pre-tool event icode cannot read or decide is denied).')
      .action(async (opts: EventOpts) => {
        let answer: { stdout: string; stderr: string; exitCode: number };
        try {
          answer = await answerEvent(agent, await readStdin(), opts);
        } catch (e) {
          // Any other exit code lets the agent go on; 2 blocks (a pre-tool event is refused), with why.
          answer = { stdout: '', stderr: `icode guard: ${(e as Error).message}; the call is blocked\n`, exitCode: 2 };
        }
        if (answer.stderr) process.stderr.write(answer.stderr);
        process.stdout.write(answer.stdout);
        process.exitCode = answer.exitCode;
      });
  }
  for (const verb of ['install', 'uninstall'] as const) {
    const cmd = guard
      .command(verb)
      .description(verb === 'install' ? "Add icode's guard hooks to an agent's settings.json (merged, idempotent)" : "Remove icode's guard hooks (exactly those) from an agent's settings.json")
      .argument('<agent>', AGENTS.join(' or '))
      .option('--project', 'the project settings: ./.claude/settings.json or ./.gemini/settings.json (default)')
      .option('--user', 'the user settings: ~/.claude/settings.json or ~/.gemini/settings.json')
      .option('--settings <file>', 'this settings file instead')
      .option('--json', 'print the result as JSON');
    if (verb === 'install') {
      cmd.option('--policy <file>', 'policy the hook uses (default: resolved per event)').option('--command <cmd>', 'how the hook starts icode', 'icode');
    }
    cmd.action(async (agentArg: string, opts: InstallOpts) => {
      const { UsageError, printJson } = await import('../output.js');
      if (!AGENTS.includes(agentArg as Agent)) throw new UsageError(`unknown agent "${agentArg}" (expected ${AGENTS.join(' or ')})`);
      if (opts.project && opts.user) throw new UsageError('--project and --user exclude each other');
      const agent = agentArg as Agent;
      const path = opts.settings ? resolve(opts.settings) : join(opts.user ? homedir() : process.cwd(), SETTINGS_DIR[agent], 'settings.json');
      const { installGuard, uninstallGuard, guardCommand, SettingsError } = await import('../../engine/guard/install.js');
      try {
        if (verb === 'install') {
          const policy = opts.policy && !opts.policy.startsWith('builtin:') ? resolve(opts.policy) : opts.policy;
          const r = installGuard(agent, path, guardCommand(agent, opts.command, policy));
          if (opts.json) printJson(r);
          else process.stdout.write(`icode guard: ${r.added} hook(s) for ${agent} in ${r.path}${r.replaced ? ` (replaced ${r.replaced} earlier)` : ''}\n`);
          for (const w of r.warnings) process.stderr.write(`icode guard: warning: ${w}\n`);
        } else {
          const r = uninstallGuard(agent, path);
          if (opts.json) printJson(r);
          else process.stdout.write(`icode guard: removed ${r.removed} hook(s) for ${agent} from ${r.path}\n`);
        }
      } catch (e) {
        if (e instanceof SettingsError) throw new UsageError(e.message);
        throw e;
      }
    });
  }
}

async function answerEvent(agent: Agent, text: string, opts: EventOpts): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const { answerGuardEvent } = await import('../../engine/guard/cold.js');
  return answerGuardEvent(agent, text, opts);
}
