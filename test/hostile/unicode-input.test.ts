/** Ill-formed Unicode in a tool input (issue 19): refused as a recorded deny, nothing runs. */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-unicode-');
const ws = join(root, 'ws');
const db = join(root, 'audit.db');
let p: Pipeline;

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  p = await createPipeline({ workspace: ws, policy: 'builtin:jailed', audit: db, session: 'unicode' });
});
afterAll(async () => {
  await p?.close();
});

describe('lone surrogates are refused and recorded', () => {
  it.each([
    ['high surrogate in a write path', 'write', { path: 'PWN-\uD800.txt', content: 'x' }],
    ['low surrogate in a write path', 'write', { path: 'PWN-\uDC00', content: 'x' }],
    ['reversed pair in content', 'write', { path: 'PWN-content', content: 'a\uDC00\uD800b' }],
    ['lone surrogate in a shell command', 'shell', { command: 'touch PWN-\uD83D' }],
    ['lone surrogate in an edit', 'edit', { path: 'PWN-edit', old_string: '\uD800', new_string: 'y' }],
  ])('%s', async (_name, tool, input) => {
    const r = await p.call({ tool, input, callId: `c-${_name}` });
    expect(r.decision).toBe('deny');
    expect(r.status).toBe('denied');
    expect(r.reason).toMatch(/not well-formed Unicode \(lone surrogate U\+D[89A-F][0-9A-F]{2} at index \d+\)/);
    expect(readdirSync(ws).filter((f) => f.startsWith('PWN'))).toEqual([]);
  });

  it('a surrogate in a tool name or key is refused too; a proper pair (emoji) is fine', async () => {
    expect((await p.call({ tool: 'sh\uD800ell', input: { command: 'true' } })).reason).toMatch(/tool name is not well-formed/);
    expect((await p.call({ tool: 'shell', input: { ['com\uDFFFmand']: 'true' } })).reason).toMatch(/key .* not well-formed/);
    const ok = await p.call({ tool: 'write', input: { path: 'ok-\u{1F600}.txt', content: 'x' } });
    expect(ok.status).toBe('ok');
    expect(readdirSync(ws)).toContain('ok-\u{1F600}.txt');
  });

  it('the refusals are in the audit log with the reason', () => {
    p.audit.flush();
    const rows = new Database(db, { readonly: true }).prepare("SELECT * FROM audit").all() as Record<string, unknown>[];
    const text = JSON.stringify(rows);
    expect(text).toContain('not well-formed Unicode');
    expect(text).toContain('c-lone surrogate in a shell command');
  });
});
