/**
 * A jail's configuration and its runtime directory on the host (`$TMPDIR/icode-jail-rt-PID-XXXXXX`):
 * synthetic account files, the empty objects bound over masked and missing protected paths, the compiled
 * seccomp filter, the overlay layers, and mode 'none''s private HOME and TMPDIR. Directories left by an
 * icode that died without closing its jails are removed at the next start.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { JAIL_HOME } from './env.js';
import type { ResolvedLimits } from './limits.js';
import { seccompProgram } from './seccomp.js';
import { JailError, type JailMode } from './types.js';

/** Where icode's own read-only files appear inside the jail (a directory of the jail's private root). */
export const RUN = '/run/icode';
/** The jail's user inside its user namespace (`agent`). */
export const JAIL_UID = 1000;
export const RUNTIME_PREFIX = 'icode-jail-rt-';

export interface Config {
  mode: JailMode;
  workspace: string;
  network: boolean;
  extraEnv: Record<string, string>;
  protectedPaths: string[];
  limits: ResolvedLimits;
  runtime: string;
  prefix: string;
  nodeBin: string;
  ptyDir: string;
  supervisor: string;
  isRoot: boolean;
  /** Compiled seccomp filter in the runtime directory, or null (architecture without a filter). */
  seccomp: string | null;
  /** Writes go through an overlay and the change gate (bwrap mode, unless read-only). */
  gate: boolean;
  readOnly: boolean;
  /** Workspace-relative paths masked inside the jail. */
  masks: string[];
  controlPaths: string[];
}

export function locateNodePty(): string {
  const req = createRequire(import.meta.url);
  return realpathSync(dirname(req.resolve('node-pty/package.json')));
}

/** Runtime directories left by an icode that died without closing its jails (its pid is gone). */
export function removeStaleRuntimeDirs(): void {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${RUNTIME_PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    const p = join(tmpdir(), name);
    try {
      const st = lstatSync(p);
      if (st.isDirectory() && st.uid === uid) rmSync(p, { recursive: true, force: true });
    } catch {
      /* raced with someone else */
    }
  }
}

/** Synthetic account files, the empty placeholders bound over missing protected paths, HOME for mode 'none'. */
export function writeRuntimeFiles(c: Config): void {
  writeFileSync(
    join(c.runtime, 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:${JAIL_UID}:${JAIL_UID}:icode agent:${JAIL_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    { mode: 0o444 },
  );
  writeFileSync(join(c.runtime, 'group'), `root:x:0:\nagent:x:${JAIL_UID}:\nnogroup:x:65534:\n`, { mode: 0o444 });
  writeFileSync(join(c.runtime, 'hosts'), '127.0.0.1\tlocalhost icode-jail\n::1\tlocalhost ip6-localhost ip6-loopback\n', { mode: 0o444 });
  mkdirSync(join(c.runtime, 'empty'), { mode: 0o555 });
  mkdirSync(join(c.runtime, 'layers'), { mode: 0o700 });
  closeSync(openSync(join(c.runtime, 'empty-file'), 'wx', 0o444));
  const bpf = c.mode === 'bwrap' ? seccompProgram() : null;
  if (bpf) {
    c.seccomp = join(c.runtime, 'seccomp.bpf');
    writeFileSync(c.seccomp, bpf, { mode: 0o400 });
  }
  if (c.mode === 'none') {
    mkdirSync(join(c.runtime, 'home'), { mode: 0o700 });
    mkdirSync(join(c.runtime, 'tmp'), { mode: 0o700 });
  }
}

/** Workspace-relative paths, checked and normalised (no absolute paths, no `..`). */
export function normaliseRelative(list: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of list) {
    if (typeof raw !== 'string' || !raw || raw.includes('\0')) throw new JailError(`path ${JSON.stringify(raw)}: not a path`);
    const norm = posix.normalize(raw.replace(/\/+$/, ''));
    if (posix.isAbsolute(norm) || norm === '.' || norm === '..' || norm.split('/').includes('..')) throw new JailError(`path ${raw}: must name something inside the workspace`);
    out.add(norm);
  }
  return [...out];
}
