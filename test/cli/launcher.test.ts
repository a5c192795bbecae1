/** The launcher (bin/icode.js) re-executes Node; its child must never outlive it, even after SIGKILL. */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../policies/package-root.js';
import { eventually } from '../helpers/eventually.js';

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Running (a zombie waiting for a reaper that a container may not have is not running). */
function alive(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    return false; // ps exits 1: no such process
  }
}

describe('launcher', () => {
  it('kill -9 of the launcher of a long-running command takes the re-executed child with it', async () => {
    // `replay -` waits on stdin, which this test keeps open: a command that runs until stopped.
    const launcher = spawn(process.execPath, [join(packageRoot(), 'bin/icode.js'), 'replay', '-', '--policy', 'builtin:readonly'], { stdio: ['pipe', 'ignore', 'ignore'] });
    let child = 0;
    expect(await eventually(() => ((child = childrenOf(launcher.pid!)[0] ?? 0), child > 0), 30_000)).toBe(true);
    launcher.kill('SIGKILL');
    const gone = await eventually(() => !alive(child), 15_000);
    if (!gone) console.error('still running:', child, execFileSync('ps', ['-o', 'pid,ppid,stat,args', '-p', String(child)], { encoding: 'utf8' }));
    expect(gone).toBe(true);
    launcher.stdin!.destroy();
  }, 60_000);
});
