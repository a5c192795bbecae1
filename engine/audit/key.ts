/**
 * The audit chain's key: 32 random bytes per installation, kept in icode's state directory
 * (`$XDG_STATE_HOME/icode/audit.key`, else `~/.local/state/icode/audit.key`), outside every workspace
 * and (masked by the jail) invisible to every jailed command. Rows written with the key carry
 * `hash = HMAC-SHA256(key, prev_hash + canonical row)`, so rewriting the chain needs the key, not just
 * write access to the database.
 *
 * The file is created with mode 0600 (O_EXCL, then linked into place so that two processes creating
 * it at once agree on one key). A key file that is a symlink, not a regular file, owned by another
 * user, or readable/writable by group or others is refused with a message saying how to fix it:
 * a key others can read is no key.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { InputError } from '../errors.js';
import { stateDir } from '../xdg.js';

/** Why a key cannot be used; the CLI shows the message as one line (exit 2). */
export class AuditKeyError extends InputError {
  override readonly name = 'AuditKeyError';
}

export interface AuditKey {
  /** The secret. */
  key: Buffer;
  /** Public id stored in each keyed row: the first 16 hex digits of sha256(key). */
  id: string;
  path: string;
  /**
   * When the key file was made (its mtime, ms): rows dated after it must be keyed. Only the key's owner
   * can change it, and a forger without the key who rewrites the chain unkeyed must then date every
   * row before the key existed.
   */
  createdMs: number;
}

/**
 * Where the audit key lives (`ICODE_AUDIT_KEY` overrides, for tests and unusual setups). The jail must
 * mask this file's directory: a jailed command that could read the key could rewrite the chain.
 */
export function auditKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.ICODE_AUDIT_KEY;
  if (override && isAbsolute(override)) return override;
  return join(stateDir(env), 'audit.key');
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

const KEY_BYTES = 32;

/** Reads the key at `path`, checking owner, mode and type. Null when there is no file. */
export function loadAuditKey(path: string): AuditKey | null {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new AuditKeyError(`audit key ${path} is a symlink; refusing it (replace it with the key file itself, mode 0600)`);
    throw new AuditKeyError(`cannot read audit key ${path}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new AuditKeyError(`audit key ${path} is not a regular file; refusing it`);
    const uid = process.geteuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new AuditKeyError(`audit key ${path} belongs to uid ${st.uid}, not to this user (uid ${uid}); refusing it (chown it or remove it)`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new AuditKeyError(
        `audit key ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: others may read it; run \`chmod 600 ${path}\` (and consider the key leaked)`,
      );
    }
    if (st.size > 4096) throw new AuditKeyError(`audit key ${path} is ${st.size} bytes; not an icode audit key`);
    const text = fs.readFileSync(fd, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new AuditKeyError(`audit key ${path} is malformed (expected 64 hex digits)`);
    const key = Buffer.from(text, 'hex');
    return { key, id: keyId(key), path, createdMs: st.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

/** Loads the key at `path`, creating it (mode 0600, parent 0700) when there is none. */
export function loadOrCreateAuditKey(path: string): AuditKey {
  const existing = loadAuditKey(path);
  if (existing) return existing;
  try {
    fs.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    // A machine fault (permissions, read-only or full disk) is reported as such by the CLI (exit 4).
    if (['EACCES', 'EPERM', 'EROFS', 'ENOSPC'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    throw new AuditKeyError(`cannot create the directory of audit key ${path}: ${(e as Error).message}`);
  }
  const key = randomBytes(KEY_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // whatever the umask
      fs.writeFileSync(fd, key.toString('hex') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, path); // atomic, and never replaces a key another process created meanwhile
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } catch (e) {
    if (e instanceof AuditKeyError) throw e;
    throw new AuditKeyError(`cannot create audit key ${path}: ${(e as Error).message}`);
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
  }
  const made = loadAuditKey(path);
  if (!made) throw new AuditKeyError(`audit key ${path} vanished while it was being created`);
  return made;
}
