/**
 * The `icode` command line: one commander program, one module per command.
 */
import { Command, CommanderError } from 'commander';
import { PolicyError } from '../policies/index.js';
import { InputError } from '../engine/errors.js';
import { EXIT } from './output.js';
import { register as registerAudit } from './commands/audit.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerExec } from './commands/exec.js';
import { register as registerHooks } from './commands/hooks.js';
import { register as registerMcp } from './commands/mcp.js';
import { register as registerPolicy } from './commands/policy.js';
import { register as registerReplay } from './commands/replay.js';
import { register as registerRun } from './commands/run.js';
import { register as registerSessions } from './commands/sessions.js';
import { register as registerShell } from './commands/shell.js';

export function buildProgram(): Command {
  const program = new Command('icode')
    .description('A hardened runtime for AI coding agents: every tool call decided by a policy, audited, and confined.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [registerRun, registerPolicy, registerExec, registerReplay, registerAudit, registerShell, registerHooks, registerSessions, registerBench, registerDemo, registerMcp]) {
    register(program);
  }
  program.addHelpText(
    'after',
    `
Run a prompt:   icode "fix the failing test"    (same as: icode run "…")
Exit codes:     0 ok · 1 a check failed · 2 bad input or policy · 3 denied · 4 internal error`,
  );
  return program;
}

/** `icode "prompt"` and `icode --resume ID` are shorthands for `icode run …`. */
function withDefaultCommand(program: Command, argv: string[]): string[] {
  const first = argv[2];
  // `icode` alone in a terminal opens the TUI (through `run` without a prompt); without one, help.
  if (first === undefined) return process.stdin.isTTY && process.stdout.isTTY ? [argv[0], argv[1], 'run'] : argv;
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  names.add('help');
  // Any option other than the program's own (--help, --version) belongs to `run`.
  const programFlag = ['-h', '--help', '-V', '--version'].includes(first);
  if (first.startsWith('-') ? !programFlag : !names.has(first)) return [argv[0], argv[1], 'run', ...argv.slice(2)];
  return argv;
}

export async function run(argv: string[]): Promise<void> {
  // `icode audit list | head`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(withDefaultCommand(program, argv));
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  }
}

/** The exit code for an error a command threw, after printing what the user needs to see. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; parse errors were already printed by commander.
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (e instanceof PolicyError) {
    process.stderr.write(`icode: invalid policy\n${e.message}\n`);
    return EXIT.USAGE;
  }
  if (e instanceof InputError) {
    process.stderr.write(`icode: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`icode: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.INTERNAL;
}
