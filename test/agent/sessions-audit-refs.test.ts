/**
 * One source of truth for a call's verdict: the sessions store keeps a reference to the audit row
 * (audit_id and the audit log's path), not a copy of its decision, rule and reason; show, export and
 * forks read them from the audit log. Real pipeline, real audit file, real sessions file.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../cli/commands/run.js';
import { exportSession } from '../../engine/agent/export.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { AuditLog } from '../../engine/audit/log.js';
import { icodeInProcess } from '../helpers/cli.js';
import '../audit/helpers.js'; // the audit suites' own chain key

let dir: string;
let ws: string;
let auditPath: string;
let sessionsPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'icode-session-refs-'));
  ws = join(dir, 'ws');
  mkdirSync(join(ws, 'src'), { recursive: true });
  writeFileSync(join(ws, 'src', 'a.ts'), 'export const a = 1;\n');
  auditPath = join(dir, 'audit.db');
  sessionsPath = join(dir, 'sessions.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A scripted run: an allowed read, a denied destructive command, a call with malformed arguments. */
async function run(): Promise<string> {
  writeFileSync(
    join(dir, 'script.yaml'),
    `model: refs
turns:
  - text: "Working."
    tool_calls:
      - { id: c1, name: read, input: { path: src/a.ts } }
      - { id: c2, name: shell, input: { command: "rm -rf /" } }
      - { id: c3, name: write, raw_arguments: '{"path": "x' }
  - text: "Done."
`,
  );
  const out: string[] = [];
  const err: string[] = [];
  await runCommand(
    'go',
    { provider: `script:${join(dir, 'script.yaml')}`, workspace: ws, policy: 'builtin:workspace-write', audit: auditPath, sessionsDb: sessionsPath, outputFormat: 'stream-json' },
    { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { HOME: dir } },
  );
  if (!out.length) throw new Error(err.join(''));
  return (JSON.parse(out[0]!.split('\n')[0]!) as { session_id: string }).session_id;
}

