/**
 * The fast entry for commands that must start like a hook: `icode --version` and `icode guard …`.
 * It builds a program with only the guard command (whose registration imports nothing heavy), so
 * neither pays for the SDKs, the TUI or the tool executors that the full command tree imports.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../policies/package-root.js';
import { register as registerGuard } from './commands/guard.js';

// Measured: in a short process, V8's background TurboFan tier-up of the tree-sitter-bash WASM stalls
// the event loop for seconds on a busy machine (3-4 s of "idle" in a CPU profile after the grammar
// loads, before the audit commit's setImmediate runs). A hook lives for one decision: baseline
// (Liftoff) code only. Set before any WASM is compiled.
v8.setFlagsFromString('--liftoff-only');

/** Does `argv` (process.argv) name a command this entry answers? */
export function isFastCommand(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  return (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) || (args[0] === 'guard' && !args.includes('--debug'));
}

export async function run(argv: string[]): Promise<void> {
  if (argv[2] === '--version' || argv[2] === '-V') {
    process.stdout.write(packageVersion() + '\n');
    return;
  }
  const program = new Command('icode').exitOverride().showHelpAfterError('(run with --help for usage)');
  registerGuard(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    // Errors of install/uninstall: the full fault reporter (one line, the documented code).
    const { reportFault } = await import('./fault.js');
    process.exitCode = reportFault(e);
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
