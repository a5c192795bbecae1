/**
 * A one-shot bwrap command line for a program that talks over plain stdio pipes (an MCP stdio server):
 * the same sandbox as the shell jail (namespaces, --clearenv and an allowlisted environment, the system
 * read-only, synthetic /etc/passwd, private /tmp and $HOME, seccomp filter, read-only /proc and root),
 * but no pty and no supervisor: bwrap execs the program itself, and its stdin/stdout are the caller's
 * pipes. The workspace is bound read-only unless `writable`; `readOnlyPaths` are extra host paths
 * bound read-only (a policy widening them, never icode on its own). See sandbox/jail/README.md.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, sep } from 'node:path';
import { checkExtraEnv, JAIL_HOME, jailEnv } from './env.js';
import { commandLimitPrefix, entryLimitCommand, resolveLimits } from './limits.js';
import { probeJail } from './probe.js';
import { normaliseProtected, planProtection } from './protected.js';
import { seccompProgram } from './seccomp.js';
import { systemArgs } from './system.js';
import { BWRAP } from './trusted.js';
import { namespaceArgs, rebaseSources } from './bwrap-args.js';
import { jailHostIds, launcherCommand, type IdmappedBind } from './userns.js';
import { DEFAULT_LIMITS, JailError, type JailLimits } from './types.js';
import { checkWorkspace } from './workspace.js';

export interface StdioJailOptions {
  workspace: string;
  /** Bind the workspace read-write (with the protected paths read-only); otherwise read-only. */
  writable: boolean;
  network: boolean;
  /** Variables for the program (names checked against the jail's denylist). */
  env?: Record<string, string>;
  /** Absolute host paths bound read-only at their own path (e.g. a server's installed package). */
  readOnlyPaths?: readonly string[];
  protectedPaths?: readonly string[];
  /** Program and arguments, run inside the jail (a bare name is looked up on the jail's PATH). */
  command: string;
  args: readonly string[];
  /** Size of the private /tmp and $HOME (default the shell jail's). */
  tmpBytes?: number;
  /** Per-process limits of the program (address space, file size, cpu, processes; no core files); none when absent. */
  limits?: JailLimits;
}

export interface StdioJailCommand {
  /** /usr/bin/bwrap (as root: perl, the launcher that runs it unprivileged, userns.ts) */
  file: string;
  args: string[];
  /** Files to open and pass as fds 3, 4, … (the seccomp filter is fd 3 when present). */
  files: string[];
  /** Removes the runtime directory (passwd, group, seccomp); call after the program exited. */
  cleanup(): void;
}

const JAIL_UID = 1000;

