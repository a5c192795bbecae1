/** Resource use of this process and its descendants (jails, their shells) from /proc: RSS and CPU. */
import { readdirSync, readFileSync } from 'node:fs';

const PAGE = 4096;
const HZ = 100; // USER_HZ on Linux

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function statOf(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

function rssOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return 0;
  }
}

/** This process and every live descendant. */
function tree(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

export interface TreeUsage {
  /** Resident memory of the tree, bytes (worker threads are inside this process). */
  rssBytes: number;
  /** CPU seconds used by the tree so far (reaped children included through their parents). */
  cpuSeconds: number;
  processes: number;
}

export function treeUsage(): TreeUsage {
  const pids = tree();
  let rss = 0;
  let ticks = 0;
  for (const pid of pids) {
    rss += rssOf(pid);
    ticks += statOf(pid)?.ticks ?? 0;
  }
  return { rssBytes: rss, cpuSeconds: ticks / HZ, processes: pids.length };
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the peak. */
export function watchPeakRss(everyMs = 100): { stop(): number } {
  let peak = treeUsage().rssBytes;
  const t = setInterval(() => {
    peak = Math.max(peak, treeUsage().rssBytes);
  }, everyMs);
  t.unref();
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, treeUsage().rssBytes);
    },
  };
}
