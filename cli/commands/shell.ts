/**
 * `icode shell --workspace DIR [--network] [--mode bwrap|none]`: an interactive shell in the same jail
 * an agent's commands run in (bubblewrap, node-pty, confined to the workspace), so a person sees exactly
 * what the agent sees. With `-c CMD`, runs one command through ShellJail.run and prints its result.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { JailError, probeJail, ShellJail, type JailMode, type ShellResult } from '../../sandbox/jail/index.js';
import { loadPolicy } from '../../policies/index.js';
import { sessionControls } from '../../engine/executors/controls.js';
import { gateOptionsFor, jailOptionsFor } from '../../engine/executors/jail-options.js';
import { EXIT, printJson, UsageError } from '../output.js';

interface ShellOpts {
  workspace: string;
  policy?: string;
  network?: boolean;
  mode?: string;
  command?: string;
  timeout?: number;
  json?: boolean;
}

function parseMode(v: string): JailMode {
  if (v !== 'bwrap' && v !== 'none') throw new UsageError(`--mode must be bwrap or none (got ${v})`);
  return v;
}

function parseTimeout(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--timeout must be a positive number of milliseconds (got ${v})`);
  return n;
}

export function register(program: Command): void {
  program
    .command('shell')
    .description("A shell in the jail an agent's commands run in (bubblewrap + pty, confined to the workspace)")
    .option('--workspace <dir>', 'workspace root: the only host path the jail can write (default: the current directory)', '.')
    .option('--policy <file>', "take the jail's settings (network, jail mode, env, protected paths) from this policy")
    .option('--network', 'allow network access (default: the policy\'s setting, else a new, empty network namespace)')
    .option('--mode <mode>', 'bwrap, or none (explicit weaker mode: no namespaces); default: the policy\'s setting, else bwrap')
    .option('-c, --command <cmd>', 'run one command and print its result instead of an interactive shell')
    .option('--timeout <ms>', 'with -c: wall-clock limit in ms (default 120000)', parseTimeout)
    .option('--json', 'with -c: print the result (exitCode, signal, output, truncated, timedOut, durationMs) as JSON')
    .action(async (opts: ShellOpts) => {
      const policy = opts.policy ? await loadPolicy(opts.policy) : null;
      const settings = policy?.settings;
      const ws = resolve(opts.workspace);
      // The change gate's inputs: read-only when the policy denies writes, denied paths masked, controls kept.
      const base = { ...jailOptionsFor(ws, settings), ...gateOptionsFor(ws, policy, sessionControls(ws, policy, null, policy && !policy.source.startsWith('builtin:') ? dirname(resolve(policy.source)) : null)) };
      const mode = opts.mode !== undefined ? parseMode(opts.mode) : (base.mode ?? 'bwrap');
      const network = opts.network === true || base.network;
      opts.network = network;
      if (mode === 'bwrap') {
        const p = probeJail();
        if (!p.ok) {
          process.stderr.write(`icode shell: cannot start the jail: ${p.reason}; fix: ${p.fix}\n`);
          process.exitCode = EXIT.INTERNAL;
          return;
        }
      }
      if (opts.command === undefined && (!process.stdin.isTTY || !process.stdout.isTTY)) {
        throw new UsageError('icode shell: the interactive shell needs a terminal; use -c "COMMAND" to run one command');
      }
      let jail: ShellJail;
      try {
        jail = await ShellJail.start({ ...base, network, mode });
      } catch (e) {
        if (e instanceof JailError) throw new UsageError(`icode shell: ${e.message}`);
        throw e;
      }
      try {
        if (opts.command !== undefined) await runOne(jail, opts.command, opts);
        else await interactive(jail, opts);
      } finally {
        await jail.close();
      }
    });
}

async function runOne(jail: ShellJail, command: string, opts: ShellOpts): Promise<void> {
  const r: ShellResult = await jail.run(command, opts.timeout ? { timeoutMs: opts.timeout } : {});
  if (opts.json) printJson(r);
  else {
    process.stdout.write(r.output);
    if (r.exitCode !== 0) process.stderr.write(`[exit ${r.exitCode ?? r.signal}${r.timedOut ? ', timed out' : ''}]\n`);
  }
  process.exitCode = r.exitCode === 0 ? EXIT.OK : EXIT.FAILED;
}

async function interactive(jail: ShellJail, opts: ShellOpts): Promise<void> {
  const { stdin, stdout, stderr } = process;
  stderr.write(
    `icode shell: ${jail.mode === 'bwrap' ? 'jailed (bubblewrap)' : 'NOT jailed (mode none)'} in ${jail.workspace}; network ${opts.network ? 'on' : 'off'}. Leave with exit or Ctrl-D.\n`,
  );
  const sh = await jail.interactive({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  const onInput = (d: Buffer) => sh.write(d.toString('utf8'));
  const onResize = () => sh.resize(stdout.columns || 80, stdout.rows || 24);
  const done = new Promise<{ exitCode: number | null; signal: string | null }>((r) => sh.onExit(r));
  // The jail's output goes to the terminal as is (it is a terminal session), unlike run(), whose output
  // for the model is sanitised.
  sh.onData((d) => stdout.write(d));
  stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  stdout.on('resize', onResize);
  const onSignal = () => void sh.close();
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const e = await done;
    process.exitCode = e.exitCode === 0 || e.signal === 'SIGHUP' ? EXIT.OK : EXIT.FAILED;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    stdout.off('resize', onResize);
    stdin.off('data', onInput);
    stdin.setRawMode(false);
    stdin.pause();
  }
}