function rawCalls(): Array<Record<string, unknown>> {
  const db = new Database(sessionsPath, { readonly: true });
  try {
    return db.prepare('SELECT call_id, decision, rule, reason, audit_id, audit_path FROM tool_calls ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

function auditVerdict(seq: number): { decision: unknown; rule: unknown; reason: unknown } {
  const log = AuditLog.open(auditPath, { readonly: true });
  try {
    const d = log.get(seq)!.decision!;
    return { decision: d.decision, rule: d.rule ?? null, reason: d.reason ?? null };
  } finally {
    log.close();
  }
}

describe('tool calls reference their audit rows', () => {
  it('stores the reference only, and every reader gets the verdict from the audit log', async () => {
    const id = await run();
    const raw = rawCalls();
    expect(raw.map((r) => r.call_id)).toEqual(['c1', 'c2', 'c3']);
    for (const r of raw) {
      expect(r).toMatchObject({ decision: null, rule: null, reason: null, audit_path: auditPath });
      expect(typeof r.audit_id).toBe('number');
    }

    const store = SessionStore.open(sessionsPath);
    try {
      const calls = store.toolCalls(id);
      expect(calls.map((c) => [c.callId, c.decision, c.status, c.verdictFrom])).toEqual([
        ['c1', 'allow', 'ok', 'audit'],
        ['c2', 'deny', 'denied', 'audit'],
        ['c3', 'deny', 'denied', 'audit'],
      ]);
      for (const c of calls) expect({ decision: c.decision, rule: c.rule, reason: c.reason }).toEqual(auditVerdict(c.auditId!));
      expect(calls[1]!.reason).toBeTruthy(); // why it was denied
      expect(calls[1]!.rule).toBeTruthy();

      // A fork shares the calls, and their verdicts.
      const fork = store.fork(id, 2);
      expect(store.toolCalls(fork.id).map((c) => [c.callId, c.decision, c.rule, c.verdictFrom])).toEqual(calls.map((c) => [c.callId, c.decision, c.rule, c.verdictFrom]));

      // Exports.
      const json = JSON.parse(exportSession(store, id, 'json')) as { tool_calls: Array<Record<string, unknown>> };
      expect(json.tool_calls.map((c) => [c.decision, c.rule, c.verdict_from, c.audit_path])).toEqual(calls.map((c) => [c.decision, c.rule, 'audit', auditPath]));
      expect(exportSession(store, id, 'markdown')).toContain(`**Tool call** \`shell\` (\`c2\`) — deny by \`${calls[1]!.rule}\`, denied, audit #${calls[1]!.auditId}`);
    } finally {
      store.close();
    }

    // The CLI's show.
    const shown = await icodeInProcess(['sessions', 'show', id, '--sessions-db', sessionsPath, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const tc = (JSON.parse(shown.stdout) as { tool_calls: Array<Record<string, unknown>> }).tool_calls;
    expect(tc.map((c) => [c.call_id, c.decision, c.verdict_from])).toEqual([
      ['c1', 'allow', 'audit'],
      ['c2', 'deny', 'audit'],
      ['c3', 'deny', 'audit'],
    ]);
  });

  it('says why when the audit log it references is gone', async () => {
    const id = await run();
    renameSync(auditPath, join(dir, 'moved.db'));
    const store = SessionStore.open(sessionsPath, { readonly: true });
    try {
      const calls = store.toolCalls(id);
      for (const c of calls) {
        expect(c.verdictFrom).toBe('unavailable');
        expect(c.decision).toBeNull();
        expect(c.reason).toMatch(/^decision not available: .*audit\.db/);
      }
      expect(calls.map((c) => c.status)).toEqual(['ok', 'denied', 'denied']); // the session's own facts stay
      expect(exportSession(store, id, 'markdown')).toContain('— decision unavailable (decision not available:');
    } finally {
      store.close();
    }
    const shown = await icodeInProcess(['sessions', 'show', id, '--sessions-db', sessionsPath]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/note: decision not available: .*audit\.db/);
  });

  it('a call without an audit row keeps its own verdict', () => {
    const store = SessionStore.open(sessionsPath);
    try {
      const s = store.createSession();
      const m = store.appendMessage(s.id, { role: 'assistant', content: [{ type: 'tool_use', id: 'x1', name: 'read', input: {} }] });
      // The pipeline could not commit the decision: no audit id, so the verdict is the session's.
      store.recordToolCall({ sessionId: s.id, messageId: m.id, position: 0, callId: 'x1', tool: 'read', input: {}, status: 'denied', decision: 'deny', rule: null, reason: 'the decision could not be recorded', auditId: null, auditPath });
      // A runner that keeps no audit log (no path to reference).
      store.recordToolCall({ sessionId: s.id, messageId: m.id, position: 1, callId: 'x2', tool: 'read', input: {}, status: 'ok', decision: 'allow', rule: 'r', reason: 'fine', auditId: 7, auditPath: null });
      expect(store.toolCalls(s.id).map((c) => [c.callId, c.decision, c.rule, c.reason, c.verdictFrom])).toEqual([
        ['x1', 'deny', null, 'the decision could not be recorded', 'session'],
        ['x2', 'allow', 'r', 'fine', 'session'],
      ]);
    } finally {
      store.close();
    }
  });
});

describe('migration from sessions schema 2', () => {
  it('adds the reference column and keeps every copied verdict', () => {
    // A schema-2 database: the same tables without tool_calls.audit_path.
    const first = SessionStore.open(sessionsPath);
    const s = first.createSession({ title: 'old' });
    const m = first.appendMessage(s.id, { role: 'assistant', content: [{ type: 'tool_use', id: 'o1', name: 'shell', input: { command: 'ls' } }] });
    first.recordToolCall({ sessionId: s.id, messageId: m.id, position: 0, callId: 'o1', tool: 'shell', input: { command: 'ls' }, status: 'ok', decision: 'allow', rule: 'old.rule', reason: 'copied long ago', auditId: 41 });
    first.close();
    const db = new Database(sessionsPath);
    db.exec('ALTER TABLE tool_calls DROP COLUMN audit_path');
    db.pragma('user_version = 2');
    const before = db.prepare('SELECT * FROM tool_calls').all();
    db.close();

    // Read-only, it is read as it is.
    const ro = SessionStore.open(sessionsPath, { readonly: true });
    expect(ro.toolCalls(s.id).map((c) => [c.decision, c.rule, c.reason, c.auditId, c.auditPath, c.verdictFrom])).toEqual([['allow', 'old.rule', 'copied long ago', 41, null, 'session']]);
    ro.close();

    // The first writable open migrates: nothing lost, the old row keeps its copies.
    const store = SessionStore.open(sessionsPath);
    try {
      expect(store.toolCalls(s.id).map((c) => [c.decision, c.rule, c.reason, c.auditId, c.auditPath, c.verdictFrom])).toEqual([['allow', 'old.rule', 'copied long ago', 41, null, 'session']]);
    } finally {
      store.close();
    }
    const after = new Database(sessionsPath, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(3);
      expect(after.prepare('SELECT * FROM tool_calls').all()).toEqual((before as Array<Record<string, unknown>>).map((r) => ({ ...r, audit_path: null })));
    } finally {
      after.close();
    }
  });
});
