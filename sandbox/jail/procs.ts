/**
 * Host-side view of a jail's processes, for kills that must not depend on anything inside the jail.
 *
 * Every process of a bwrap jail descends from the jail's pid 1 (orphans are re-parented to it), so
 * walking /proc/PID/task/TID/children from it finds them all; each is checked to still be in the jail's
 * pid namespace right before it is signalled. A command's processes are told apart from older ones
 * (background daemons of earlier commands) by their start time: runs of one jail are serialised.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** USER_HZ: the unit of /proc/PID/stat start times (100 on every Linux architecture icode runs on). */
const CLK_TCK = 100;

export interface ProcInfo {
  pid: number;
  /** Start time in clock ticks since boot. */
  start: number;
  state: string;
  /** Session id. */
  sid: number;
}

export function procInfo(pid: number): ProcInfo | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) is chosen by the process and may contain spaces and parentheses: parse after the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const f = stat.slice(close + 2).split(' ');
  // f[0] = state (field 3), f[3] = session (field 6), f[19] = starttime (field 22).
  return { pid, state: f[0] ?? '?', sid: Number(f[3]), start: Number(f[19]) };
}

/** Clock ticks since boot now, the unit of ProcInfo.start. */
export function bootTicksNow(): number {
  const up = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  return Math.floor(up * CLK_TCK);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const c of text.split(' ')) if (c) out.push(Number(c));
  }
  return out;
}

/** All descendants of `root` (not root itself), breadth first. */
export function descendants(root: number): number[] {
  const seen = new Set<number>([root]);
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const c of childrenOf(pid)) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** `pid:[inode]` of a process's pid namespace, or null when it is gone. */
export function pidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export interface KillScope {
  /** Root of the tree: the jail's pid 1 (bwrap) or, in mode 'none', the supervisor. */
  root: number;
  /**
   * The root's start tick. Its descendants are walked only while `root` is still that process: once
   * reaped, its pid may belong to anyone (pid_max can be 32768), and their children are not ours.
   */
  rootStart: number;
  /** Never killed (the supervisor). */
  keep: ReadonlySet<number>;
  /** Only processes started at or after this tick (undefined: all). */
  sinceTick?: number;
  /** Required pid namespace (`pid:[N]`), checked right before each kill (bwrap mode). */
  pidNs?: string;
  /** Mode 'none': also processes (anywhere) in these sessions (daemons leave the tree); see sessionMembers. */
  sessions?: ReadonlyMap<number, number>;
}

/** Whether `pid` is still the process that started at `start` (not gone, not a reused pid). */
function isSameProcess(pid: number, start: number): boolean {
  return procInfo(pid)?.start === start;
}

/**
 * Members of sessions, given as session id → start tick of its leader (or a tick at or before it when
 * the leader was gone before it could be looked at). A session id is a pid: when a process with that
 * pid now exists but started at another tick, the pid was reused and the session is no longer ours.
 * Members started before the leader cannot be in its session.
 */
function sessionMembers(sessions: ReadonlyMap<number, number>): number[] {
  const live = new Map<number, number>();
  for (const [sid, start] of sessions) {
    const leader = procInfo(sid);
    if (leader && leader.start !== start) continue;
    live.set(sid, start);
  }
  if (live.size === 0) return [];
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const info = procInfo(Number(e));
    if (!info) continue;
    const since = live.get(info.sid);
    if (since !== undefined && info.start >= since) out.push(info.pid);
  }
  return out;
}

function candidates(scope: KillScope): number[] {
  const pids = new Set(isSameProcess(scope.root, scope.rootStart) ? descendants(scope.root) : []);
  if (scope.sessions) for (const pid of sessionMembers(scope.sessions)) pids.add(pid);
  return [...pids];
}

/** One pass: SIGKILL every live matching process; returns how many were signalled. */
export function killPass(scope: KillScope): number {
  let n = 0;
  for (const pid of candidates(scope)) {
    if (scope.keep.has(pid) || pid === scope.root || pid === process.pid) continue;
    const info = procInfo(pid);
    if (!info || info.state === 'Z' || info.state === 'X') continue;
    if (scope.sinceTick !== undefined && info.start < scope.sinceTick) continue;
    if (scope.pidNs !== undefined && pidNamespace(pid) !== scope.pidNs) continue;
    try {
      process.kill(pid, 'SIGKILL');
      n++;
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Kills matching processes until a pass finds none (children forked meanwhile are re-parented and
 * found by the next pass). Returns false when it did not converge (the caller then tears the jail down).
 */
// Up to ~3 s of passes: on a loaded machine killed processes take a while to be reaped, and giving up
// replaces the whole jail (its older daemons die too), which is safe but more than was asked.
export async function killUntilGone(scope: KillScope, maxPasses = 300): Promise<boolean> {
  for (let i = 0; i < maxPasses; i++) {
    if (killPass(scope) === 0) return true;
    await sleep(i < 5 ? 2 : 10);
  }
  return killPass(scope) === 0;
}
