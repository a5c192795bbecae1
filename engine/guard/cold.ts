/**
 * The answer to one hook event computed in this process (the cold path; the daemon runs the same
 * function warm). Policy hooks run in isolated-vm, which needs --no-node-snapshot: only a policy with
 * pre-tool hooks hands the event to a re-executed Node (the launcher skips that second start for
 * `guard`). Paths in `opts` are resolved by the caller.
 */
import type { GuardAgent } from './events.js';
import type { GuardAnswer } from './answer.js';
import { guardEvent, prepareGuard, type GuardOptions } from './run.js';

export async function answerGuardEvent(agent: GuardAgent, text: string, opts: GuardOptions): Promise<GuardAnswer> {
  const { needsIsolate, compiled } = await prepareGuard(agent, text, opts);
  if (needsIsolate && !process.execArgv.includes('--no-node-snapshot')) return reexec(text);
  return guardEvent(agent, text, { ...opts, compiled });
}

async function reexec(text: string): Promise<GuardAnswer> {
  const { spawn } = await import('node:child_process');
  // The child answers in its own process (never through the daemon: this is the daemon's fallback).
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ICODE_GUARD_DAEMON: '0' },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(text);
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 2)));
  // A child that gave no answer blocks the call (exit 2), whatever it died of.
  if (code !== 0 || out.length === 0) return { stdout: '', stderr: `${Buffer.concat(err).toString()}icode guard: no answer from the policy process (exit ${code}); the call is blocked\n`, exitCode: 2 };
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode: code };
}
