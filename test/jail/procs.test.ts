/**
 * Kills reach only the jail's own processes, also when a pid it remembers now belongs to someone else
 * (pid_max is 32768 on these machines: pids come round within one test run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { descendants, killPass, procInfo, type KillScope } from '../../sandbox/jail/procs.js';
import { eventually } from './helpers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A new session (setsid) whose leader, a shell, has one `sleep` child. */
async function sessionWithChild(): Promise<{ leader: number; child: number; start: number }> {
  const c = spawn('/bin/sh', ['-c', 'sleep 600 & wait'], { detached: true, stdio: 'ignore' });
  started.push(c);
  const leader = c.pid!;
  expect(await eventually(() => descendants(leader).length === 1)).toBe(true);
  return { leader, child: descendants(leader)[0]!, start: procInfo(leader)!.start };
}

const alive = (pid: number) => {
  const s = procInfo(pid)?.state;
  return s !== undefined && s !== 'Z' && s !== 'X';
};

describe('kill scopes check who a remembered pid belongs to now', () => {
  test('the children of a root that is not the recorded process are left alone', async () => {
    const s = await sessionWithChild();
    const scope: KillScope = { root: s.leader, rootStart: s.start - 1, keep: new Set() };
    expect(killPass(scope)).toBe(0);
    expect(alive(s.child)).toBe(true);
    // Control: the same scope with the right start tick kills the child.
    expect(killPass({ ...scope, rootStart: s.start })).toBe(1);
    expect(await eventually(() => !alive(s.child))).toBe(true);
  });

  test('a session whose id now names another process is not ours', async () => {
    const s = await sessionWithChild();
    const gone = { root: 1, rootStart: -1, keep: new Set<number>() };
    // The remembered leader started at another tick: its pid (the session id) was reused.
    expect(killPass({ ...gone, sessions: new Map([[s.leader, s.start - 5]]) })).toBe(0);
    expect(alive(s.child) && alive(s.leader)).toBe(true);
    // Control: the right leader start kills the whole session.
    expect(killPass({ ...gone, sessions: new Map([[s.leader, s.start]]) })).toBe(2);
    expect(await eventually(() => !alive(s.child) && !alive(s.leader))).toBe(true);
  });

  test('once the leader is gone, only members started after it are its session', async () => {
    // The shell leaves a daemon behind in its session and exits.
    const c = spawn('/bin/sh', ['-c', 'sleep 601 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    started.push(c);
    const daemon = Number(await new Promise<string>((r) => c.stdout!.once('data', (d: Buffer) => r(d.toString()))));
    await new Promise((r) => c.once('exit', r));
    const info = procInfo(daemon)!;
    expect(info.sid).toBe(c.pid);
    const gone = { root: 1, rootStart: -1, keep: new Set<number>() };
    expect(killPass({ ...gone, sessions: new Map([[c.pid!, info.start + 1]]) })).toBe(0);
    expect(alive(daemon)).toBe(true);
    expect(killPass({ ...gone, sessions: new Map([[c.pid!, info.start]]) })).toBe(1);
    expect(await eventually(() => !alive(daemon))).toBe(true);
  });
});
