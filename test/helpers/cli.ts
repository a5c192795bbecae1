/** Runs `icode`: the real binary (bin/icode.js → dist/) as a child process, or its command tree in process. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { vi } from 'vitest';
import { buildProgram, exitCodeFor } from '../../cli/main.js';
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

/**
 * `icode ARGS` as a child process without blocking this one: for tests whose loopback servers (an OTLP
 * receiver, a fake daemon) must keep answering while the command runs.
 */
export function icodeAsync(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Omit<CliResult, 'signal'>> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(packageRoot(), 'bin/icode.js'), ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}

export interface InProcessResult {
  /** The exit code the CLI would end with. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `icode ARGS` in this process, through the real command tree (buildProgram), with stdout and stderr
 * captured: for tests that need spies or in-process state. Commander's own exits (--help, a bad
 * option) give the code cli/main.ts gives them; what a command throws propagates.
 * process.exitCode is restored afterwards.
 */
export async function icodeInProcess(args: string[]): Promise<InProcessResult> {
  const program = buildProgram();
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'icode', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: exitCodeFor(error), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
}
