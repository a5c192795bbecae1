/**
 * Host binaries icode executes outside the jail (bwrap, nsenter) are called by absolute path only and
 * must be root-owned regular files that neither group nor others can write, in directories with the
 * same property all the way up; never found through PATH or in the workspace.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export const BWRAP = '/usr/bin/bwrap';
export const NSENTER = '/usr/bin/nsenter';
export const SETPRIV = '/usr/bin/setpriv';

/** Returns null when `path` is trustworthy, else why not. */
export function untrustedReason(path: string): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return `${path} does not exist`;
  }
  const st = statSync(real);
  if (!st.isFile()) return `${real} is not a regular file`;
  if (st.uid !== 0) return `${real} is not owned by root`;
  if ((st.mode & 0o022) !== 0) return `${real} is writable by group or others`;
  if ((st.mode & 0o111) === 0) return `${real} is not executable`;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const d = lstatSync(dir);
    if (d.uid !== 0) return `${dir} (a parent of ${real}) is not owned by root`;
    // A sticky, world-writable directory (like /tmp) still lets others replace files: refuse it too.
    if ((d.mode & 0o022) !== 0) return `${dir} (a parent of ${real}) is writable by group or others`;
    if (dir === '/') break;
  }
  return null;
}
