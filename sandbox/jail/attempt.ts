/**
 * One command in a running jail instance, enforced from the host: send it to the supervisor, collect its
 * output, and on timeout, abort or an output flood kill every process it started (procs.ts), never by
 * asking the supervisor. Also how a finished run becomes a ShellResult (notes, refusals, truncation).
 */
import { constants as osConstants } from 'node:os';
import type { GateResult } from './gate.js';
import type { Instance } from './instance.js';
import type { OutputCollector } from './output.js';
import { bootTicksNow, killUntilGone } from './procs.js';
import type { ShellResult, ShellRunOptions } from './types.js';

/** A command whose output exceeds the cap by this much is killed (`yes` must not spin until its timeout). */
const FLOOD_BYTES = 64 * 1024 * 1024;
/** How long the supervisor has to report a killed command's exit before the jail is replaced. */
const EXIT_GRACE_MS = 3000;
/**
 * Before every command, on its first line (so bash parses it with the command and line numbers stay):
 * - `trap '' HUP`: the command's bash leads the pty's session, and its exit would SIGHUP its background
 *   jobs before a `nohup`/`setsid` in them has run; ignored, they live on as daemons until the jail
 *   closes (what they inherit: SIGHUP ignored unless they set a handler);
 * - `read`: waits for the supervisor's go signal (supervisor.cjs: output drain);
 * - `stty -onlcr`: the pty passes \n through as is (no \r\n translation), so the output is the bytes the
 *   command wrote, a file's CRLF included (the parity harness holds it to `bash -c CMD 2>&1`);
 * - stdin from /dev/null: every reader gets end-of-file at once (stdout and stderr are the pty).
 */
export const RUN_PREAMBLE = "trap '' HUP; stty -onlcr 2>/dev/null; read; exec </dev/null; ";

export type RunOpts = Required<Omit<ShellRunOptions, 'signal'>> & { signal?: AbortSignal };

export type Outcome =
  | { kind: 'exit'; code: number; signal: number; procs: number }
  | { kind: 'died' }
  | { kind: 'spawn-error'; message: string }
  | { kind: 'full'; procs: number };

export interface Attempt {
  outcome: Outcome;
  timedOut: boolean;
  aborted: boolean;
  flooded: boolean;
  killed: boolean;
  sinceTick: number;
  pid: number | null;
}

/** What the supervisor needs to start a command: bash's argv, environment, folder and the jail's process cap. */
export interface CommandSpec {
  id: number;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  maxProcs: number;
}

export const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

export function signalName(n: number): string {
  return SIGNAL_NAMES.get(n) ?? `SIG${n}`;
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The command was aborted', 'AbortError');
}

/** Ticks since boot at `startHr`, one tick early (start times are in 10 ms ticks). */
export function ticksSince(startHr: bigint): number {
  const elapsedTicks = Math.ceil(Number(process.hrtime.bigint() - startHr) / 1e7);
  return bootTicksNow() - elapsedTicks - 1;
}

/** One attempt: send the command, collect output, enforce timeout/abort/flood from the host. */
export function runAttempt(inst: Instance, spec: CommandSpec, o: RunOpts, collector: OutputCollector): Promise<Attempt> {
  return new Promise((resolve) => {
    const id = spec.id;
    const startHr = process.hrtime.bigint();
    let pid: number | null = null;
    let settled = false;
    let killing = false;
    let timedOut = false;
    let aborted = false;
    let flooded = false;
    let grace: NodeJS.Timeout | undefined;
    let killDone: Promise<void> = Promise.resolve();
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      inst.detach(id);
      const sinceTick = ticksSince(startHr);
      // A kill loop still running would hit the next command's processes: let it finish first.
      void killDone.then(() => {
        clearTimeout(grace);
        resolve({ outcome, timedOut, aborted, flooded, killed: killing, sinceTick, pid });
      });
    };
    const kill = () => {
      if (killing || settled) return;
      killing = true;
      killDone = (async () => {
        const ok = await killUntilGone(inst.killScope({ sinceTick: ticksSince(startHr), session: pid ?? undefined }));
        if (settled) return;
        // The supervisor reports the exit of the killed command; if it does not, it is broken or
        // was tampered with: replace the whole jail.
        if (!ok) await inst.kill();
        else grace = setTimeout(() => void inst.kill(), EXIT_GRACE_MS);
      })();
    };
    inst.attach(id, {
      onMessage: (m) => {
        switch (m.t) {
          case 'spawned':
            pid = m.pid;
            break;
          case 'd':
            collector.push(m.d);
            if (!flooded && collector.droppedBytes > FLOOD_BYTES) {
              flooded = true;
              kill();
            }
            break;
          case 'exit':
            finish({ kind: 'exit', code: m.code, signal: m.signal, procs: m.procs });
            break;
          case 'error':
            finish({ kind: 'spawn-error', message: m.message });
            break;
          case 'full':
            finish({ kind: 'full', procs: m.procs });
            break;
        }
      },
      onDeath: () => finish({ kind: 'died' }),
    });
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    inst.send({ t: 'run', id, file: '/bin/bash', args: spec.args, env: spec.env, cwd: spec.cwd, cols: o.cols, rows: o.rows, eof: true, maxProcs: spec.maxProcs });
    if (!inst.alive) finish({ kind: 'died' });
  });
}

/** The ShellResult of a run: output, then icode's notes (timeout, refusals) on their own lines. */
export function shellResult(collector: OutputCollector, notes: string[], exitCode: number | null, signal: string | null, timedOut: boolean, t0: number, timeoutMs?: number, gated?: GateResult): ShellResult {
  const c = collector.finish();
  const all = timedOut ? [...notes, `[icode: timed out after ${timeoutMs} ms; every process the command started was killed]`] : [...notes];
  for (const r of gated?.refusals ?? []) all.push(`[icode: change refused: ${r.path}: ${r.reason}]`);
  let output = c.output;
  if (all.length > 0) output += (output === '' || output.endsWith('\n') ? '' : '\n') + all.join('\n') + '\n';
  return {
    exitCode,
    signal,
    output,
    truncated: c.truncated,
    timedOut,
    durationMs: Math.round(performance.now() - t0),
    ...(gated ? { changes: gated.changes, refusals: gated.refusals } : {}),
  };
}
