/**
 * The keyed chain: the installation key's file (mode, owner, type), rows signed with HMAC-SHA256, a
 * forger who holds the database but not the key, old unkeyed rows, and the hash of the unredacted input.
 * Real SQLite files, real key files, the real `icode audit verify`.
 */
import Database from 'better-sqlite3';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditKeyPath, AuditKeyError, loadAuditKey, loadOrCreateAuditKey } from '../../engine/audit/key.js';
import { AuditLog, canonicalJson, AUDIT_COLUMNS, GENESIS_HASH, inputHash, rowHash, rowMac } from '../../engine/audit/log.js';
import { icodeInProcess } from '../helpers/cli.js';
import { decision, outcome, tempDir } from './helpers.js';

const tmp = tempDir('icode-key-');
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (): string => join(tmp.dir, `case-${++n}`);

describe('the audit key file', () => {
  it('is created 0600 in a 0700 directory, 64 hex digits, and reused', () => {
    const path = join(fresh(), 'state', 'icode', 'audit.key');
    const k = loadOrCreateAuditKey(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(loadOrCreateAuditKey(path).key.equals(k.key)).toBe(true);
    expect(k.id).toBe(createHash('sha256').update(k.key).digest('hex').slice(0, 16));
  });

  it('lives in icode state directory (XDG), outside any workspace; ICODE_AUDIT_KEY overrides', () => {
    expect(auditKeyPath({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe('/x/state/icode/audit.key');
    expect(auditKeyPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/icode/audit.key');
    expect(auditKeyPath({ HOME: '/home/u', ICODE_AUDIT_KEY: '/k/audit.key' })).toBe('/k/audit.key');
  });

  it('refuses a key readable by others, a key of another owner, a symlink, a directory, garbage', () => {
    const dir = fresh();
    const path = join(dir, 'audit.key');
    loadOrCreateAuditKey(path);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      expect(() => loadAuditKey(path)).toThrow(AuditKeyError);
      expect(() => loadAuditKey(path)).toThrow(new RegExp(`mode 0${mode.toString(8)}.*chmod 600 ${path}`));
    }
    chmodSync(path, 0o600);
    if (process.getuid?.() === 0) {
      chownSync(path, 4242, 4242);
      expect(() => loadAuditKey(path)).toThrow(/belongs to uid 4242/);
      chownSync(path, 0, 0);
    }
    const link = join(dir, 'link.key');
    symlinkSync(path, link);
    expect(() => loadAuditKey(link)).toThrow(/symlink/);
    mkdirSync(join(dir, 'dir.key'));
    expect(() => loadAuditKey(join(dir, 'dir.key'))).toThrow(/not a regular file/);
    writeFileSync(join(dir, 'bad.key'), 'not a key\n', { mode: 0o600 });
    expect(() => loadAuditKey(join(dir, 'bad.key'))).toThrow(/malformed/);
    // A writer refuses to start on a loose key (the default key, from the environment): nothing is
    // written, not even an empty database.
    chmodSync(path, 0o644);
    const before = process.env.ICODE_AUDIT_KEY;
    process.env.ICODE_AUDIT_KEY = path;
    try {
      expect(() => AuditLog.open(join(dir, 'audit.db'))).toThrow(/chmod 600/);
      expect(existsSync(join(dir, 'audit.db'))).toBe(false);
    } finally {
      process.env.ICODE_AUDIT_KEY = before;
    }
  });
});

describe('the keyed chain', () => {
  it('every row is an HMAC with the key; the decision keeps the hash of the unredacted input', async () => {
    const dir = fresh();
    const key = loadOrCreateAuditKey(join(dir, 'audit.key'));
    const db = join(dir, 'audit.db');
    const log = AuditLog.open(db, { key });
    const input = { command: 'mysql --password: hunter2 && make deploy' };
    await log.recordDecision(decision(1, { tool: 'shell', input }));
    await log.recordOutcome(outcome(1));
    const rows = log.list();
    expect(rows[0].input).toEqual({ command: 'mysql --password: [REDACTED:password] && make deploy' });
    expect(rows[0].inputHash).toBe(createHmac('sha256', key.key).update(JSON.stringify(input)).digest('hex'));
    expect(rows[0].inputHash).toBe(inputHash(input, key.key));
    expect(rows.every((r) => r.macKey === key.id)).toBe(true);
    expect(log.verify()).toMatchObject({ ok: true, rows: 2, keyed: 2, unkeyed: 0, keyId: key.id });
    log.close();
  });

  it('a forger who holds the database but not the key cannot rewrite the chain', async () => {
    const dir = fresh();
    const key = loadOrCreateAuditKey(join(dir, 'audit.key'));
    const db = join(dir, 'audit.db');
    const log = AuditLog.open(db, { key });
    for (let i = 1; i <= 5; i++) {
      await log.recordDecision(decision(i, { input: { command: `echo ${i}` }, tool: 'shell' }));
      await log.recordOutcome(outcome(i));
    }
    log.close();

    // The forger rewrites row 5's command (call 3's decision) and recomputes every hash after it, by the documented recipe,
    // with the only thing they lack replaced: (a) plain sha256, (b) an HMAC with a key of their own.
    for (const forgery of ['sha256', 'own-key'] as const) {
      const copy = join(dir, `forged-${forgery}.db`);
      writeFileSync(copy, readFileSync(db));
      const raw = new Database(copy);
      raw.exec('DROP TRIGGER audit_no_update');
      const all = raw.prepare('SELECT * FROM audit ORDER BY seq').all() as Array<Record<string, string | number | null>>;
      const own = Buffer.alloc(32, 7);
      const ownId = createHash('sha256').update(own).digest('hex').slice(0, 16);
      let prev = GENESIS_HASH;
      for (const row of all) {
        const fields: Record<string, string | number | null> = { ...row };
        delete fields.prev_hash;
        delete fields.hash;
        if (row.seq === 5) fields.input = JSON.stringify({ command: 'echo harmless' });
        fields.mac_key = forgery === 'sha256' ? null : ownId;
        const cells = AUDIT_COLUMNS.map((c) => fields[c] ?? null);
        const hash = forgery === 'sha256' ? rowHash(prev, cells) : rowMac(own, prev, cells);
        raw.prepare('UPDATE audit SET input = ?, mac_key = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(fields.input, fields.mac_key, prev, hash, row.seq);
        prev = hash;
      }
      raw.exec("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END");
      raw.close();
      const forged = AuditLog.open(copy, { readonly: true, key });
      const v = forged.verify();
      forged.close();
      expect(v.ok).toBe(false);
      if (forgery === 'sha256') {
        // Every row now looks "unkeyed", yet is dated after the key was made: only a forger writes that.
        expect(v.keyed).toBe(0);
        expect(v.unkeyed).toBe(10);
        expect(v.firstBad?.seq).toBe(1);
        expect(v.firstBad?.problem).toMatch(/^unkeyed row dated after the audit key was made/);
      } else {
        expect(v.firstBad).toEqual({ seq: 1, problem: `row is keyed with key ${ownId}, not with this installation's key ${key.id}: its HMAC cannot be checked` });
      }
      const r = await icodeInProcess(['audit', 'verify', '--db', copy, '--key', join(dir, 'audit.key')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(forgery === 'sha256' ? /BROKEN: first bad row 1: unkeyed row dated after[^]*10 unkeyed/ : /BROKEN: first bad row 1: row is keyed with key/);
    }
    // Changing one row without recomputing anything is caught as before.
    const copy = join(dir, 'edited.db');
    writeFileSync(copy, readFileSync(db));
    const raw = new Database(copy);
    raw.exec('DROP TRIGGER audit_no_update');
    raw.prepare('UPDATE audit SET input = ? WHERE seq = 5').run(JSON.stringify({ command: 'echo harmless' }));
    raw.exec("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END");
    raw.close();
    const edited = AuditLog.open(copy, { readonly: true, key });
    expect(edited.verify().firstBad).toEqual({ seq: 5, problem: 'hash mismatch: the row was altered after it was written' });
    edited.close();
  });

  it('a row appended without the key after keyed rows is a downgrade; verify without the key cannot vouch for keyed rows', async () => {
    const dir = fresh();
    const key = loadOrCreateAuditKey(join(dir, 'audit.key'));
    const db = join(dir, 'audit.db');
    let log = AuditLog.open(db, { key });
    await log.recordDecision(decision(1));
    log.close();
    log = AuditLog.open(db, { key: null });
    await log.recordDecision(decision(2));
    log.close();
    const ro = AuditLog.open(db, { readonly: true, key });
    expect(ro.verify().firstBad).toEqual({ seq: 2, problem: 'unkeyed row after keyed rows: written or rewritten without the audit key' });
    ro.close();
    const nokey = AuditLog.open(db, { readonly: true, key: null });
    expect(nokey.verify().firstBad?.problem).toMatch(/row is keyed \(key [0-9a-f]{16}\) but there is no audit key/);
    nokey.close();
  });

  it('rows written before the key existed stay verifiable by plain hash, reported as unkeyed', async () => {
    const dir = fresh();
    const db = join(dir, 'audit.db');
    let log = AuditLog.open(db, { key: null });
    for (let i = 1; i <= 3; i++) await log.recordDecision(decision(i));
    log.close();
    const key = loadOrCreateAuditKey(join(dir, 'audit.key'));
    log = AuditLog.open(db, { key });
    for (let i = 4; i <= 5; i++) await log.recordDecision(decision(i));
    expect(log.verify()).toMatchObject({ ok: true, rows: 5, keyed: 2, unkeyed: 3, unkeyedRange: { first: 1, last: 3 } });
    log.close();
    const r = await icodeInProcess(['audit', 'verify', '--db', db, '--key', join(dir, 'audit.key')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`audit log OK: 5 rows`);
    expect(r.stdout).toContain(`2 keyed (HMAC checked with key ${key.id}), 3 unkeyed (plain sha256 only: rows 1..3`);
    const j = await icodeInProcess(['audit', 'verify', '--db', db, '--key', join(dir, 'audit.key'), '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, keyed: 2, unkeyed: 3, keyId: key.id });
    // A key file others can read is refused by verify too, with the fix in the message.
    chmodSync(join(dir, 'audit.key'), 0o644);
    const loose = await icodeInProcess(['audit', 'verify', '--db', db, '--key', join(dir, 'audit.key')]);
    expect(loose.code).toBe(2);
    expect(loose.stderr.trim().split('\n')).toHaveLength(1);
    expect(loose.stderr).toContain('chmod 600');
  });

  it('canonicalJson is what the documentation says', () => {
    const cells = AUDIT_COLUMNS.map((c) => (c === 'seq' ? 1 : c === 'kind' ? 'event' : c === 'mac_key' ? 'abcd' : null));
    expect(canonicalJson(cells)).toBe('{"kind":"event","mac_key":"abcd","seq":1}');
  });
});
