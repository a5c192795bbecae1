/** `icode replay`, `icode exec` and `icode audit` as a user runs them: real binary, real files, real SQLite. */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { packageRoot } from '../../policies/package-root.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-replay-');
const ws = join(root, 'ws');

beforeAll(() => {
  mkdirSync(join(ws, 'src'), { recursive: true });
  writeFileSync(join(ws, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'secret.txt'), 'SECRET\n');
});

function jsonl(lines: unknown[]): string {
  return lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
}

describe('icode replay', () => {
  it('prints one result per call, in input order, with malformed lines as their own errors', () => {
    const file = join(root, 'calls.jsonl');
    writeFileSync(
      file,
      jsonl([
        { tool: 'read', input: { path: 'src/a.ts' } },
        '{not json',
        { tool: 'write', input: { path: 'src/b.ts', content: 'b' } },
        '',
        { tool: 'read', input: { path: '../secret.txt' } },
        // A Claude Code transcript line with two tool_use blocks, and one without any.
        { type: 'assistant', sessionId: 'cc-1', message: { role: 'assistant', content: [{ type: 'text', text: 'hi' }, { type: 'tool_use', id: 't1', name: 'Glob', input: { pattern: 'src/*.ts' } }, { type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'rm -rf /' } }] } },
        { type: 'user', message: { role: 'user', content: 'thanks' } },
        { tool: 'teleport', input: {} },
      ]),
    );
    const db = join(root, 'replay.db');
    const r = icode(['replay', file, '--workspace', ws, '--policy', 'builtin:workspace-write', '--audit', db, '--concurrency', '4']);
    expect(r.code).toBe(1); // a malformed line is an error
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => [o.index, o.tool, o.status])).toEqual([
      [0, 'read', 'ok'],
      [1, '(malformed line)', 'error'],
      [2, 'write', 'ok'],
      [3, 'read', 'denied'],
      [4, 'glob', 'ok'],
      [5, 'shell', 'denied'],
      [6, 'teleport', 'denied'],
    ]);
    expect(out[1].error).toContain('line 2: not valid JSON');
    expect(out[3]).toMatchObject({ decision: 'ask', rule: null });
    // Overwriting outside the workspace is denied outright by builtin:safety, not asked.
    expect(out[5]).toMatchObject({ decision: 'deny', rule: 'safety.destructive' });
    expect(out[4].output).toContain('src/a.ts');
    for (const o of out) expect(Object.keys(o)).toEqual(expect.arrayContaining(['index', 'tool', 'decision', 'rule', 'reason', 'status', 'duration_ms']));
    expect(r.stderr).toContain('replayed 7 calls');
    const verify = icode(['audit', 'verify', '--db', db, '--json']);
    expect(verify.code).toBe(0);
    // 7 decisions, 7 outcomes, and a secret_redactor hook row for each of the 3 calls that ran.
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, rows: 17 });
  });

  it('exits 3 when a call is denied and 0 when all are ok', () => {
    const denied = join(root, 'denied.jsonl');
    writeFileSync(denied, jsonl([{ tool: 'read', input: { path: 'src/a.ts' } }, { tool: 'write', input: { path: 'x', content: '' } }]));
    expect(icode(['replay', denied, '--workspace', ws, '--policy', 'builtin:readonly', '--audit', join(root, 'd.db')]).code).toBe(3);
    const ok = join(root, 'ok.jsonl');
    writeFileSync(ok, jsonl([{ tool: 'read', input: { path: 'src/a.ts' } }]));
    expect(icode(['replay', ok, '--workspace', ws, '--policy', 'builtin:readonly', '--audit', join(root, 'o.db')]).code).toBe(0);
  });

  it('rejects bad arguments with exit 2', () => {
    expect(icode(['replay', join(root, 'missing.jsonl'), '--workspace', ws, '--policy', 'builtin:readonly', '--audit', join(root, 'x.db')]).code).toBe(2);
    expect(icode(['replay', '-', '--workspace', join(root, 'no-such-ws'), '--policy', 'builtin:readonly', '--audit', join(root, 'x.db')], { input: '' }).code).toBe(2);
    expect(icode(['replay', '-', '--workspace', ws, '--policy', 'builtin:readonly', '--concurrency', '0'], { input: '' }).code).toBe(2);
  });

  it('a flood of 10 000 calls completes with bounded memory', async () => {
    const file = join(root, 'flood.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) lines.push(JSON.stringify(i % 2 ? { tool: 'read', input: { path: 'src/a.ts' } } : { tool: 'list', input: { path: 'src' } }));
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(root, 'flood.db');
    // Run the CLI directly (no launcher re-exec) so that the process measured is the one doing the work.
    const child = spawn(process.execPath, ['--no-node-snapshot', join(packageRoot(), 'bin/icode.js'), 'replay', file, '--workspace', ws, '--policy', 'builtin:readonly', '--audit', db, '--concurrency', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = 0;
    let peakKb = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString().split('\n').length - 1;
    });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 50);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearInterval(poll);
    expect(code).toBe(0);
    expect(out).toBe(10_000);
    // The window of calls in flight bounds memory, not the number of lines.
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(400 * 1024);
    const log = AuditLog.open(db);
    try {
      // A decision and an outcome per call, and secret_redactor's hook row for each call that ran.
      const v = log.verify();
      expect(v.ok).toBe(true);
      expect(log.list({ kind: 'decision', limit: 100_000 }).length).toBe(10_000);
      expect(log.list({ kind: 'outcome', limit: 100_000 }).length).toBe(10_000);
    } finally {
      log.close();
    }
  });
});

