/**
 * The pipeline end to end with real parts: real files, a real SQLite audit log, the real worker pool.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-pipeline-');
const ws = join(root, 'ws');
const evil = join(root, 'ws-evil');
const outside = join(root, 'outside');
const SECRET = 'TOP-SECRET-OUTSIDE-CONTENT';

beforeAll(() => {
  mkdirSync(join(ws, 'src'), { recursive: true });
  mkdirSync(join(ws, '.git', 'hooks'), { recursive: true });
  mkdirSync(evil);
  mkdirSync(outside);
  writeFileSync(join(ws, 'src/a.ts'), 'line one\nline two\n');
  writeFileSync(join(outside, 'secret.txt'), SECRET + '\n');
  writeFileSync(join(evil, 'secret.txt'), SECRET + '\n');
  symlinkSync(join(outside, 'secret.txt'), join(ws, 'link-file'));
  symlinkSync(outside, join(ws, 'src', 'link-dir'));
  linkSync(join(outside, 'secret.txt'), join(ws, 'hardlink'));
});

const pipelines: Pipeline[] = [];
afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
});

async function open(policy: string, audit: string, ask: 'deny' | 'allow' = 'deny'): Promise<Pipeline> {
  const p = await createPipeline({ workspace: ws, policy, audit: join(root, audit), ask, session: 's1' });
  pipelines.push(p);
  return p;
}

describe('decisions are recorded before outcomes', () => {
  it('runs an allowed read and records decision then outcome', async () => {
    const p = await open('builtin:readonly', 'a.db');
    const r = await p.call({ tool: 'Read', input: { path: 'src/a.ts' } });
    expect(r).toMatchObject({ tool: 'read', decision: 'allow', rule: 'readonly.fs-read', status: 'ok' });
    expect(r.output).toMatch(/^\s*1\tline one\n\s*2\tline two/);
    p.audit.flush();
    const rows = p.audit.list({ session: 's1' });
    // The built-in policies run secret_redactor on results: its hook row sits between the two.
    const mine = rows.filter((row) => row.callId === r.callId && row.kind !== 'hook');
    expect(mine.map((row) => row.kind)).toEqual(['decision', 'outcome']);
    expect(rows.filter((row) => row.callId === r.callId && row.kind === 'hook').map((row) => row.name)).toEqual(['secret_redactor']);
    expect(mine[0].seq).toBeLessThan(mine[1].seq);
    expect(mine[0]).toMatchObject({ decision: 'allow', rule: 'readonly.fs-read', policyHash: p.policyHash });
    expect(p.audit.verify().ok).toBe(true);
  });

  it('records an ask settled by --ask deny as a denial with the reason', async () => {
    const p = await open('builtin:readonly', 'b.db');
    const r = await p.call({ tool: 'write', input: { path: 'src/new.ts', content: 'x' } });
    expect(r).toMatchObject({ decision: 'ask', status: 'denied' });
    expect(r.error).toContain('--ask deny');
    expect(existsSync(join(ws, 'src/new.ts'))).toBe(false);
    p.audit.flush();
    const detail = p.audit.get(r.auditId!);
    expect(detail?.decision).toMatchObject({ decision: 'ask' });
    expect(String(detail?.decision.approval)).toContain('--ask deny');
    expect(detail?.outcome).toMatchObject({ status: 'denied' });
  });

  it('runs an ask settled by --ask allow', async () => {
    const p = await open('builtin:readonly', 'c.db', 'allow');
    const r = await p.call({ tool: 'write', input: { path: 'src/approved.ts', content: 'ok\n' } });
    expect(r).toMatchObject({ decision: 'ask', status: 'ok' });
    expect(readFileSync(join(ws, 'src/approved.ts'), 'utf8')).toBe('ok\n');
  });
});

describe('fail closed, recorded', () => {
  it('denies an unknown tool', async () => {
    const p = await open('builtin:jailed', 'd.db');
    const r = await p.call({ tool: 'format_disk', input: {} });
    expect(r).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(r.reason).toContain('unknown tool "format_disk"');
    p.audit.flush();
    expect(p.audit.list({ decision: 'deny' }).some((row) => row.callId === r.callId)).toBe(true);
  });

  it('denies invalid input with a message naming the field', async () => {
    const p = await open('builtin:jailed', 'e.db');
    const bad = await p.call({ tool: 'read', input: { path: 42 } });
    expect(bad).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(bad.reason).toContain('path: must be string');
    const extra = await p.call({ tool: 'read', input: { path: 'a', evil: true } });
    expect(extra.reason).toContain('unknown field "evil"');
    const notObject = await p.call({ tool: 'shell', input: 'rm -rf /' });
    expect(notObject.status).toBe('denied');
  });

  it('denies every call when the policy does not load, and records why', async () => {
    const bad = join(root, 'bad-policy.yaml');
    writeFileSync(bad, 'version: 1\nrules: [{id: x, decision: maybe}]\n');
    const p = await open(bad, 'f.db');
    const r = await p.call({ tool: 'read', input: { path: 'src/a.ts' } });
    expect(r).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(r.reason).toContain('the policy failed to load');
    expect(r.reason).toContain('bad-policy.yaml:2:');
    expect(p.policyHash).toBe('none');
  });

  it('refuses writes to protected paths even under builtin:jailed', async () => {
    const p = await open('builtin:jailed', 'g.db');
    for (const path of ['.git/hooks/pre-commit', '.git/config', '.icode/x', 'src/../.git/hooks/post-merge']) {
      const r = await p.call({ tool: 'write', input: { path, content: 'evil' } });
      expect(r.status, path).toBe('denied');
    }
    expect(existsSync(join(ws, '.git/hooks/pre-commit'))).toBe(false);
  });
});

describe('no call can read or write outside the workspace, even under builtin:jailed', () => {
  const reads = [
    ['dot-dot', '../outside/secret.txt'],
    ['absolute', join(outside, 'secret.txt')],
    ['prefix confusion', join(evil, 'secret.txt')],
    ['file symlink', 'link-file'],
    ['directory symlink', 'src/link-dir/secret.txt'],
    ['hardlink', 'hardlink'],
    ['proc', '/proc/self/environ'],
  ] as const;
  it.each(reads)('read via %s gets nothing', async (_name, path) => {
    const p = await open('builtin:jailed', 'h.db');
    const r = await p.call({ tool: 'read', input: { path } });
    expect(r.status).toBe('error');
    expect(JSON.stringify(r)).not.toContain(SECRET);
  });

  it('writes through an outside symlink are refused', async () => {
    const p = await open('builtin:jailed', 'i.db');
    const r = await p.call({ tool: 'write', input: { path: 'src/link-dir/planted.txt', content: 'x' } });
    expect(r.status).toBe('error');
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
  });

  it('grep and glob never list outside files', async () => {
    const p = await open('builtin:jailed', 'j.db');
    const g = await p.call({ tool: 'grep', input: { pattern: 'TOP-SECRET', output_mode: 'content' } });
    expect(JSON.stringify(g)).not.toContain(SECRET);
    const gl = await p.call({ tool: 'glob', input: { pattern: '**/*' } });
    expect(gl.output ?? '').not.toContain('secret.txt');
  });
});