/** Throws JailError (with how to fix it) when the jail cannot be built: fail closed. */
export function stdioJailCommand(o: StdioJailOptions): StdioJailCommand {
  const p = probeJail();
  if (!p.ok) throw new JailError(`cannot start the jail: ${p.reason}`, p.fix);
  if (typeof o.command !== 'string' || o.command.length === 0 || o.command.includes('\0')) throw new JailError('the server has no command');
  if (o.args.some((a) => typeof a !== 'string' || a.includes('\0'))) throw new JailError('server arguments must be strings without NUL bytes');
  const workspace = checkWorkspace(o.workspace);
  const env = jailEnv(checkExtraEnv(o.env), { term: 'dumb', home: JAIL_HOME });
  const extra: string[] = [];
  // As root: an unprivileged host uid, the workspace and extra paths idmapped (userns.ts, as the shell jail).
  const ids = jailHostIds(process.getuid?.() === 0);
  const binds: IdmappedBind[] = [];
  const reach = (src: string, readOnly: boolean): string => {
    if (!ids) return src;
    const target = join(runtime, 'reach', String(binds.length));
    binds.push({ source: src, target, readOnly });
    return target;
  };
  const reals: string[] = [];
  for (const raw of o.readOnlyPaths ?? []) {
    if (!isAbsolute(raw)) throw new JailError(`read-only path ${raw}: must be absolute`);
    let real: string;
    try {
      real = realpathSync(raw);
    } catch {
      throw new JailError(`read-only path ${raw} does not exist`);
    }
    reals.push(real);
  }
  const runtime = mkdtempSync(join(tmpdir(), 'icode-mcp-rt-'));
  if (runtime === workspace || runtime.startsWith(workspace + sep)) {
    rmSync(runtime, { recursive: true, force: true });
    throw new JailError(`the temporary directory ${tmpdir()} is inside the workspace; set TMPDIR elsewhere`);
  }
  try {
    writeFileSync(join(runtime, 'passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:${JAIL_UID}:${JAIL_UID}:icode agent:${JAIL_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`, { mode: 0o444 });
    writeFileSync(join(runtime, 'group'), `root:x:0:\nagent:x:${JAIL_UID}:\nnogroup:x:65534:\n`, { mode: 0o444 });
    writeFileSync(join(runtime, 'hosts'), '127.0.0.1\tlocalhost icode-jail\n::1\tlocalhost\n', { mode: 0o444 });
    mkdirSync(join(runtime, 'empty'), { mode: 0o555 });
    closeSync(openSync(join(runtime, 'empty-file'), 'wx', 0o444));
    const bpf = seccompProgram();
    const files: string[] = [];
    if (bpf) {
      writeFileSync(join(runtime, 'seccomp.bpf'), bpf, { mode: 0o400 });
      files.push(join(runtime, 'seccomp.bpf'));
    }
    if (ids) {
      chmodSync(runtime, 0o711);
      mkdirSync(join(runtime, 'reach'), { mode: 0o711 });
    }
    for (const real of reals) extra.push('--ro-bind', reach(real, true), real);
    const wsSource = reach(workspace, !o.writable);
    const ws = o.writable
      ? ['--bind', wsSource, workspace, ...rebaseSources(planProtection(workspace, normaliseProtected(o.protectedPaths, workspace), join(runtime, 'empty'), join(runtime, 'empty-file')).args, workspace, wsSource)]
      : ['--ro-bind', wsSource, workspace];
    for (const b of binds) {
      if (statSync(b.source).isDirectory()) mkdirSync(b.target, { mode: 0o700 });
      else closeSync(openSync(b.target, 'wx', 0o400));
    }
    const tmp = String(o.tmpBytes ?? DEFAULT_LIMITS.tmpBytes);
    const args = [
      ...namespaceArgs(ids !== null, o.network),
      '--die-with-parent', '--new-session', '--clearenv',
      ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
      '--uid', String(JAIL_UID), '--gid', String(JAIL_UID), '--hostname', 'icode-jail',
      ...systemArgs(o.network),
      '--ro-bind', join(runtime, 'passwd'), '/etc/passwd',
      '--ro-bind', join(runtime, 'group'), '/etc/group',
      ...(o.network ? [] : ['--ro-bind', join(runtime, 'hosts'), '/etc/hosts']),
      '--proc', '/proc',
      ...['/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/sched_debug'].filter((f) => existsSync(f)).flatMap((f) => ['--ro-bind', '/dev/null', f]),
      '--dev', '/dev',
      '--size', tmp, '--tmpfs', '/dev/shm',
      '--size', tmp, '--tmpfs', '/tmp',
      '--size', tmp, '--tmpfs', JAIL_HOME,
      '--symlink', '../tmp', '/var/tmp',
      ...extra,
      ...ws,
      '--remount-ro', '/dev',
      '--remount-ro', '/proc',
      '--remount-ro', '/',
      '--chdir', workspace,
      ...(files.length ? ['--seccomp', '3'] : []),
      '--',
      ...(o.limits ? stdioLimitArgv(o.limits) : []),
      o.command,
      ...o.args,
    ];
    return { ...(ids ? launcherCommand(ids, binds, args) : { file: BWRAP, args }), files, cleanup: () => rmSync(runtime, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(runtime, { recursive: true, force: true });
    throw e;
  }
}

/**
 * `bash -c 'ulimit …; exec "$0" "$@"'` in front of a program: hard and soft limits it cannot raise
 * (address space, file size, cpu seconds, processes; core files off), as for the shell jail's commands.
 * RLIMIT_NPROC is left out when icode runs as root (the jail's uid then maps to root, which the kernel
 * exempts). 0 in a limit means none.
 */
export function stdioLimitArgv(l: JailLimits): string[] {
  const r = resolveLimits(l);
  const root = process.getuid?.() === 0;
  return ['/bin/bash', '-c', `${entryLimitCommand(r, root ? 0 : r.processes)} || exit 126; ${commandLimitPrefix(r)}exec "$0" "$@"`];
}
