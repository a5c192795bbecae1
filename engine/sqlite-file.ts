/**
 * Opening one of icode's own SQLite databases (the audit log, the sessions store) when the path comes
 * from the user — or from a file planted to look like one. icode recognises its databases by SQLite's
 * `application_id` header field and their schema version (`user_version`), and never writes into
 * anything else: another application's database, a non-SQLite file, a directory, a device, a newer
 * schema. What was found is said in one line (a `DbFileError`, exit 2).
 *
 * A missing path or an empty file becomes a new database of ours; a database written by an icode from
 * before `application_id` existed is recognised by its exact schema (`isLegacy`) and stamped on upgrade.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.js';
import { fileKind } from '../policies/pure/read-bounded.js';

/** Every database icode writes: application_id values ('icAu', 'icSe' in ASCII). */
export const ICODE_APP_IDS = Object.freeze({ audit: 0x69634175, sessions: 0x69635365 });
const NAMES: Record<number, string> = { [ICODE_APP_IDS.audit]: "icode's audit log", [ICODE_APP_IDS.sessions]: "icode's sessions database" };

/** A database path that is unusable (foreign, damaged, read-only, locked, full): one line, exit 2. */
export class DbFileError extends InputError {
  override readonly name = 'DbFileError';
  constructor(
    /** FOREIGN, NEWER, NOT_SQLITE, NOT_FILE, NOT_FOUND, READONLY, LOCKED, FULL, DAMAGED, IO */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface IcodeDbSpec {
  /** What the user asked for, for messages: "audit log", "sessions database". */
  what: string;
  appId: number;
  /** Newest schema version this icode understands. */
  version: number;
  /** True for a database of ours written before application_id was set (exact schema check). */
  isLegacy(db: Database.Database): boolean;
}

export interface OpenedIcodeDb {
  db: Database.Database;
  /** `new`: created or empty (no schema yet); `ours`: application_id matches; `legacy`: see isLegacy. */
  state: 'new' | 'ours' | 'legacy';
  version: number;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');


/** One line for an error SQLite (or the file system) raised on `file`, saying what to do. */
export function describeDbError(file: string, what: string, e: unknown): DbFileError {
  if (e instanceof DbFileError) return e;
  const code = String((e as { code?: unknown }).code ?? '');
  const msg = (e as Error).message ?? String(e);
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new DbFileError('READONLY', `${what} ${file} cannot be written (read-only file, directory or mount): give a writable path`);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DbFileError('LOCKED', `${what} ${file} is locked by another process: wait for it to finish, or use another path`);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return new DbFileError('FULL', `${what} ${file}: the disk is full: free some space, or use a path on another disk`);
  }
  if (code === 'SQLITE_NOTADB') return new DbFileError('NOT_SQLITE', `${file} is not a SQLite database, so not an icode ${what}; refusing to touch it`);
  if (code.startsWith('SQLITE_CORRUPT')) return new DbFileError('DAMAGED', `${what} ${file} is damaged (${msg}); restore it from a copy, or use another path`);
  if (code.startsWith('SQLITE_CANTOPEN') && dirNotWritable(file)) {
    // SQLite cannot make its -wal/-shm files beside the database.
    return new DbFileError('READONLY', `${what} ${file} is on a read-only file system or in a directory icode cannot write (SQLite needs its -wal and -shm files beside it): give a writable path, or copy it to one`);
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'ENOENT' || code === 'ENOTDIR') {
    return new DbFileError('IO', `cannot open ${what} ${file}: ${msg}`);
  }
  return new DbFileError('IO', `${what} ${file}: ${msg}${code ? ` (${code})` : ''}`);
}

function dirNotWritable(file: string): boolean {
  try {
    fs.accessSync(dirname(file), fs.constants.W_OK);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
  }
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * Opens `file` as the icode database described by `spec`, or throws a DbFileError saying what it is.
 * Never writes anything (the caller migrates); for a new database, creates the file (mode 0600).
 */
export function openIcodeDb(file: string, spec: IcodeDbSpec, opts: { readonly?: boolean; timeoutMs?: number } = {}): OpenedIcodeDb {
  const readonly = opts.readonly === true;
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw describeDbError(file, spec.what, e);
  }
  if (st === null) {
    if (readonly) throw new DbFileError('NOT_FOUND', `no ${spec.what} at ${file}`);
    try {
      fs.mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // O_EXCL: a file created meanwhile (by another icode) is opened below like any existing file.
      fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw describeDbError(file, spec.what, e);
    }
    st = fs.statSync(file);
  }
  if (!st.isFile()) throw new DbFileError('NOT_FILE', `${file} is ${fileKind(st)}, not an icode ${spec.what}`);
  if (st.size > 0) {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    let n = 0;
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        n = fs.readSync(fd, head, 0, head.length, 0);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw describeDbError(file, spec.what, e);
    }
    if (n < head.length || !head.equals(SQLITE_MAGIC)) {
      throw new DbFileError('NOT_SQLITE', `${file} is not a SQLite database (${st.size} bytes of something else), so not an icode ${spec.what}; refusing to touch it`);
    }
  } else if (readonly) {
    throw new DbFileError('FOREIGN', `${file} is an empty file, not an icode ${spec.what}`);
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly, fileMustExist: true, timeout: opts.timeoutMs ?? 5000 });
  } catch (e) {
    throw describeDbError(file, spec.what, e);
  }
  try {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    if (appId === spec.appId) {
      if (version > spec.version) {
        throw new DbFileError('NEWER', `${spec.what} ${file} has schema version ${version}, newer than this icode understands (${spec.version}): upgrade icode`);
      }
      return { db, state: version === 0 ? 'new' : 'ours', version };
    }
    if (appId === 0 && version === 0 && tables.length === 0) return { db, state: 'new', version };
    if (appId === 0 && spec.isLegacy(db)) return { db, state: 'legacy', version };
    const other = NAMES[appId];
    const found = other
      ? other
      : `a SQLite database of another application (application_id ${hex(appId)}, user_version ${version}, ` +
        `${tables.length ? `tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}` : 'no tables'})`;
    throw new DbFileError('FOREIGN', `${file} is ${found}, not an icode ${spec.what}; refusing to touch it`);
  } catch (e) {
    db.close();
    const err = describeDbError(file, spec.what, e);
    // The header said SQLite: a file SQLite then cannot read is a damaged database, not a foreign file.
    if (err.reason === 'NOT_SQLITE') throw new DbFileError('DAMAGED', `${spec.what} ${file} is damaged (${(e as Error).message}); restore it from a copy, or use another path`);
    throw err;
  }
}
