/**
 * The audit log and hook-result validation under hostile input (found in red-team round 2). Each case asserts the SAFE behaviour
 * ("a refused, malformed or unknown call is a recorded deny"; a hook cannot smuggle in fields); a
 * failing case is a real defect.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { validateResult } from '../../sandbox/hooks/validate.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-attack-r2audit-');
const ws = join(root, 'ws');
const db = join(root, 'audit.db');
let p: Pipeline;

function nested(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  p = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: db, session: 'r2audit' });
});
afterAll(async () => {
  await p?.close();
});

describe('deeply nested input makes recordDecision throw (engine/audit/redact.ts walk() recursion)', () => {
  // JSON.parse accepts 20 000 levels of nesting; redactValue's recursive walk() overflows the stack, so
  // pipeline.call() rejects with RangeError before any row is written: the deny is not recorded, and
  // `icode replay` aborts (exit 4) without recording any line of the file.
  it.each([
    ['unknown tool', { tool: 'nope', input: { a: nested(20_000) } }],
    ['shell with an extra nested field', { tool: 'shell', input: { command: 'ls', x: nested(20_000) } }],
  ])('%s: the call resolves as a recorded deny', async (_n, c) => {
    const r = await p.call(c as { tool: string; input: Record<string, unknown> });
    expect(r.decision).toBe('deny');
    expect(typeof r.auditId).toBe('number');
  });

  it('replay: one hostile line does not stop the others from being decided and recorded', () => {
    const file = join(root, 'deep.jsonl');
    const audit = join(root, 'replay.db');
    const deep = `${'['.repeat(20_000)}"x"${']'.repeat(20_000)}`;
    writeFileSync(file, `{"tool":"nope","input":{"a":${deep}}}\n${JSON.stringify({ tool: 'shell', input: { command: 'ls' } })}\n`);
    const r = icode(['replay', file, '--workspace', ws, '--policy', 'builtin:readonly', '--audit', audit]);
    expect(r.code).not.toBe(4);
    const rows = new Database(audit, { readonly: true }).prepare("SELECT count(*) AS n FROM audit WHERE kind = 'decision'").get() as { n: number };
    expect(rows.n).toBe(2);
  });

  it('control: a moderately nested unknown call is a recorded deny', async () => {
    const r = await p.call({ tool: 'nope', input: { a: nested(50) } as Record<string, unknown> });
    expect(r.decision).toBe('deny');
    expect(typeof r.auditId).toBe('number');
  });
});

describe('held: audit chain and export', () => {
  it('a row appended by a second writer that skips the chain is reported by verify', () => {
    const file = join(root, 'forged.db');
    const log = AuditLog.open(file);
    return log
      .recordDecision({ session: 's', callId: 'c1', agent: 'main', tool: 'shell', input: { command: 'ls' }, decision: 'allow', rule: null, reason: 'r', policyHash: 'h', workspace: ws })
      .then(() => {
        log.close();
        const d = new Database(file);
        const cols = (d.prepare('PRAGMA table_info(audit)').all() as { name: string; notnull: number }[]).map((c) => c.name);
        const head = d.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as Record<string, unknown>;
        const row = { ...head, seq: (head.seq as number) + 1, call_id: 'c2', prev_hash: '0'.repeat(64), hash: 'f'.repeat(64) };
        d.prepare(`INSERT INTO audit (${cols.join(',')}) VALUES (${cols.map((c) => `@${c}`).join(',')})`).run(row);
        d.close();
        expect(icode(['audit', 'verify', '--db', file]).code).toBe(1);
      });
  });

  it('csv export neutralises cells that start a formula', async () => {
    await p.call({ tool: '=HYPERLINK("http://x")', input: { command: '@SUM(1)' } });
    await p.call({ tool: 'shell', input: { command: '=1+1' } });
    p.audit.flush();
    const r = icode(['audit', 'export', '--db', db, '--format', 'csv']);
    expect(r.code).toBe(0);
    for (const line of r.stdout.split('\n')) for (const cell of line.split(',')) expect(cell).not.toMatch(/^[=+@]/);
  });
});

describe('hook result validation looks fields up through Object.prototype (sandbox/hooks/validate.ts)', () => {
  // SHAPES[point][key] is a plain object: `isPrototypeOf` finds Object.prototype.isPrototypeOf, which
  // returns false (= "no problem") for a non-object argument, so the unknown field is accepted;
  // `__proto__` yields a non-function and fails as `internal` instead of `invalid_result`.
  it.each([['{"isPrototypeOf":1}'], ['{"decision":"allow","isPrototypeOf":"x"}']])('%s is an invalid result', (json) => {
    expect(() => validateResult('pre_tool', JSON.parse(json))).toThrow(/unknown field/);
  });
  it('__proto__ is reported as an unknown field', () => {
    expect(() => validateResult('pre_tool', JSON.parse('{"__proto__":{"decision":"deny"}}'))).toThrow(/unknown field/);
  });
  it('control: a plain unknown field is refused', () => {
    expect(() => validateResult('pre_tool', { decsion: 'deny' })).toThrow(/unknown field/);
  });
});

describe('held: a hook script stays in its isolate', () => {
  it('no process/require, no host function through the api, a rewritten allow does not loosen', () => {
    const hook = join(root, 'probe.js');
    writeFileSync(
      hook,
      `export default function (event, api) {
  const seen = [typeof process, typeof require, api.log.constructor('return typeof process')()];
  try { seen.push(String(api.kv.constructor.constructor('return this')().process)); } catch (e) { seen.push('threw'); }
  api.log(seen.join(','));
  return { decision: 'allow' };
}`,
    );
    const r = icode(['hooks', 'test', hook, '--point', 'pre_tool', '--event', '{"tool":"shell","input":{"command":"ls"}}', '--json']);
    expect(r.stdout).toContain('undefined,undefined,undefined,undefined');
    expect(existsSync(join(ws, 'PWN-hook'))).toBe(false);
  });
});