describe('kill -9 in the middle of a replay', () => {
  it('leaves a log that verifies, with no outcome lacking its decision', async () => {
    const file = join(root, 'long.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(JSON.stringify({ tool: 'read', input: { path: 'src/a.ts' } }));
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(root, 'killed.db');
    const child = spawn(process.execPath, ['--no-node-snapshot', join(packageRoot(), 'bin/icode.js'), 'replay', file, '--workspace', ws, '--policy', 'builtin:readonly', '--audit', db, '--concurrency', '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').length - 1;
        if (seen >= 500 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    expect(child.signalCode).toBe('SIGKILL');
    const log = AuditLog.open(db);
    try {
      const v = log.verify();
      expect(v.ok).toBe(true);
      const rows = log.list({ limit: 1_000_000 });
      const decided = new Set(rows.filter((r) => r.kind === 'decision').map((r) => r.callId));
      // Every result printed before the kill ran after its decision was committed.
      expect(decided.size).toBeGreaterThanOrEqual(500);
      const outcomes = rows.filter((r) => r.kind === 'outcome');
      expect(outcomes.every((o) => decided.has(o.callId))).toBe(true);
      expect(outcomes.length).toBeLessThan(50_000);
    } finally {
      log.close();
    }
  });
});

describe('icode exec', () => {
  it('runs one call and uses the documented exit codes', () => {
    const db = join(root, 'exec.db');
    const ok = icode(['exec', '--tool', 'read', '--input', '{"path":"src/a.ts"}', '--workspace', ws, '--policy', 'builtin:readonly', '--audit', db]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('export const a = 1;');
    const denied = icode(['exec', '--tool', 'write', '--input', '{"path":"z","content":""}', '--workspace', ws, '--policy', 'builtin:readonly', '--audit', db, '--json']);
    expect(denied.code).toBe(3);
    expect(JSON.parse(denied.stdout)).toMatchObject({ status: 'denied', decision: 'ask' });
    const failed = icode(['exec', '--tool', 'read', '--input', '{"path":"nope.ts"}', '--workspace', ws, '--policy', 'builtin:readonly', '--audit', db]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('NOT_FOUND');
  });
});
