/** Helpers of the jail tests: workspaces, and the host's view of a jail's processes. */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
// Registered when a test file imports this module, so directories made inside tests are removed too.
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp directory removed after the test file. */
export function tempDir(prefix = 'icode-jailtest-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export interface Fixture {
  /** Temp dir holding the workspace and files beside it. */
  dir: string;
  ws: string;
}

export function fixture(prefix = 'icode-jailtest-'): Fixture {
  const dir = tempDir(prefix);
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  return { dir, ws };
}

export interface HostProc {
  pid: number;
  cmd: string;
}

/** Every host process in the pid namespace `pidNs` (`pid:[N]`), from the host's process table. */
export function processesInNamespace(pidNs: string): HostProc[] {
  const out: HostProc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/pid`) !== pidNs) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({ pid: Number(e), cmd: readFileSync(`/proc/${e}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() });
    } catch {
      /* exited */
    }
  }
  return out;
}


export { eventually } from '../helpers/eventually.js';
