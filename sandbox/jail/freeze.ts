/**
 * Freezes every process of a bwrap jail (but its pid 1, bwrap's init, which never writes) so that
 * nothing writes while the change gate reads and applies what changed. No cgroup is needed: SIGSTOP
 * cannot be caught or ignored, and a process is counted as frozen only once every one of its threads
 * shows the stopped state in /proc (a write in progress finishes first). Processes forked while the
 * signals go out are found by the next pass; the freeze holds once a pass finds none running.
 */
import { readdirSync } from 'node:fs';
import { descendants, pidNamespace, procInfo } from './procs.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stateOf(pid: number, tid: string): string | null {
  return procInfo(Number(tid) || pid)?.state ?? null;
}

/** Every thread of `pid` stopped (T/t), dead (Z/X) or the process gone. */
function isStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  for (const tid of tids) {
    const s = stateOf(pid, tid);
    if (s !== null && s !== 'T' && s !== 't' && s !== 'Z' && s !== 'X') return false;
  }
  return true;
}

export interface Frozen {
  /** Processes this freeze stopped (to continue); ones already stopped before stay stopped. */
  readonly stopped: number[];
}

/** Stops every process under `root` in pid namespace `pidNs`. Throws when it cannot converge. */
export async function freezeJail(root: number, pidNs: string): Promise<Frozen> {
  const stopped = new Set<number>();
  const before = new Set<number>();
  for (let pass = 0; pass < 400; pass++) {
    let running = 0;
    for (const pid of descendants(root)) {
      if (pidNamespace(pid) !== pidNs) continue;
      if (!stopped.has(pid) && !before.has(pid) && isStopped(pid)) before.add(pid); // stays stopped at thaw
      if (isStopped(pid)) continue;
      try {
        process.kill(pid, 'SIGSTOP'); // also again: a stopped process another one continued meanwhile
        if (!before.has(pid)) stopped.add(pid);
        running++;
      } catch {
        /* exited */
      }
    }
    if (running === 0) return { stopped: [...stopped] };
    await sleep(pass < 20 ? 1 : 5);
  }
  thawJail({ stopped: [...stopped] });
  throw new Error('the jail could not be frozen (processes kept running)');
}

export function thawJail(f: Frozen): void {
  for (const pid of f.stopped) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* exited */
    }
  }
}
