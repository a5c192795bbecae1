/**
 * The interactive bash of `icode shell`, inside a running jail instance: the same mounts, environment
 * and limits as a run(), its pty passed through to the person's terminal.
 *
 * Gated after every command line (issue 17): the shell's PROMPT_COMMAND (read-only, from its rc file)
 * prints a marker (an OSC sequence terminals ignore) and stops the shell itself (SIGSTOP) before its
 * next prompt. icode strips the marker from the output, waits until the shell is stopped, freezes the
 * rest of the jail, runs the change gate (refusals are shown in the terminal), thaws and continues the
 * shell. So what a command wrote is judged and applied right after it, and the next command line cannot
 * start before. A marker printed by anything else (a forged one) only causes an extra gate: icode waits
 * a moment for a stop that does not come, gates anyway and continues nothing that was not stopped.
 */
import { readFileSync } from 'node:fs';
import { signalName, ticksSince } from './attempt.js';
import type { GateResult } from './gate.js';
import type { Instance, SupMsg } from './instance.js';
import { descendants, killUntilGone, pidNamespace, procInfo } from './procs.js';

export interface InteractiveShell {
  onData(cb: (data: string) => void): void;
  onExit(cb: (e: { exitCode: number | null; signal: string | null }) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Hang up the shell (SIGHUP), then kill what it left behind. */
  close(): Promise<void>;
}

export interface InteractiveSpec {
  id: number;
  /** bash's arguments (limits prefix, then `exec /bin/bash -i`). */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  cols: number;
  rows: number;
  maxProcs: number;
  /** The change gate with the jail frozen (layers.ts gateNow); absent: no gate (mode 'none', read-only). */
  gate?: () => Promise<GateResult>;
  /** Runs after the shell and what it started are gone (the change gate). */
  afterClose(): Promise<void>;
}

/** What the shell's PROMPT_COMMAND prints before each prompt. */
export const GATE_MARKER = '\x1b]777;icode-gate\x07';
/** How long icode waits for the shell to stop itself after a marker (a forged one: no stop comes). */
const STOP_WAIT_MS = 2000;

/**
 * The shell's rc file (passed in ICODE_RC, read through a process substitution): the usual bashrc
 * files, then the gate's PROMPT_COMMAND, read-only, its function too.
 */
const RC = [
  '[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc',
  '[ -r ~/.bashrc ] && . ~/.bashrc',
  // After the gate the overlay may be a fresh mount (new layer, new masks): `cd "$PWD"` re-enters the
  // workspace through it (the old folder would stay the detached layer's).
  `__icode_gate() { printf '\\033]777;icode-gate\\007'; kill -STOP $$; builtin cd -- "$PWD" 2>/dev/null; }`,
  'readonly -f __icode_gate',
  'PROMPT_COMMAND=__icode_gate',
  'readonly PROMPT_COMMAND',
  'unset ICODE_RC',
].join('\n');

/** The `bash -c` body that starts the interactive shell (gated: with the rc file above). */
export function interactiveBody(gated: boolean): string {
  return gated ? 'exec /bin/bash --rcfile <(printf "%s\\n" "$ICODE_RC") -i' : 'exec /bin/bash -i';
}

export function interactiveEnv(env: Record<string, string>, gated: boolean): Record<string, string> {
  return gated ? { ...env, ICODE_RC: RC } : env;
}

/** Host pid of the jail's process `nsPid` (its pid in the jail's namespace), or null. */
function hostPidOf(inst: Instance, nsPid: number): number | null {
  if (inst.mode === 'none') return nsPid;
  for (const p of descendants(inst.root)) {
    try {
      const line = readFileSync(`/proc/${p}/status`, 'latin1').split('\n').find((l) => l.startsWith('NSpid:'));
      const ids = line?.split(/\s+/).slice(1).filter(Boolean).map(Number) ?? [];
      if (ids[ids.length - 1] === nsPid && pidNamespace(p) === inst.pidNs) return p;
    } catch {
      /* exited */
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function startInteractive(inst: Instance, s: InteractiveSpec): InteractiveShell {
  const id = s.id;
  const dataCbs: ((d: string) => void)[] = [];
  const exitCbs: ((e: { exitCode: number | null; signal: string | null }) => void)[] = [];
  let exited = false;
  const emit = (d: string) => {
    if (d) dataCbs.forEach((cb) => cb(d));
  };
  const end = (exitCode: number | null, signal: string | null) => {
    if (exited) return;
    exited = true;
    if (carry) emit(carry);
    carry = '';
    inst.detach(id);
    exitCbs.forEach((cb) => cb({ exitCode, signal }));
  };
  const startHr = process.hrtime.bigint();

  // The shell's host pid and start tick (resolved at the first marker; checked before every signal).
  let shell: { pid: number; start: number } | null = null;
  let shellNsPid = 0;
  const shellPid = (): number | null => {
    if (!shell && shellNsPid) {
      const p = hostPidOf(inst, shellNsPid);
      const start = p === null ? null : procInfo(p)?.start;
      if (p !== null && start !== undefined && start !== null) shell = { pid: p, start };
    }
    if (!shell) return null;
    const info = procInfo(shell.pid);
    return info && info.start === shell.start && (inst.mode === 'none' || pidNamespace(shell.pid) === inst.pidNs) ? shell.pid : null;
  };
  const stopped = (pid: number) => procInfo(pid)?.state === 'T';

  let gating: Promise<void> = Promise.resolve();
  const gateNow = () => {
    gating = gating.then(async () => {
      if (exited || !s.gate) return;
      let pid = shellPid();
      for (const t0 = Date.now(); pid !== null && !stopped(pid) && Date.now() - t0 < STOP_WAIT_MS && !exited; pid = shellPid()) await sleep(2);
      try {
        const r = await s.gate();
        for (const x of r.refusals) emit(`\r\n[icode: change refused: ${x.path}: ${x.reason}]\r\n`);
      } catch (e) {
        emit(`\r\n[icode: the change gate failed: ${(e as Error).message}]\r\n`);
      } finally {
        pid = shellPid();
        if (pid !== null && stopped(pid)) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            /* gone */
          }
        }
      }
    });
  };

  // Output, markers removed; a marker split across chunks is held back until it is complete.
  let carry = '';
  const onOutput = (d: string) => {
    let text = carry + d;
    carry = '';
    for (let i = text.indexOf(GATE_MARKER); i >= 0; i = text.indexOf(GATE_MARKER)) {
      emit(text.slice(0, i));
      text = text.slice(i + GATE_MARKER.length);
      gateNow();
    }
    for (let k = Math.min(GATE_MARKER.length - 1, text.length); k > 0; k--) {
      if (GATE_MARKER.startsWith(text.slice(-k))) {
        carry = text.slice(-k);
        text = text.slice(0, -k);
        break;
      }
    }
    emit(text);
  };

  inst.attach(id, {
    onMessage: (m: SupMsg) => {
      if (m.t === 'spawned') shellNsPid = m.pid;
      else if (m.t === 'd') onOutput(m.d);
      else if (m.t === 'exit') end(m.signal ? null : m.code, m.signal ? signalName(m.signal) : null);
      else if (m.t === 'error' || m.t === 'full') {
        emit(`icode: cannot start a shell in the jail: ${m.t === 'full' ? 'process limit reached' : m.message}\r\n`);
        end(126, null);
      }
    },
    onDeath: () => end(null, null),
  });
  inst.send({ t: 'run', id, file: '/bin/bash', args: s.args, env: s.env, cwd: s.cwd, cols: s.cols, rows: s.rows, eof: false, maxProcs: s.maxProcs });
  return {
    onData: (cb) => void dataCbs.push(cb),
    onExit: (cb) => void exitCbs.push(cb),
    write: (d) => inst.send({ t: 'input', id, d }),
    resize: (cols, rows) => inst.send({ t: 'resize', id, cols, rows }),
    close: async () => {
      inst.send({ t: 'hup', id });
      const shellPidNow = shellPid();
      if (shellPidNow !== null) {
        try {
          process.kill(shellPidNow, 'SIGCONT'); // a shell stopped at its prompt gets the hangup
        } catch {
          /* gone */
        }
      }
      await killUntilGone(inst.killScope({ sinceTick: ticksSince(startHr) }));
      await gating;
      await s.afterClose();
    },
  };
}
