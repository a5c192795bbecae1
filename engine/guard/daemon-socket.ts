/**
 * Where the per-user guard daemon listens, shared by the hook client (client.ts) and the daemon
 * (daemon.ts). Node built-ins only: the client loads this on every hook call.
 *
 * The socket lives in a per-user directory that must be a real directory owned by this user with
 * mode 0700 ($XDG_RUNTIME_DIR/icode, else $TMPDIR/icode-<uid>); anything else (a symlink, another
 * owner, looser bits) means no daemon, and the hook takes the cold path. The socket's name carries a
 * key over everything that changes an answer besides the request itself: the build of icode (this
 * file's mtime, so a rebuild or upgrade starts a fresh daemon), the Node binary, and the environment
 * icode reads (ICODE_*, OTEL_*, XDG_*, HOME, PATH, TMPDIR). A client whose environment differs talks to
 * a daemon started with that environment, never to one with another audit log or policy.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped when the request or answer shape changes. */
export const GUARD_PROTOCOL = 1;

/** unix socket paths are limited to ~108 bytes; a longer one means no daemon. */
const MAX_SOCKET_PATH = 100;

const KEYED_ENV = /^(ICODE_|OTEL_|XDG_)|^(HOME|PATH|TMPDIR|USER|LANG)$/;
/** The daemon's own knobs do not change an answer (and a client must find the daemon whatever its timeout). */
const UNKEYED_ENV = /^ICODE_GUARD_/;

/** Off with ICODE_GUARD_DAEMON=0 (every hook call then takes the cold path), and off where there are no uids. */
export function daemonEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ICODE_GUARD_DAEMON !== '0' && process.platform !== 'win32' && typeof process.getuid === 'function';
}

/** The private runtime directory, created 0700 if missing; null when it is not safely ours. */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  const dir = env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR) ? join(env.XDG_RUNTIME_DIR, 'icode') : join(tmpdir(), `icode-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  try {
    const st = lstatSync(dir);
    // Not a symlink, ours, nobody else may enter (mkdir's mode is also cut by the umask: check, never assume).
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null;
  } catch {
    return null;
  }
  return dir;
}

/** The key of this build and environment (see the file comment). */
export function daemonKey(env: NodeJS.ProcessEnv = process.env): string {
  let build = '';
  try {
    build = String(statSync(fileURLToPath(import.meta.url)).mtimeMs);
  } catch {
    /* the path still keys it */
  }
  const keyed = Object.keys(env)
    .filter((k) => KEYED_ENV.test(k) && !UNKEYED_ENV.test(k))
    .sort()
    .map((k) => [k, env[k]]);
  return createHash('sha256')
    .update(JSON.stringify({ v: GUARD_PROTOCOL, file: fileURLToPath(import.meta.url), build, node: process.execPath, version: process.version, env: keyed }))
    .digest('hex')
    .slice(0, 20);
}

/** The socket for this build and environment, or null (no daemon: the cold path). */
export function daemonSocketPath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (!daemonEnabled(env)) return null;
  const dir = runtimeDir(env);
  if (!dir) return null;
  const path = join(dir, `guard-${daemonKey(env)}.sock`);
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH ? path : null;
}

/** One hook event, as the client sends it (paths already resolved against the client's cwd). */
export interface GuardRequest {
  v: number;
  agent: 'claude-code' | 'gemini-cli';
  text: string;
  cwd: string;
  policy?: string;
  audit?: string;
  otel?: boolean;
}

export interface GuardReply {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A reply is used only when it has exactly the expected shape; anything else: the cold path. */
export function isGuardReply(v: unknown): v is GuardReply {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.stdout === 'string' && typeof o.stderr === 'string' && Number.isInteger(o.exitCode) && o.stdout.length > 0;
}

export function isGuardRequest(v: unknown): v is GuardRequest {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  const optStr = (x: unknown): boolean => x === undefined || (typeof x === 'string' && x.length > 0 && x.length <= 4096);
  return (
    o.v === GUARD_PROTOCOL &&
    (o.agent === 'claude-code' || o.agent === 'gemini-cli') &&
    typeof o.text === 'string' &&
    typeof o.cwd === 'string' &&
    isAbsolute(o.cwd) &&
    optStr(o.policy) &&
    optStr(o.audit) &&
    (o.otel === undefined || typeof o.otel === 'boolean')
  );
}
