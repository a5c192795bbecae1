/**
 * The `icode` command line: one commander program, one module per command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../policies/package-root.js';
import { EXIT, UsageError } from './output.js';
import { reportFault, setDebug } from './fault.js';
import { suggestCommand } from './suggest.js';
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
import { terminalSafe } from '../engine/terminal-safe.js';
import { register as registerGuard } from './commands/guard.js';
import { register as registerParity } from './commands/parity.js';

export function buildProgram(): Command {
  const program = new Command('icode')
    .description('A hardened runtime for AI coding agents: every tool call decided by a policy, audited, and confined.')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'print stack traces of internal errors (also ICODE_DEBUG=1)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [registerRun, registerPolicy, registerExec, registerReplay, registerAudit, registerShell, registerHooks, registerSessions, registerBench, registerDemo, registerGuard, registerMcp, registerParity]) {
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

/** The version in the package.json icode runs from (a clone, a global install or an unpacked tarball). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
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
  if (!first.startsWith('-') && !names.has(first)) {
    // A mistyped command is not a prompt: `icode sesions list` is an error with a suggestion.
    const near = suggestCommand(program, argv.slice(2));
    if (near) throw new UsageError(`unknown command "${first}"; did you mean "icode ${near}"? (to send it as a prompt: icode run "${argv.slice(2).join(' ')}")`);
  }
  if (first.startsWith('-') ? !programFlag : !names.has(first)) return [argv[0], argv[1], 'run', ...argv.slice(2)];
  return argv;
}

/** `--debug` may stand anywhere before `--`; it is the program's, not a command's. */
function takeDebug(argv: string[]): string[] {
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  if (!head.includes('--debug')) return argv;
  setDebug(true);
  return [...head.filter((a) => a !== '--debug'), ...(end === -1 ? [] : argv.slice(end))];
}

export async function run(argv: string[]): Promise<void> {
  // `icode audit list | head`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  try {
    argv = takeDebug(argv);
    // A workspace that vanished under the shell: say so before anything resolves a path against it.
    process.cwd();
    const program = buildProgram();
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
  return reportFault(e);
}
