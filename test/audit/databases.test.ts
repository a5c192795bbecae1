/**
 * `--audit`, `--db` and `--sessions-db` pointing at something that is not icode's: another
 * application's SQLite file, a non-SQLite file, a directory, /dev/null, a newer schema, the other icode
 * database, a read-only mount, a full disk, a locked file. icode recognises its own databases by
 * application_id and user_version, never writes into anything else, and says what it found in one
 * line (exit 2). Also: exports that cannot be written, damaged logs, nonsense numbers.
 * Real SQLite files, real tmpfs mounts (when the test runs as root), the real `icode` binary.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exitCodeFor } from '../../cli/main.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { AuditLog, SCHEMA_VERSION } from '../../engine/audit/log.js';
import { ICODE_APP_IDS } from '../../engine/sqlite-file.js';
import { packageRoot } from '../../policies/package-root.js';
import { icode, icodeInProcess } from '../helpers/cli.js';
import { decision, outcome, tempDir } from './helpers.js';

const tmp = tempDir('icode-dbs-');
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (): string => {
  const d = join(tmp.dir, `case-${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const digest = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** `icode ARGS` in process; an error the command throws gets what cli/main.ts prints and exits with. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return await icodeInProcess(args);
  } catch (e) {
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      return { code: exitCodeFor(e), stdout: '', stderr };
    } finally {
      spy.mockRestore();
    }
  }
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |internal error/);
  return lines[0];
}

function foreignDb(path: string): void {
  const db = new Database(path);
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('my data')");
  db.pragma('user_version = 7');
  db.pragma('application_id = 1234');
  db.close();
}

/** Every kind of not-ours, made fresh in `dir`; `expect` is what the one line must say. */
function notOurs(dir: string): Array<{ name: string; path: string; expect: RegExp }> {
  const app = join(dir, 'other-app.db');
  foreignDb(app);
  const noId = join(dir, 'no-app-id.db');
  const d = new Database(noId);
  d.exec('CREATE TABLE audit (x); CREATE TABLE sessions (y)'); // names icode uses, but not icode's
  d.close();
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'just some text, not a database\n'.repeat(10));
  const dirPath = join(dir, 'a-directory');
  mkdirSync(dirPath);
  const newer = join(dir, 'newer.db');
  const nd = new Database(newer);
  nd.pragma(`application_id = ${ICODE_APP_IDS.audit}`);
  nd.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  nd.exec('CREATE TABLE future (x)');
  nd.close();
  return [
    { name: 'another application', path: app, expect: /another application \(application_id 0x000004d2, user_version 7, tables notes\).*refusing to touch it/ },
    { name: 'no application id, foreign tables', path: noId, expect: /another application \(application_id 0x00000000, user_version 0, tables audit, sessions\)/ },
    { name: 'a text file', path: text, expect: /is not a SQLite database/ },
    { name: 'a directory', path: dirPath, expect: /is a directory/ },
    { name: '/dev/null', path: '/dev/null', expect: /\/dev\/null is a character device/ },
    { name: 'a newer schema', path: newer, expect: /schema version \d+, newer than this icode understands/ },
  ];
}

