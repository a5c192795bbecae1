/**
 * Failure codes have their own column on outcome rows (schema v2): stored, hashed into the chain, and
 * a v1 log (written before the column existed) migrates in place with every old row still verifying.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, SCHEMA_VERSION } from '../../engine/audit/log.js';
import { decision, outcome, tempDir } from './helpers.js';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function freshPath(): string {
  const d = tempDir();
  dirs.push(d);
  return join(d.dir, 'audit.db');
}

describe('outcome error codes', () => {
  it('are stored in their own column and covered by the hash', async () => {
    const path = freshPath();
    const log = AuditLog.open(path);
    await log.recordDecision(decision(1));
    await log.recordOutcome(outcome(1, { status: 'error', error: 'NOT_FOUND: "x" does not exist', code: 'NOT_FOUND' }));
    await log.recordDecision(decision(2));
    await log.recordOutcome(outcome(2));
    const rows = log.list({ kind: 'outcome' });
    expect(rows.map((r) => r.errorCode)).toEqual(['NOT_FOUND', null]);
    expect(log.verify().ok).toBe(true);
    log.close();

    // Someone holding the file changes the code (dropping the append-only trigger first): verify sees it.
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET error_code = 'TIMEOUT' WHERE error_code = 'NOT_FOUND'").run();
    db.close();
    const again = AuditLog.open(path);
    const v = again.verify();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem).join('\n')).toMatch(/hash mismatch/);
    again.close();
  });

  it('a v1 log migrates in place: old rows still verify, new rows carry codes', async () => {
    const path = freshPath();
    const log = AuditLog.open(path);
    for (let i = 1; i <= 3; i++) {
      await log.recordDecision(decision(i));
      await log.recordOutcome(outcome(i, { status: 'error', error: `failure ${i}` }));
    }
    const headBefore = log.verify().head;
    log.close();

    // Turn it back into what icode wrote before v3 (the keyed chain's schema 2): no error_code column.
    const db = new Database(path);
    db.exec('ALTER TABLE audit DROP COLUMN error_code');
    db.pragma('user_version = 2');
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit'").pluck().get()).not.toContain('error_code');
    db.close();

    const migrated = AuditLog.open(path);
    await migrated.recordDecision(decision(4));
    await migrated.recordOutcome(outcome(4, { status: 'error', error: 'timed out', code: 'timeout' }));
    const v = migrated.verify({ anchor: headBefore });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(migrated.list({ kind: 'outcome' }).map((r) => r.errorCode)).toEqual([null, null, null, 'timeout']);
    migrated.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });
});
