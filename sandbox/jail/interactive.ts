/**
 * The interactive bash of `icode shell`, inside a running jail instance: the same mounts, environment
 * and limits as a run(), its pty passed through to the person's terminal.
 */
import { signalName, ticksSince } from './attempt.js';
import type { Instance, SupMsg } from './instance.js';
import { killUntilGone } from './procs.js';

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
  /** Runs after the shell and what it started are gone (the change gate). */
  afterClose(): Promise<void>;
}

export function startInteractive(inst: Instance, s: InteractiveSpec): InteractiveShell {
  const id = s.id;
  const dataCbs: ((d: string) => void)[] = [];
  const exitCbs: ((e: { exitCode: number | null; signal: string | null }) => void)[] = [];
  let exited = false;
  const emit = (d: string) => dataCbs.forEach((cb) => cb(d));
  const end = (exitCode: number | null, signal: string | null) => {
    if (exited) return;
    exited = true;
    inst.detach(id);
    exitCbs.forEach((cb) => cb({ exitCode, signal }));
  };
  const startHr = process.hrtime.bigint();
  inst.attach(id, {
    onMessage: (m: SupMsg) => {
      if (m.t === 'd') emit(m.d);
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
      await killUntilGone(inst.killScope({ sinceTick: ticksSince(startHr) }));
      await s.afterClose();
    },
  };
}