describe('foreign databases are recognised and never written', () => {
  it('AuditLog.open and SessionStore.open refuse each, leaving the file byte for byte as it was', () => {
    for (const c of notOurs(fresh())) {
      const before = statSync(c.path).isFile() ? digest(c.path) : null;
      expect(() => AuditLog.open(c.path), c.name).toThrow(c.name === 'a newer schema' ? /newer/ : c.expect);
      if (c.name !== 'a newer schema') expect(() => SessionStore.open(c.path), c.name).toThrow(c.expect);
      if (before) expect(digest(c.path), c.name).toBe(before);
      expect(existsSync(`${c.path}-wal`), c.name).toBe(false);
    }
  });

  it('icode exec --audit FOREIGN: exit 2, one line naming the file and what it is, nothing run, nothing written', { timeout: 240_000 }, async () => {
    const dir = fresh();
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    for (const c of notOurs(dir)) {
      const before = statSync(c.path).isFile() ? digest(c.path) : null;
      // The real binary for one case (a spawn costs seconds on a shared machine), the same command tree in process for the rest.
      const args = ['exec', '--tool', 'write', '--input', JSON.stringify({ path: 'marker.txt', content: 'x' }), '--workspace', ws, '--policy', 'builtin:workspace-write', '--audit', c.path];
      const r = c.name === 'another application' ? icode(args) : await cli(args);
      expect(r.code, c.name).toBe(2);
      const line = oneLine(r.stderr);
      expect(line, c.name).toContain(c.path);
      expect(line, c.name).toMatch(c.expect);
      expect(existsSync(join(ws, 'marker.txt')), c.name).toBe(false);
      if (before) expect(digest(c.path), c.name).toBe(before);
    }
  });

  it('icode audit list --db / sessions list --sessions-db FOREIGN: exit 2, one line', async () => {
    for (const c of notOurs(fresh())) {
      const a = await icodeInProcess(['audit', 'list', '--db', c.path]);
      expect(a.code, c.name).toBe(2);
      expect(oneLine(a.stderr), c.name).toMatch(c.name === 'a newer schema' ? /newer/ : c.expect);
      const s = await cli(['sessions', 'list', '--sessions-db', c.path]);
      expect(s.code, c.name).toBe(2);
      expect(oneLine(s.stderr), c.name).toMatch(c.name === 'a newer schema' ? /not an icode sessions database|newer/ : c.expect);
    }
  });

  it("the audit log and the sessions database are not each other's", () => {
    const dir = fresh();
    const audit = join(dir, 'audit.db');
    AuditLog.open(audit).close();
    const sessions = join(dir, 'sessions.db');
    SessionStore.open(sessions).close();
    expect(() => AuditLog.open(sessions)).toThrow(/is icode's sessions database, not an icode audit log/);
    expect(() => SessionStore.open(audit)).toThrow(/is icode's audit log, not an icode sessions database/);
  });

  it('an absent path or an empty file becomes icode’s, stamped with its application id (mode 0600)', async () => {
    const dir = fresh();
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    for (const p of [join(dir, 'sub', 'new.db'), empty]) {
      const log = AuditLog.open(p);
      await log.recordDecision(decision(1));
      log.close();
      const db = new Database(p, { readonly: true });
      expect(db.pragma('application_id', { simple: true })).toBe(ICODE_APP_IDS.audit);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      db.close();
      if (p !== empty) expect(statSync(p).mode & 0o777).toBe(0o600);
    }
    const s = join(dir, 'sessions.db');
    SessionStore.open(s).close();
    const db = new Database(s, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(ICODE_APP_IDS.sessions);
    db.close();
  });

  it('a log written before application_id existed (schema 1) is recognised, read as it is, and upgraded additively', async () => {
    const dir = fresh();
    const path = join(dir, 'legacy.db');
    // Build a schema-1 log exactly as the previous icode did: today's objects minus the columns of schemas 2 and 3.
    const model = join(dir, 'model.db');
    AuditLog.open(model, { key: null }).close();
    const m = new Database(model, { readonly: true });
    const objects = m.prepare("SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type = 'table' DESC").all() as Array<{ sql: string }>;
    m.close();
    const legacy = new Database(path);
    for (const o of objects) legacy.exec(o.sql.replace(/\n, input_hash TEXT, mac_key TEXT(?:, error_code TEXT)?\) STRICT/, '\n) STRICT'));
    legacy.pragma('user_version = 1');
    legacy.close();
    // Its rows, by the schema-1 recipe (plain sha256), through a writer with no key on a copy.
    let log = AuditLog.open(path, { readonly: true });
    expect(log.verify()).toMatchObject({ ok: true, rows: 0 });
    log.close();
    log = AuditLog.open(path);
    await log.recordDecision(decision(1));
    await log.recordOutcome(outcome(1));
    expect(log.verify()).toMatchObject({ ok: true, rows: 2, keyed: 2 });
    log.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(ICODE_APP_IDS.audit);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });
});

describe('files that cannot be written, locked files, full disks', () => {
  it('a locked audit log: one clear line naming the file and what to do', async () => {
    const dir = fresh();
    const path = join(dir, 'audit.db');
    AuditLog.open(path).close();
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const log = AuditLog.open(path, { busyTimeoutMs: 50 });
      await expect(log.recordDecision(decision(1))).rejects.toThrow(`audit log ${path} is locked by another process: wait for it to finish, or use another path`);
      log.close();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  const root = process.getuid?.() === 0;
  /** A tmpfs of `size` mounted at a fresh directory (root only), unmounted when this group ends. */
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) execFileSync('umount', ['-l', m]);
  });
  function tmpfs(size: string): string {
    const dir = fresh();
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }

  it.skipIf(!root)('a read-only mount: exec --audit exits 2 saying the file cannot be written', { timeout: 240_000 }, async () => {
    const mnt = tmpfs('1m');
    const path = join(mnt, 'audit.db');
    const log = AuditLog.open(path);
    await log.recordDecision(decision(1));
    log.close();
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const ws = fresh();
    const r = icode(['exec', '--tool', 'list', '--input', '{}', '--workspace', ws, '--policy', 'builtin:workspace-write', '--audit', path]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toContain(`audit log ${path} is on a read-only file system or in a directory icode cannot write`);
    const fresh2 = icode(['exec', '--tool', 'list', '--input', '{}', '--workspace', ws, '--policy', 'builtin:workspace-write', '--audit', join(mnt, 'new.db')]);
    expect(fresh2.code).toBe(2);
    expect(oneLine(fresh2.stderr)).toMatch(/cannot be written|read-only/);
    // Reading needs the same: one line, exit 2, not a stack trace.
    const list = await icodeInProcess(['audit', 'list', '--db', path]);
    expect(list.code).toBe(2);
    expect(oneLine(list.stderr)).toContain('read-only file system');
  });

  it.skipIf(!root)('a full disk: a new audit log, and an export, fail with one line saying the disk is full', { timeout: 240_000 }, async () => {
    const mnt = tmpfs('64k');
    // Fill the file system.
    const filler = openSync(join(mnt, 'filler'), 'w');
    try {
      const chunk = Buffer.alloc(4096, 1);
      for (;;) writeSync(filler, chunk);
    } catch {
      /* ENOSPC: full */
    } finally {
      closeSync(filler);
    }
    const ws = fresh();
    const r = icode(['exec', '--tool', 'list', '--input', '{}', '--workspace', ws, '--policy', 'builtin:workspace-write', '--audit', join(mnt, 'audit.db')]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/the disk is full: free some space, or use a path on another disk/);

    const src = join(fresh(), 'audit.db');
    const log = AuditLog.open(src);
    for (let i = 1; i <= 300; i++) await log.recordDecision(decision(i, { input: { command: 'x'.repeat(200) } }));
    log.close();
    const out = join(mnt, 'export.jsonl');
    const e = await icodeInProcess(['audit', 'export', '--db', src, '--out', out]);
    expect(e.code).toBe(2);
    expect(oneLine(e.stderr)).toMatch(new RegExp(`export ${out} failed after \\d+ rows: no space left on the device \\(the disk is full\\); the partial file was removed`));
    expect(existsSync(out)).toBe(false);
  });

  it('an export to /dev/full, a missing directory, a directory: exit 2, says why, never "exported"', async () => {
    const dir = fresh();
    const src = join(dir, 'audit.db');
    const log = AuditLog.open(src);
    for (let i = 1; i <= 50; i++) await log.recordDecision(decision(i));
    log.close();
    const cases: Array<[string, RegExp]> = [
      ['/dev/full', /export \/dev\/full failed after \d+ rows: no space left on the device/],
      [join(dir, 'missing', 'out.jsonl'), /cannot write the export to .*: its directory does not exist/],
      [dir, /cannot write the export to .*: it is a directory/],
    ];
    for (const [out, msg] of cases) {
      const r = await icodeInProcess(['audit', 'export', '--db', src, '--out', out]);
      expect(r.code, out).toBe(2);
      expect(oneLine(r.stderr), out).toMatch(msg);
      expect(r.stderr).not.toContain('exported');
    }
    // The real binary, stdout redirected to /dev/full: the same, not an unhandled stream error.
    const sh = spawnShell(`'${process.execPath}' '${join(packageRoot(), 'bin/icode.js')}' audit export --db '${src}' >/dev/full`);
    expect(sh.code).toBe(2);
    expect(oneLine(sh.stderr)).toMatch(/export stdout failed after \d+ rows: no space left on the device/);
    // And a complete export says how many rows it wrote, and wrote them all.
    const ok = await icodeInProcess(['audit', 'export', '--db', src, '--out', join(dir, 'all.jsonl')]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`exported 50 rows to ${join(dir, 'all.jsonl')}`);
    expect(readFileSync(join(dir, 'all.jsonl'), 'utf8').trim().split('\n')).toHaveLength(50);
  });
});

function spawnShell(cmd: string): { code: number | null; stderr: string } {
  try {
    execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { status: number | null; stderr: string };
    return { code: err.status, stderr: err.stderr };
  }
}

describe('audit verify on a truncated or damaged log: a failed check (exit 1) with the first bad position', () => {
  let src: string;
  beforeAll(async () => {
    src = join(fresh(), 'audit.db');
    const log = AuditLog.open(src);
    for (let i = 1; i <= 400; i++) {
      await log.recordDecision(decision(i, { input: { command: `echo ${'y'.repeat(300)} ${i}` } }));
      await log.recordOutcome(outcome(i));
    }
    log.close();
  });

  it('truncated to half, to one page, to a few bytes past the header', async () => {
    const size = statSync(src).size;
    for (const keep of [Math.floor(size / 2), 4096 * 3, 4096]) {
      const copy = join(fresh(), 'cut.db');
      writeFileSync(copy, readFileSync(src));
      truncateSync(copy, keep);
      const r = await icodeInProcess(['audit', 'verify', '--db', copy]);
      expect(r.code, `truncated to ${keep}`).toBe(1);
      expect(r.stdout, `truncated to ${keep}`).toMatch(new RegExp(`^audit log BROKEN: first bad(: byte ${keep} \\(page \\d+\\): the file is truncated| row \\d+:)`));
      expect(r.stderr).toBe('');
    }
  });

  it('garbage written over a page in the middle', async () => {
    const copy = join(fresh(), 'damaged.db');
    const bytes = readFileSync(src);
    bytes.fill(0x5a, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 4096);
    writeFileSync(copy, bytes);
    const r = await icodeInProcess(['audit', 'verify', '--db', copy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit log BROKEN: first bad(:| row \d+:)/);
  });
});

describe('nonsense numbers are usage errors (exit 2), never internal errors', () => {
  let db: string;
  beforeAll(async () => {
    db = join(fresh(), 'audit.db');
    const log = AuditLog.open(db);
    await log.recordDecision(decision(1));
    log.close();
  });

  it('--limit', async () => {
    for (const bad of ['1e99', '1e3', '0', '-1', '1.5', '0x10', '', ' 3', 'abc', 'Infinity', 'NaN', '99999999999999999999', '1_000']) {
      for (const sub of ['list', 'export']) {
        const r = await icodeInProcess(['audit', sub, '--db', db, '--limit', bad]);
        expect(r.code, `${sub} --limit ${JSON.stringify(bad)}`).toBe(2);
        expect(oneLine(r.stderr)).toMatch(/--limit: expected a whole number from 1 to/);
      }
    }
    expect((await icodeInProcess(['audit', 'list', '--db', db, '--limit', '1000000000', '--json'])).code).toBe(0);
  });

  it('--since, show IDs, and the other parsers', async () => {
    for (const bad of ['9999999999999999999999d', '1e400', 'yesterday-ish', '']) {
      const r = await icodeInProcess(['audit', 'list', '--db', db, '--since', bad]);
      expect(r.code, `--since ${bad}`).toBe(2);
      oneLine(r.stderr);
    }
    const show = await icodeInProcess(['audit', 'show', '--db', db, '99999999999999999999999']);
    expect(show.code).toBe(2);
    expect(oneLine(show.stderr)).toContain('no audit row');
    // cli/parse.ts, used by other commands' numeric options.
    const s = icode(['sessions', 'list', '--sessions-db', join(fresh(), 's.db'), '--limit', '1e99']);
    expect(s.code).toBe(2);
  });
});
