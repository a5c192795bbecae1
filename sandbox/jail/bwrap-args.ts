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
import { USERNS_FD, type IdmappedBind } from './userns.js';

/** /proc files hidden behind /dev/null: names of the host user's kernel keys, kernel timer/scheduler internals. */
const PROC_MASKED = ['/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats'];

/**
 * New user (no nested ones), pid, ipc, uts, cgroup and network namespaces (network shared only when
 * allowed). `launched`: as root, the user namespace is the one the launcher made (userns.ts).
 */
export function namespaceArgs(launched: boolean, network: boolean): string[] {
  return launched
    ? ['--userns', USERNS_FD, '--assert-userns-disabled', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup', ...(network ? [] : ['--unshare-net'])]
    : ['--unshare-all', '--unshare-user', '--disable-userns', ...(network ? ['--share-net'] : [])];
}

export function bwrapArgs(c: Config, envArgs: string[], entry: string[], extra: string[] = []): string[] {
  const tmp = String(c.limits.tmpBytes);
  const masks = c.masks.map((m) => join(c.workspace, m));
  // As root the workspace comes from its idmapped mount (userns.ts), attached by the launcher.
  const ws = c.hostIds ? join(c.runtime, 'lower') : c.workspace;
  // The workspace: with the gate, the real one is only the overlay's lower layer (mounted by overlay.ts
  // once the jail runs); read-only without writes; otherwise (one-shot bench baseline) bound read-write
  // with the protected paths pinned read-only.
  const workspaceArgs = c.gate
    ? ['--ro-bind', ws, `${HIDDEN}/lower`, '--bind', join(c.runtime, 'layers'), `${HIDDEN}/layers`, '--dir', c.workspace]
    : c.readOnly
      ? ['--ro-bind', ws, c.workspace, ...maskArgs(c, masks)]
      : ['--bind', ws, c.workspace, ...rebaseSources(planProtection(c.workspace, c.protectedPaths, join(c.runtime, 'empty'), join(c.runtime, 'empty-file')).args, c.workspace, ws)];
  return [
    ...namespaceArgs(c.hostIds !== null, c.network),
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
    ...ownFiles(c).flatMap((f) => ['--ro-bind', f.bwrapSource, f.dest]),
    '--ro-bind', join(c.runtime, 'empty'), EMPTY_DIR,
    '--ro-bind', join(c.runtime, 'empty-file'), EMPTY_FILE,
    ...parentRepoArgs(c.workspace, c.hostIds ? join(c.runtime, 'parent-git') : null),
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

/**
 * bwrap bind arguments whose sources lie in `from` (the workspace) rebased onto `to` (its idmapped
 * mount, as root: bwrap sets up mounts unprivileged and may not reach the host path).
 */
export function rebaseSources(args: string[], from: string, to: string): string[] {
  return args.map((a, i) => (i > 0 && /^--(ro-)?bind$/.test(args[i - 1]!) && (a === from || a.startsWith(from + '/')) ? to + a.slice(from.length) : a));
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
export function parentRepoArgs(workspace: string, idmapped: string | null = null): string[] {
  const git = parentRepo(workspace);
  return git ? ['--ro-bind', idmapped ?? git, git] : [];
}

/** The `.git` folder of a repository above the workspace, or null. */
function parentRepo(workspace: string): string | null {
  for (let dir = dirname(workspace); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
    const git = join(dir, '.git');
    let st;
    try {
      st = lstatSync(git);
    } catch {
      continue;
    }
    return st.isDirectory() ? git : null;
  }
  return null;
}

/**
 * icode's node, node-pty and supervisor, bound read-only under /run/icode. As root, bwrap sets up its
 * mounts as the jail's unprivileged uid, which may not reach them (a 0700 /root): the launcher mounts
 * them idmapped at folders of the runtime directory first (userns.ts), and bwrap binds those.
 */
function ownFiles(c: Config): { source: string; bwrapSource: string; dest: string }[] {
  return [
    { source: c.nodeBin, name: 'node' },
    { source: c.ptyDir, name: 'node-pty' },
    { source: c.supervisor, name: 'supervisor.cjs' },
  ].map((f) => ({ source: f.source, bwrapSource: c.hostIds ? join(c.runtime, 'reach', f.name) : f.source, dest: `${RUN}/${f.name}` }));
}

/** What the launcher mounts idmapped for bwrap (as root): the workspace, a repository above it, icode's own files. */
export function idmappedBinds(c: Config): IdmappedBind[] {
  const binds: IdmappedBind[] = [{ source: c.workspace, target: join(c.runtime, 'lower'), readOnly: c.gate || c.readOnly }];
  for (const f of ownFiles(c)) binds.push({ source: f.source, target: f.bwrapSource, readOnly: true });
  const git = parentRepo(c.workspace);
  if (git) binds.push({ source: git, target: join(c.runtime, 'parent-git'), readOnly: true });
  return binds;
}
