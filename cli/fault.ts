/**
 * One answer for every fault: an error becomes ONE line on stderr (what failed, which file, what to
 * do) and the documented exit code. Stack traces only with `--debug` (or ICODE_DEBUG=1).
 *
 * Exit codes: 2 bad input, usage or policy (the user can fix the command line or a file they named) ·
 * 4 icode or the machine failed (a state directory without permission, a full disk, a missing bwrap,
 * a bug).
 */
import { dirname } from 'node:path';
import { InputError } from '../engine/errors.js';
import { terminalSafe } from '../engine/terminal-safe.js';

export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 4;

let debug = process.env.ICODE_DEBUG === '1';

export function setDebug(on: boolean): void {
  debug = on;
}

export interface Fault {
  code: number;
  /** One line, without the `icode: ` prefix; policy errors keep their file:line:col list below it. */
  message: string;
}

interface ErrnoLike {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
  message: string;
}

function isErrno(e: unknown): e is ErrnoLike {
  const code = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** A system call's failure, said as what it means for the user and what to do about it. */
function errnoFault(e: ErrnoLike): Fault {
  const path = e.path ?? '(unknown path)';
  const verb = e.syscall ? `${e.syscall.replace(/^uv_/, '')} ${path}` : path;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return { code: EXIT_INTERNAL, message: `permission denied: cannot ${verb}; fix the permissions of ${dirname(path)} (or point icode elsewhere: --audit, --sessions-db, XDG_STATE_HOME)` };
    case 'EROFS':
      return { code: EXIT_INTERNAL, message: `read-only file system: cannot ${verb}; use a writable location (--audit, --sessions-db, XDG_STATE_HOME)` };
    case 'ENOSPC':
    case 'EDQUOT':
      return { code: EXIT_INTERNAL, message: `no space left on the device: cannot ${verb}; free some space and run again` };
    case 'ENOENT':
      if (e.syscall === 'uv_cwd') return { code: EXIT_USAGE, message: 'the current directory no longer exists (deleted or moved?); cd into an existing directory and run again' };
      return { code: EXIT_USAGE, message: `no such file or directory: ${path}; check the path` };
    case 'ENOTDIR':
      return { code: EXIT_USAGE, message: `not a directory: ${path}; check the path` };
    case 'EISDIR':
      return { code: EXIT_USAGE, message: `is a directory, expected a file: ${path}` };
    default:
      return { code: EXIT_INTERNAL, message: `${e.message}${e.path && !e.message.includes(e.path) ? ` (${e.path})` : ''}` };
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** What to print and which code to exit with, for anything a command threw. */
export function describeFault(e: unknown): Fault {
  if (e instanceof Error && e.name === 'PolicyError') return { code: EXIT_USAGE, message: `invalid policy\n${e.message}` };
  if (e instanceof InputError) return { code: e.exitCode, message: e.message };
  if (e instanceof Error && (e as { exitCode?: unknown }).exitCode === EXIT_USAGE) return { code: EXIT_USAGE, message: e.message };
  if (isErrno(e)) return errnoFault(e);
  // Faults other modules already word for the user (the audit log's, the jail's, SQLite's): their message.
  if (e instanceof Error && ['AuditError', 'JailError', 'SqliteError', 'HookConfigError', 'SessionError'].includes(e.name)) {
    return { code: EXIT_INTERNAL, message: oneLine(e.message) };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { code: EXIT_INTERNAL, message: `internal error: ${oneLine(msg)}${debug ? '' : ' (run with --debug for the stack trace)'}` };
}

/** Print a fault (and, with --debug, its stack) and return its exit code. */
export function reportFault(e: unknown, write: (s: string) => void = (s) => void process.stderr.write(s)): number {
  const f = describeFault(e);
  // Error text can carry model- or file-chosen strings: escapes are shown, never sent raw.
  write(terminalSafe(`icode: ${f.message}\n`));
  if (debug && e instanceof Error && e.stack) write(terminalSafe(`${e.stack}\n`));
  return f.code;
}
