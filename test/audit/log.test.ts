/**
 * The audit log on a real SQLite file: the hash chain, the append-only triggers, tampering by someone
 * holding the file, outcomes without decisions, group commit, queries and export.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditError, AuditLog, CHECKPOINTER_AFTER_ROWS, GENESIS_HASH, SCHEMA_VERSION, defaultAuditPath } from '../../engine/audit/log.js';
import { auditKeyPath, loadAuditKey } from '../../engine/audit/key.js';
import { decision, outcome, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let path: string;
let log: AuditLog;

beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, 'nested', 'dir', 'audit.db');
  log = AuditLog.open(path);
});
afterEach(() => {
  if (log.isOpen) log.close();
  tmp.cleanup();
});

/** n calls, each a decision then an outcome, plus a hook on every third call. */
async function fill(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await log.recordDecision(decision(i));
    if (i % 3 === 0) await log.recordHook({ session: 's1', callId: `call-${i}`, hook: 'fmt', phase: 'post', result: 'continue', durationMs: 2 });
    await log.recordOutcome(outcome(i));
  }
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens the raw file the way an attacker with write access would. */
function raw(): Database.Database {
  log.close();
  return new Database(path);
}

describe('opening', () => {
  it('creates parent directories, uses WAL, and sets the schema version', () => {
    expect(existsSync(path)).toBe(true);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
    expect(statSync(path).mode & 0o077).toBe(0);
  });

  it('reopens an existing log and keeps extending the same chain', async () => {
    await fill(3);
    log.close();
    log = AuditLog.open(path);
    await fill(0);
    await log.recordDecision(decision(100));
    const v = log.verify();
    expect(v).toMatchObject({ ok: true, rows: 8, headSeq: 8 });
  });

  it('refuses a database written by a newer schema', () => {
    log.close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => AuditLog.open(path)).toThrow(/newer/);
    log = AuditLog.open(join(tmp.dir, 'other.db'));
  });

  it('refuses a foreign database', () => {
    const foreign = join(tmp.dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE audit (x)');
    db.close();
    expect(() => AuditLog.open(foreign)).toThrow(/another application .*not an icode audit log/);
  });

  it('read-only mode needs an existing file and refuses writes', async () => {
    expect(() => AuditLog.open(join(tmp.dir, 'missing.db'), { readonly: true })).toThrow(/no audit log at/);
    expect(existsSync(join(tmp.dir, 'missing.db'))).toBe(false);
    await fill(1);
    const ro = AuditLog.open(path, { readonly: true });
    try {
      expect(ro.verify().ok).toBe(true);
      await expect(ro.recordDecision(decision(9))).rejects.toMatchObject({ code: 'READONLY' });
    } finally {
      ro.close();
    }
  });

  it('defaultAuditPath follows XDG_STATE_HOME, else ~/.local/state', () => {
    expect(defaultAuditPath({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe('/x/state/icode/audit.db');
    expect(defaultAuditPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/icode/audit.db');
    // A relative XDG_STATE_HOME is invalid per the spec and ignored.
    expect(defaultAuditPath({ XDG_STATE_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.local/state/icode/audit.db');
  });
});

describe('the hash chain', () => {
  it('verifies a log of decisions, hooks, outcomes and events', async () => {
    await log.recordEvent('session.start', 's1', { cwd: '/ws' });
    await fill(20);
    await log.recordEvent('session.end', 's1');
    const v = log.verify();
    expect(v.ok).toBe(true);
    expect(v.rows).toBe(2 + 20 * 2 + 6);
    expect(v.problems).toEqual([]);
    expect(v.head).toMatch(/^[0-9a-f]{64}$/);
    const rows = log.list();
    expect(rows[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].seq).toBe(i + 1);
      expect(rows[i].prevHash).toBe(rows[i - 1].hash);
    }
    expect(v.head).toBe(rows[rows.length - 1].hash);
  });

  it('the documented recipe recomputes every hash from the raw file (an independent implementation)', async () => {
    await fill(4);
    await log.recordEvent('e', 's1', { n: 1 });
    log.close();
    const { createHash, createHmac } = await import('node:crypto');
    const key = loadAuditKey(auditKeyPath());
    expect(key).not.toBeNull();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Array<Record<string, string | number | null>>;
    db.close();
    let prev = GENESIS_HASH;
    for (const row of rows) {
      const { prev_hash, hash, ...fields } = row;
      const canonical = JSON.stringify(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null).sort(([a], [b]) => (a < b ? -1 : 1))));
      expect(prev_hash).toBe(prev);
      // Keyed rows (mac_key = the key's id): HMAC-SHA256 with the installation's key; others: sha256.
      expect(fields.mac_key).toBe(key?.id);
      expect(createHmac('sha256', key!.key).update(prev + canonical).digest('hex')).toBe(hash);
      expect(createHash('sha256').update(prev + canonical).digest('hex')).not.toBe(hash);
      prev = hash as string;
    }
    log = AuditLog.open(path);
  });

  it('an empty log verifies with the genesis head', () => {
    expect(log.verify()).toMatchObject({ ok: true, rows: 0, head: GENESIS_HASH, headSeq: 0 });
  });

  it('keeps strings exactly (unicode, lone surrogates, NUL, quotes) so the chain still verifies', async () => {
    const weird = 'é😀\ud800"\\\u0000\n\t end';
    await log.recordDecision(decision(1, { reason: weird, input: { path: weird, [weird]: [1, 2.5, -0, null, true] } }));
    await log.recordOutcome(outcome(1, { error: weird, durationMs: 0.1 + 0.2, exitCode: -1 }));
    expect(log.verify().ok).toBe(true);
    log.close();
    log = AuditLog.open(path);
    expect(log.verify().ok).toBe(true);
    const d = log.get(1);
    expect(d?.decision?.reason).toBe('é😀\ufffd"\\\u0000\n\t end');
    expect(d?.outcome?.durationMs).toBe(0.1 + 0.2);
  });
});

describe('append-only', () => {
  it('UPDATE is refused by a trigger', async () => {
    await fill(3);
    const db = raw();
    try {
      expect(() => db.prepare("UPDATE audit SET reason = 'nothing to see' WHERE seq = 2").run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE audit SET decision = 'allow'").run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
    log = AuditLog.open(path);
    expect(log.verify().ok).toBe(true);
  });

  it('DELETE is refused by a trigger (also the whole table)', async () => {
    await fill(3);
    const db = raw();
    try {
      expect(() => db.prepare('DELETE FROM audit WHERE seq = 2').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
      expect(db.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(7);
    } finally {
      db.close();
    }
    log = AuditLog.open(path);
  });

  it('rows inserted by another writer that do not extend the chain are caught by verify', async () => {
    await fill(2);
    const db = raw();
    try {
      const ins = db.prepare(
        "INSERT INTO audit (seq, kind, ts, ts_ms, session, name, prev_hash, hash) VALUES (?, 'event', 'x', 0, 's1', 'forged', ?, ?)",
      );
      ins.run(5, 'b'.repeat(64), 'c'.repeat(64));
      ins.run(9, 'c'.repeat(64), 'd'.repeat(64));
    } finally {
      db.close();
    }
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.ok).toBe(false);
    expect(v.problems.slice(0, 3)).toEqual([
      { seq: 5, problem: 'prev_hash does not link to the hash of row 4' },
      { seq: 5, problem: 'unkeyed row after keyed rows: written or rewritten without the audit key' },
      { seq: 5, problem: 'hash mismatch: the row was altered after it was written' },
    ]);
    expect(v.problems).toContainEqual({ seq: 9, problem: 'rows 6..8 are missing (deleted)' });
    // The writer itself always extends the real head, whatever was appended behind its back.
    await expect(log.recordDecision(decision(77))).resolves.toBe(10);
  });
});

describe('tampering by someone who holds the file', () => {
  it('an edited row is caught by verify with its seq (triggers dropped first)', async () => {
    await fill(10);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET decision = 'allow', reason = 'fine' WHERE seq = 7").run();
    db.close();
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(7);
    expect(v.firstBad?.problem).toMatch(/hash mismatch/);
    // The missing trigger is reported too (as a schema problem).
    expect(v.problems).toContainEqual({ seq: null, problem: 'trigger audit_no_update is missing' });
  });

  it('an edit that also rewrites the row hash breaks the link of the next row', async () => {
    await fill(5);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET reason = 'edited', hash = ? WHERE seq = 3").run('e'.repeat(64));
    db.close();
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.firstBad?.seq).toBe(3);
    expect(v.problems.find((p) => p.seq === 4)?.problem).toMatch(/prev_hash does not link/);
  });

  it('a deleted middle row is caught (gap in seq, broken link)', async () => {
    await fill(10);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare('DELETE FROM audit WHERE seq = 9').run();
    db.close();
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad).toEqual({ seq: 10, problem: 'rows 9..9 are missing (deleted)' });
    expect(v.problems.some((p) => p.seq === 10 && /prev_hash/.test(p.problem))).toBe(true);
  });

  it('a deleted first row is caught', async () => {
    await fill(2);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare('DELETE FROM audit WHERE seq = 1').run();
    db.close();
    log = AuditLog.open(path);
    expect(log.verify().firstBad?.seq).toBe(2);
  });

  it('deleting a decision leaves an outcome without decision, which verify names', async () => {
    await fill(4);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare("DELETE FROM audit WHERE kind = 'decision' AND call_id = 'call-2'").run();
    db.close();
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.problems.some((p) => /outcome without an earlier decision for call call-2/.test(p.problem))).toBe(true);
  });

  it('truncating the tail is caught against an anchor noted earlier', async () => {
    await fill(5);
    const anchor = log.verify().head;
    await fill(0);
    await log.recordDecision(decision(50));
    expect(log.verify({ anchor }).ok).toBe(true);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare('DELETE FROM audit WHERE seq >= 8').run();
    db.close();
    log = AuditLog.open(path);
    // Without the anchor a cut tail is indistinguishable from a shorter log…
    expect(log.verify().ok).toBe(false); // (the dropped trigger is still reported)
    const v = log.verify({ anchor });
    expect(v.problems).toContainEqual({ seq: null, problem: expect.stringMatching(/anchor .* is not in the chain/) });
  });

  it('an altered trigger is reported', async () => {
    await fill(1);
    const db = raw();
    db.exec('DROP TRIGGER audit_no_update');
    db.exec('CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN 0 BEGIN SELECT 1; END');
    db.close();
    log = AuditLog.open(path);
    const v = log.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad).toEqual({ seq: null, problem: 'trigger audit_no_update was altered' });
  });
});

describe('outcomes need decisions', () => {
  it('recordOutcome without a decision is refused by the code', async () => {
    await expect(log.recordOutcome(outcome(1))).rejects.toMatchObject({ code: 'NO_DECISION' });
    await expect(log.recordHook({ session: 's1', callId: 'nope', hook: 'h', phase: 'pre', result: 'x' })).rejects.toMatchObject({ code: 'NO_DECISION' });
    // The same call id in another session does not count.
    await log.recordDecision(decision(1, { session: 'other' }));
    await expect(log.recordOutcome(outcome(1))).rejects.toMatchObject({ code: 'NO_DECISION' });
    expect(log.list({ kind: 'outcome' })).toEqual([]);
    expect(log.verify().ok).toBe(true);
  });

  it('an outcome without a decision is refused by a trigger (a writer bypassing the code)', async () => {
    await fill(1);
    const db = raw();
    try {
      const head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
      expect(() =>
        db
          .prepare("INSERT INTO audit (seq, kind, ts, ts_ms, session, call_id, status, bytes, truncated, prev_hash, hash) VALUES (?, 'outcome', 'x', 0, 's1', 'ghost', 'ok', 0, 0, ?, ?)")
          .run(head.seq + 1, head.hash, 'd'.repeat(64)),
      ).toThrow(/needs an earlier decision/);
    } finally {
      db.close();
    }
    log = AuditLog.open(path);
  });

  it('the outcome may come in the same batch as its decision, after it', async () => {
    const d = log.recordDecision(decision(1));
    const o = log.recordOutcome(outcome(1));
    const [ds, os] = await Promise.all([d, o]);
    expect(os).toBe(ds + 1);
  });

  it('a refused row fails alone; the rest of its batch commits', async () => {
    const results = await Promise.allSettled([
      log.recordDecision(decision(1)),
      log.recordOutcome(outcome(2)), // no decision
      log.recordDecision(decision(1)), // second decision for the call
      log.recordOutcome(outcome(1)),
      log.recordOutcome(outcome(1)), // second outcome
      log.recordDecision(decision(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'DUPLICATE' });
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([1, 2, 3]);
    expect(log.verify().ok).toBe(true);
  });

  it('invalid records are rejected before queueing', async () => {
    await expect(log.recordDecision(decision(1, { decision: 'maybe' as never }))).rejects.toMatchObject({ code: 'INVALID' });
    await expect(log.recordDecision(decision(1, { session: '' }))).rejects.toMatchObject({ code: 'INVALID' });
    await log.recordDecision(decision(1));
    await expect(log.recordOutcome(outcome(1, { status: 'great' as never }))).rejects.toMatchObject({ code: 'INVALID' });
    await expect(log.recordOutcome(outcome(1, { bytes: Number.NaN }))).rejects.toMatchObject({ code: 'INVALID' });
    expect(log.verify().rows).toBe(1);
  });
});

describe('group commit', () => {
  it('10 000 concurrent recordDecision promises all resolve, in order, all rows present', async () => {
    const n = 10_000;
    const seqs = await Promise.all(Array.from({ length: n }, (_, i) => log.recordDecision(decision(i))));
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const rows = log.list({ kind: 'decision' });
    expect(rows).toHaveLength(n);
    expect(rows.map((r) => r.callId)).toEqual(Array.from({ length: n }, (_, i) => `call-${i}`));
    expect(log.verify()).toMatchObject({ ok: true, rows: n });
  });

  it('a promise resolves only once its row is committed (visible to another connection)', async () => {
    const other = new Database(path, { readonly: true });
    try {
      const count = other.prepare('SELECT count(*) FROM audit').pluck();
      const p = log.recordDecision(decision(1));
      expect(count.get()).toBe(0); // queued, not yet written
      await p;
      expect(count.get()).toBe(1);
    } finally {
      other.close();
    }
  });

  it('flush() commits synchronously; close() flushes; a closed log rejects', async () => {
    const p = log.recordDecision(decision(1));
    log.flush();
    const other = new Database(path, { readonly: true });
    expect(other.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(1);
    other.close();
    await expect(p).resolves.toBe(1);
    const q = log.recordDecision(decision(2));
    log.close();
    await expect(q).resolves.toBe(2);
    await expect(log.recordDecision(decision(3))).rejects.toMatchObject({ code: 'CLOSED' });
    log = AuditLog.open(path);
    expect(log.verify().rows).toBe(2);
  });

  it('a busy log checkpoints its WAL on a background thread, and close() leaves no WAL behind', async () => {
    expect(log.checkpointing).toBe(false);
    await Promise.all(Array.from({ length: CHECKPOINTER_AFTER_ROWS }, (_, i) => log.recordDecision(decision(i))));
    expect(log.checkpointing).toBe(true);
    // The checkpointer copies the WAL into the database file: the main file grows without our help.
    const sizeBefore = statSync(path).size;
    await until(() => statSync(path).size > sizeBefore);
    await log.recordDecision(decision(-1));
    log.close();
    await until(() => !existsSync(`${path}-wal`));
    log = AuditLog.open(path, { checkpoint: 'inline' });
    expect(log.verify()).toMatchObject({ ok: true, rows: CHECKPOINTER_AFTER_ROWS + 1 });
  });

  it('two logs on the same file (two processes) interleave into one valid chain', async () => {
    const second = AuditLog.open(path);
    try {
      const all: Promise<number>[] = [];
      for (let i = 0; i < 500; i++) {
        all.push(log.recordDecision(decision(i, { session: 'a' })));
        all.push(second.recordDecision(decision(i, { session: 'b' })));
      }
      const seqs = await Promise.all(all);
      expect(new Set(seqs).size).toBe(1000);
    } finally {
      second.close();
    }
    expect(log.verify()).toMatchObject({ ok: true, rows: 1000 });
  });
});

describe('what is stored', () => {
  it('redacts secrets from inputs, reasons and errors', async () => {
    const token = 'ghp_' + 'A1b2C3d4E5'.repeat(4);
    await log.recordDecision(
      decision(1, {
        tool: 'shell',
        input: { command: `curl -H "Authorization: Bearer abc.def123" https://bob:hunter2@example.com && echo ${token}`, env: { API_KEY: 'k-123' } },
        reason: `command mentions ${token}`,
      }),
    );
    await log.recordOutcome(outcome(1, { status: 'error', error: 'failed: password=swordfish' }));
    const { decision: d, outcome: o } = log.get(1)!;
    const text = JSON.stringify([d, o]);
    for (const secret of [token, 'hunter2', 'abc.def123', 'k-123', 'swordfish']) expect(text).not.toContain(secret);
    expect((d!.input as { env: { API_KEY: string } }).env.API_KEY).toBe('[REDACTED:api_key]');
    expect(d!.reason).toBe('command mentions [REDACTED:github_token]');
    expect(o!.error).toBe('failed: password=[REDACTED:password]');
    // And the raw file does not hold them either.
    log.close();
    const db = new Database(path, { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM audit').all());
    db.close();
    expect(dump).not.toContain('hunter2');
    expect(dump).not.toContain(token);
    log = AuditLog.open(path);
  });

  it('cuts huge inputs but keeps valid JSON and a hash of what was cut', async () => {
    log.close();
    log = AuditLog.open(path, { maxInputChars: 4096 });
    const content = 'x'.repeat(100_000);
    await log.recordDecision(decision(1, { tool: 'write', input: { path: 'big.txt', content } }));
    const input = log.get(1)!.decision!.input as { path: string; content: string };
    expect(input.path).toBe('big.txt');
    expect(input.content).toMatch(/^x{512}…\[cut: 100000 chars, sha256 [0-9a-f]{64}\]$/);
    expect(log.verify().ok).toBe(true);
  });

  it('stores time as ISO string and ms epoch, and all decision fields', async () => {
    const before = Date.now();
    await log.recordDecision(decision(1, { jail: 'default', approval: 'approved by user', workspace: '/ws' }));
    const r = log.list()[0];
    expect(r.tsMs).toBeGreaterThanOrEqual(before);
    expect(new Date(r.ts).getTime()).toBe(r.tsMs);
    expect(r).toMatchObject({ kind: 'decision', session: 's1', callId: 'call-1', agent: 'main', tool: 'read', decision: 'allow', rule: 'rule-1', policyHash: 'ph-1', jail: 'default', approval: 'approved by user', workspace: '/ws' });
  });
});

describe('queries', () => {
  beforeEach(async () => {
    await log.recordEvent('session.start', 's1');
    await fill(30);
    await log.recordDecision(decision(31, { session: 's2', tool: 'glob' }));
  });

  it('list filters by session, tool, decision, rule, kind, since, limit and order', () => {
    expect(log.list({ session: 's2' }).map((r) => r.callId)).toEqual(['call-31']);
    expect(log.list({ tool: 'glob' })).toHaveLength(1);
    expect(log.list({ decision: 'deny' }).map((r) => r.callId)).toEqual(['call-5', 'call-10', 'call-15', 'call-20', 'call-25', 'call-30']);
    expect(log.list({ rule: 'rule-2', decision: 'allow' }).every((r) => r.rule === 'rule-2' && r.decision === 'allow')).toBe(true);
    expect(log.list({ kind: 'hook' })).toHaveLength(10);
    expect(log.list({ kind: 'event' })[0].name).toBe('session.start');
    expect(log.list({ since: Date.now() + 60_000 })).toEqual([]);
    expect(log.list({ since: new Date(0).toISOString() })).toHaveLength(1 + 60 + 10 + 1);
    const last = log.list({ limit: 2, order: 'desc' });
    expect(last.map((r) => r.callId)).toEqual(['call-31', 'call-30']);
  });

  it('get assembles a call from any of its rows', () => {
    const hookRow = log.list({ kind: 'hook' })[0];
    const d = log.get(hookRow.seq)!;
    expect(d.decision?.callId).toBe('call-3');
    expect(d.outcome?.status).toBe('ok');
    expect(d.hooks.map((h) => h.name)).toEqual(['fmt']);
    expect(log.get(99_999)).toBeNull();
    expect(log.get(1)).toMatchObject({ decision: null, outcome: null, hooks: [] });
    expect(log.findCall('call-31')).toEqual([log.list({ session: 's2' })[0].seq]);
  });

  it('stats counts by decision, tool, rule and finds calls without outcome', () => {
    const s = log.stats();
    expect(s.rows).toBe(1 + 60 + 10 + 1);
    expect(s.byKind).toEqual({ decision: 31, outcome: 30, hook: 10, event: 1 });
    expect(s.byDecision.deny).toBe(6);
    expect(s.byDecision.allow + s.byDecision.ask + s.byDecision.deny).toBe(31);
    expect(s.byTool.glob).toEqual({ total: 1, allow: 1 });
    expect(s.byRule['(default)']).toBe(10);
    expect(s.callsWithoutOutcome).toBe(1);
    expect(s.sessions).toBe(2);
    expect(log.stats({ session: 's2' })).toMatchObject({ rows: 1, callsWithoutOutcome: 1 });
  });

  it('exports JSONL and CSV, streaming, with filters', async () => {
    let jsonl = '';
    const n = await log.exportRows('jsonl', (c) => {
      jsonl += c;
    });
    expect(n).toBe(72);
    const lines = jsonl.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 72 }, (_, i) => i + 1));

    let csv = '';
    await log.exportRows('csv', async (c) => {
      csv += c;
    }, { decision: 'deny' });
    const rows = csv.trim().split('\n');
    expect(rows[0].split(',').slice(0, 3)).toEqual(['seq', 'kind', 'ts']);
    expect(rows).toHaveLength(1 + 6);
    expect(rows[1]).toContain('"{""path"":""src/f5.ts""}"');
  });

  it('csv neutralises spreadsheet formulas', async () => {
    await log.recordDecision(decision(40, { reason: '=HYPERLINK("http://evil")' }));
    let csv = '';
    await log.exportRows('csv', (c) => void (csv += c), { rule: 'rule-1', session: 's1' });
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`);
  });
});
