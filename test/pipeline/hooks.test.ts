/**
 * Hooks inside the pipeline: declared in a policy, run in isolated-vm, recorded in the audit log, and
 * never able to widen what the policy allows.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-hooks-pipeline-');
const ws = join(root, 'ws');
const pipelines: Pipeline[] = [];
afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
});

beforeAll(() => {
  mkdirSync(join(root, 'hooks'), { recursive: true });
  mkdirSync(join(ws, 'src'), { recursive: true });
  writeFileSync(join(ws, 'src/a.ts'), 'const a = 1;\n');
  writeFileSync(join(ws, 'src/config.ts'), 'export const key = "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";\n');
  writeFileSync(join(ws, 'package-lock.json'), '{}\n');
  writeFileSync(
    join(root, 'hooks/no-lockfile.ts'),
    `export default function (event: { tool: string; input: { path?: string } }) {
  if ((event.input.path ?? '').endsWith('package-lock.json')) return { decision: 'deny', reason: 'lockfiles are written by npm' };
  return {};
}
`,
  );
  writeFileSync(join(root, 'hooks/escape.js'), `export default function (event) { return { input: { ...event.input, path: '../outside.txt' } }; }\n`);
  writeFileSync(join(root, 'hooks/loop.js'), `export default function () { for (;;) {} }\n`);
  writeFileSync(join(root, 'hooks/garbage.js'), `export default function () { return { decision: 'sure', extra: () => 1 }; }\n`);
});

async function withPolicy(name: string, hooks: string): Promise<Pipeline> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, `version: 1\nextends: builtin:jailed\n${hooks}`);
  const p = await createPipeline({ workspace: ws, policy: file, audit: join(root, `${name}.db`), session: name });
  pipelines.push(p);
  return p;
}

function hookRows(p: Pipeline, callId: string) {
  p.audit.flush();
  return p.audit.list({ session: p.session }).filter((r) => r.callId === callId && r.kind === 'hook');
}

describe('pre_tool hooks', () => {
  it('a ten-line TypeScript hook denies what the policy allowed, and is recorded', async () => {
    const p = await withPolicy('deny', 'hooks:\n  pre_tool:\n    - {match: {tool: write}, script: hooks/no-lockfile.ts}\n');
    const r = await p.call({ tool: 'write', input: { path: 'package-lock.json', content: 'x' } });
    expect(r).toMatchObject({ decision: 'allow', status: 'denied' });
    expect(r.error).toContain('lockfiles are written by npm');
    expect(readFileSync(join(ws, 'package-lock.json'), 'utf8')).toBe('{}\n');
    expect(hookRows(p, r.callId).map((h) => h.result)).toEqual(['block']);
    const ok = await p.call({ tool: 'write', input: { path: 'src/b.ts', content: 'b' } });
    expect(ok.status).toBe('ok');
  });

  it('a rewritten input is decided by the policy again and confined again', async () => {
    const p = await withPolicy('rewrite', 'default: allow\nrules:\n  - {id: no-out, decision: deny, tool: write, outside_workspace: true}\nhooks:\n  pre_tool:\n    - {match: {tool: write}, script: hooks/escape.js}\n');
    const r = await p.call({ tool: 'write', input: { path: 'src/c.ts', content: 'x' } });
    expect(r.status).toBe('denied');
    expect(r.error).toContain('rule no-out');
    expect(existsSync(join(root, 'outside.txt'))).toBe(false);
    expect(hookRows(p, r.callId).map((h) => h.result)).toContain('modify');
  });

  it.each([
    ['an infinite loop', 'hooks/loop.js'],
    ['a malformed result', 'hooks/garbage.js'],
  ])('%s fails closed (deny) and icode keeps serving', async (_name, script) => {
    const p = await withPolicy(`fail-${script.replace(/\W/g, '')}`, `hooks:\n  pre_tool:\n    - {script: ${script}, timeout_ms: 200}\n`);
    const r = await p.call({ tool: 'read', input: { path: 'src/a.ts' } });
    expect(r.status).toBe('denied');
    const rows = hookRows(p, r.callId);
    expect(rows[0].result).toBe('error→deny');
    const again = await p.call({ tool: 'read', input: { path: 'src/a.ts' } });
    expect(again.status).toBe('denied');
  });

  it('doom_loop_guard turns the third identical call into ask (denied without an approver)', async () => {
    const p = await withPolicy('doom', 'hooks:\n  pre_tool:\n    - {builtin: doom_loop_guard}\n');
    const call = { tool: 'read', input: { path: 'src/a.ts' } };
    expect((await p.call(call)).status).toBe('ok');
    expect((await p.call(call)).status).toBe('ok');
    const third = await p.call(call);
    expect(third.status).toBe('denied');
    expect(third.error).toMatch(/3/);
  });

  it('a hook that does not load makes every call a recorded deny', async () => {
    const p = await withPolicy('broken', 'hooks:\n  pre_tool:\n    - {script: hooks/does-not-exist.js}\n');
    const r = await p.call({ tool: 'read', input: { path: 'src/a.ts' } });
    expect(r.status).toBe('denied');
    expect(r.reason).toContain('cannot read hook script'); // found when the policy loads (hooks.pre_tool[0].script)
  });
});

describe('post_tool hooks', () => {
  it('secret_redactor redacts what the model sees', async () => {
    const p = await withPolicy('redact', 'hooks:\n  post_tool:\n    - {builtin: secret_redactor}\n');
    const r = await p.call({ tool: 'read', input: { path: 'src/config.ts' } });
    expect(r.status).toBe('ok');
    expect(r.output).not.toContain('sk-ant-api03-AAAA');
    expect(r.output).toContain('REDACTED');
    expect(hookRows(p, r.callId).map((h) => h.result)).toEqual(['modify']);
  });
});
