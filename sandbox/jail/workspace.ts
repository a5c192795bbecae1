/** Checks the workspace a jail may bind read-write. */
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, sep } from 'node:path';
import { JailError } from './types.js';

/** Binding any of these, or an ancestor of one, would expose or shadow the system. */
const SYSTEM = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/boot', '/var', '/root', '/home', '/tmp', '/var/tmp', '/opt', '/srv', '/mnt', '/media'];
/** A workspace may not be inside these (pseudo or runtime file systems). */
const NEVER_INSIDE = ['/proc', '/sys', '/dev', '/run'];

function isAncestorOrSame(a: string, b: string): boolean {
  return a === b || a === '/' || b.startsWith(a + sep);
}

/** The workspace's real path, or a JailError saying why it cannot be one. */
export function checkWorkspace(workspace: string): string {
  if (typeof workspace !== 'string' || !isAbsolute(workspace)) throw new JailError(`workspace must be an absolute path (got ${JSON.stringify(workspace)})`);
  let real: string;
  try {
    real = realpathSync(workspace);
  } catch (e) {
    throw new JailError(`workspace ${workspace}: ${(e as Error).message}`);
  }
  if (!statSync(real).isDirectory()) throw new JailError(`workspace ${real} is not a directory`);
  if (/[\n\0]/.test(real)) throw new JailError('workspace path contains a newline');
  for (const s of SYSTEM) {
    // /tmp/ws is fine; /tmp itself, / or /usr are not.
    if (isAncestorOrSame(real, s)) throw new JailError(`workspace ${real} would expose or hide ${s}; choose a project directory`);
  }
  for (const s of NEVER_INSIDE) {
    if (isAncestorOrSame(s, real)) throw new JailError(`workspace ${real} is inside ${s}`);
  }
  const home = homedir();
  if (home && home !== '/' && isAncestorOrSame(real, home)) {
    throw new JailError(`workspace ${real} contains the home directory ${home} (and its keys and credentials); choose a project directory`);
  }
  return real;
}