describe('the audit log survives the pipeline', () => {
  it('verifies after many concurrent calls, each outcome with its decision', async () => {
    const p = await open('builtin:workspace-write', 'k.db');
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => p.call({ tool: i % 3 ? 'read' : 'shell', input: i % 3 ? { path: 'src/a.ts' } : { command: 'curl x' } })),
    );
    expect(results.filter((r) => r.status === 'ok').length).toBeGreaterThan(300);
    await p.close();
    const log = AuditLog.open(join(root, 'k.db'));
    try {
      // 500 decisions, 500 outcomes, and secret_redactor's hook row for each call that ran.
      const ran = results.filter((r) => r.status !== 'denied').length;
      expect(log.verify()).toMatchObject({ ok: true, rows: 1000 + ran });
      expect(log.stats().callsWithoutOutcome).toBe(0);
    } finally {
      log.close();
    }
  });
});

describe('Claude Code tool inputs', () => {
  it('accepts Claude Code field names under Claude Code tool names, and only there', async () => {
    const p = await open('builtin:workspace-write', 'claude.db');
    const read = await p.call({ tool: 'Read', input: { file_path: 'src/a.ts' } });
    expect(read).toMatchObject({ tool: 'read', status: 'ok' });
    const edit = await p.call({ tool: 'Edit', input: { file_path: 'src/a.ts', old_string: 'line two', new_string: 'line 2' } });
    expect(edit.status).toBe('ok');
    const native = await p.call({ tool: 'read', input: { file_path: 'src/a.ts' } });
    expect(native.status).toBe('denied');
    expect(native.reason).toContain('unknown field "file_path"');
    const both = await p.call({ tool: 'Read', input: { file_path: 'src/a.ts', path: 'src/a.ts' } });
    expect(both.status).toBe('denied');
    expect(both.reason).toContain('unknown field "file_path"');
    const bg = await p.call({ tool: 'Bash', input: { command: 'sleep 100', run_in_background: true } });
    expect(bg.reason).toContain('run_in_background');
  });
});
