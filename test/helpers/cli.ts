/** Runs the real `icode` binary (bin/icode.js → dist/) as a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../policies/package-root.js';

export interface CliResult {
  code: number | null;
  /** The signal that ended the process, when one did (code is then null). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function icode(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'bin/icode.js'), ...args], {
    cwd: opts.cwd,
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  // A signal is never an expected outcome: say which, with the stderr, so a CI log can be diagnosed.
  if (r.signal) console.error(`icode ${args.join(' ')}: killed by ${r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stderr}`);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
