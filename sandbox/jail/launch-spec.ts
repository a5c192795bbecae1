/**
 * How a jail instance is started (bwrap, or a bare supervisor in mode 'none') and the environment every
 * command in it gets. The process limit: RLIMIT_NPROC where the kernel counts it, the jail's own
 * pid_max as root (see README "Limits").
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bwrapArgs, parentRepoArgs } from './bwrap-args.js';
import { JAIL_HOME, JAIL_PATH, jailEnv } from './env.js';
import type { LaunchSpec } from './instance.js';
import { entryLimitCommand } from './limits.js';
import { RUN, type Config } from './runtime.js';
import { BWRAP, SETPRIV, untrustedReason } from './trusted.js';
import { JailError } from './types.js';

function ownProcessCount(): number {
  const uid = process.getuid?.() ?? -1;
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (statSync(`/proc/${e}`).uid === uid) n++;
    } catch {
      /* exited */
    }
  }
  return n;
}

export function launchSpec(c: Config): LaunchSpec {
  const p = c.limits.processes;
  if (c.mode === 'bwrap') {
    // Root: the kernel ignores RLIMIT_NPROC for uid 0, the jail's pid_max does the job (+301: after a
    // wrap-around the kernel allocates pids from 300 up only).
    const entry = `${entryLimitCommand(c.limits, c.isRoot ? 0 : p)} || exit 126; exec ${RUN}/node --max-old-space-size=64 ${RUN}/supervisor.cjs ${RUN}/node-pty`;
    return {
      mode: 'bwrap',
      file: BWRAP,
      args: bwrapArgs(c, ['--setenv', 'PATH', JAIL_PATH], ['/bin/bash', '-c', entry], ['--json-status-fd', '3', ...(c.seccomp ? ['--seccomp', '4'] : [])]),
      env: {},
      cwd: '/',
      pidMax: c.isRoot && p > 0 ? p + 301 : 0,
      files: c.seccomp ? [c.seccomp] : [],
    };
  }
  // Mode 'none': RLIMIT_NPROC counts all of this user's processes here, so allow the current ones plus the limit.
  const nproc = p > 0 && !c.isRoot ? ownProcessCount() + p : 0;
  const entry = `${entryLimitCommand(c.limits, nproc)} || exit 126; exec "$0" "$@"`;
  // No namespaces, but no privilege gain either: no_new_privs (setuid binaries such as sudo do not
  // elevate) and, as root, an empty capability bounding set (uid 0 without capabilities: it still
  // owns every root-owned file, which is why mode 'none' as root is no jail at all).
  const setprivOk = untrustedReason(SETPRIV) === null;
  if (c.isRoot && !setprivOk) throw new JailError(`mode none as root needs ${SETPRIV} to drop capabilities`, 'install util-linux');
  const drop = setprivOk ? [SETPRIV, '--no-new-privs', ...(c.isRoot ? ['--bounding-set=-all', '--inh-caps=-all'] : []), '--'] : [];
  const argv = [...drop, '/bin/bash', '-c', entry, c.nodeBin, '--max-old-space-size=64', c.supervisor, c.ptyDir];
  return {
    mode: 'none',
    file: argv[0]!,
    args: argv.slice(1),
    env: { PATH: JAIL_PATH, LANG: 'C.UTF-8', HOME: join(c.runtime, 'home') },
    cwd: c.workspace,
    pidMax: 0,
  };
}

export function commandEnv(c: Config, term: string): Record<string, string> {
  const none = c.mode === 'none';
  const env = jailEnv(c.extraEnv, { term, home: none ? join(c.runtime, 'home') : JAIL_HOME });
  // The workspace is its own mount in the jail: git may look for the repository above it (read-only).
  if (!none && parentRepoArgs(c.workspace).length > 0) env.GIT_DISCOVERY_ACROSS_FILESYSTEM = '1';
  if (none) env.TMPDIR = join(c.runtime, 'tmp');
  return env;
}

/** Process count at which the jail counts as full (bwrap mode; the supervisor counts its /proc). */
export function maxProcs(c: Config): number {
  const p = c.limits.processes;
  return c.mode === 'bwrap' && p > 0 ? Math.max(8, Math.floor(p * 0.9)) : 0;
}
