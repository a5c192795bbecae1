/**
 * The pipeline's named stages as a caller sees them: every result carries per-stage timings, and an
 * executor's failure code travels apart from its message down to the audit row. Real pipeline, real
 * worker pool, real SQLite file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-stages-');
const ws = join(root, 'ws');
let p: Pipeline;

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'one\none\n');
  p = await createPipeline({ workspace: ws, policy: 'builtin:jailed', audit: join(root, 'audit.db'), session: 'stages' });
});
afterAll(async () => {
  await p.close();
});

const STAGES = ['validate', 'decide', 'commit', 'preHooks', 'execute', 'postHooks', 'outcome'] as const;

describe('stage timings', () => {
  it('an executed call is timed in every stage; a denied one stops after commit', async () => {
    const ok = await p.call({ tool: 'read', input: { path: 'a.txt' } });
    expect(ok.status).toBe('ok');
    for (const s of STAGES) expect(ok.timings?.[s]).toBeGreaterThanOrEqual(0);
    const sum = STAGES.reduce((n, s) => n + ok.timings![s], 0);
    expect(sum).toBeLessThanOrEqual(ok.durationMs + 50);

    const denied = await p.call({ tool: 'format_disk', input: {} });
    expect(denied.status).toBe('denied');
    expect(denied.timings).toMatchObject({ preHooks: 0, execute: 0, postHooks: 0, outcome: 0 });
  });
});

describe('failure codes', () => {
  it.each([
    [{ tool: 'read', input: { path: 'missing.txt' } }, 'NOT_FOUND'],
    [{ tool: 'edit', input: { path: 'a.txt', old_string: 'one', new_string: 'two' } }, 'NOT_UNIQUE'],
  ])('%j fails with its code on the result and on the outcome row', async (call, code) => {
    const r = await p.call(call);
    expect(r).toMatchObject({ status: 'error', code });
    expect(r.error).toContain(code); // the model still reads it in the message
    p.audit.flush();
    const outcome = p.audit.get(r.auditId!)?.outcome;
    expect(outcome).toMatchObject({ status: 'error', errorCode: code });
    expect(p.audit.verify().ok).toBe(true);
  });

  it('a successful call has no code', async () => {
    const r = await p.call({ tool: 'list', input: {} });
    expect(r.status).toBe('ok');
    expect(r.code).toBeUndefined();
    p.audit.flush();
    expect(p.audit.get(r.auditId!)?.outcome?.errorCode).toBeNull();
  });
});
