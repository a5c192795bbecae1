/**
 * The bwrap command line of a jail (see README "The sandbox"): new user (uid 1000 inside, no nested
 * user namespaces), pid, ipc, uts, cgroup and network namespaces (network shared only when allowed), no
 * environment, the system read-only, private size-limited /tmp, $HOME and /dev/shm, icode's node +
 * node-pty + supervisor read-only under /run/icode, the workspace at its own path (the change gate's
 * overlay is mounted later by overlay.ts), the protected paths read-only, and the jail's root, /proc
 * and /dev remounted read-only.
 */
import { existsSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JAIL_HOME } from './env.js';
import { EMPTY_DIR, EMPTY_FILE, HIDDEN } from './overlay.js';
import { planProtection } from './protected.js';
import { JAIL_UID, RUN, type Config } from './runtime.js';
import { systemArgs } from './system.js';

/** /proc files hidden behind /dev/null: names of the host user's kernel keys, kernel timer/scheduler internals. */
const PROC_MASKED = ['/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats'];

export function bwrapArgs(c: Config, envArgs: string[], entry: string[], extra: string[] = []): string[] {
  const tmp = String(c.limits.tmpBytes);
  const masks = c.masks.map((m) => join(c.workspace, m));
  // The workspace: with the gate, the real one is only the overlay's lower layer (mounted by overlay.ts
  // once the jail runs); read-only without writes; otherwise (one-shot bench baseline) bound read-write
  // with the protected paths pinned read-only.
  const workspaceArgs = c.gate
    ? ['--ro-bind', c.workspace, `${HIDDEN}/lower`, '--bind', join(c.runtime, 'layers'), `${HIDDEN}/layers`, '--dir', c.workspace]
    : c.readOnly
      ? ['--ro-bind', c.workspace, c.workspace, ...maskArgs(c, masks)]
      : ['--bind', c.workspace, c.workspace, ...planProtection(c.workspace, c.protectedPaths, join(c.runtime, 'empty'), join(c.runtime, 'empty-file')).args];
  return [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    ...(c.network ? ['--share-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    ...envArgs,
    '--uid', String(JAIL_UID),
    '--gid', String(JAIL_UID),
    '--hostname', 'icode-jail',
    ...systemArgs(c.network),
    '--ro-bind', join(c.runtime, 'passwd'), '/etc/passwd',
    '--ro-bind', join(c.runtime, 'group'), '/etc/group',
    ...(c.network ? [] : ['--ro-bind', join(c.runtime, 'hosts'), '/etc/hosts']),
    '--proc', '/proc',
    ...PROC_MASKED.filter((f) => existsSync(f)).flatMap((f) => ['--ro-bind', '/dev/null', f]),
    '--dev', '/dev',
    '--size', tmp, '--tmpfs', '/dev/shm',
    '--size', tmp, '--tmpfs', '/tmp',
    '--size', tmp, '--tmpfs', JAIL_HOME,
    '--symlink', '../tmp', '/var/tmp',
    '--ro-bind', c.nodeBin, `${RUN}/node`,
    '--ro-bind', c.ptyDir, `${RUN}/node-pty`,
    '--ro-bind', c.supervisor, `${RUN}/supervisor.cjs`,
    '--ro-bind', join(c.runtime, 'empty'), EMPTY_DIR,
    '--ro-bind', join(c.runtime, 'empty-file'), EMPTY_FILE,
    ...parentRepoArgs(c.workspace),
    ...workspaceArgs,
    '--remount-ro', '/dev',
    // procfs grants files like /proc/sys/kernel/core_pattern, /proc/sys/kernel/modprobe or
    // /proc/sysrq-trigger to a uid by mode bits alone: a read-only /proc keeps host kernel settings out
    // of reach whatever host uid the jail maps to.
    '--remount-ro', '/proc',
    '--remount-ro', '/',
    '--chdir', c.workspace,
    ...extra,
    '--',
    ...entry,
  ];
}

/** Masks of existing paths as bwrap arguments (read-only workspace; with the gate overlay.ts masks). */
function maskArgs(c: Config, masks: string[]): string[] {
  const out: string[] = [];
  for (const m of masks) {
    let st;
    try {
      st = lstatSync(m);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) continue;
    out.push('--ro-bind', join(c.runtime, st.isDirectory() ? 'empty' : 'empty-file'), m);
  }
  return out;
}

/**
 * A workspace inside a repository (a subfolder of it): the repository's `.git` above it, read-only, so
 * `git status` works in the jail. Nothing of it is writable.
 */
export function parentRepoArgs(workspace: string): string[] {
  for (let dir = dirname(workspace); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
    const git = join(dir, '.git');
    let st;
    try {
      st = lstatSync(git);
    } catch {
      continue;
    }
    return st.isDirectory() ? ['--ro-bind', git, git] : [];
  }
  return [];
}
