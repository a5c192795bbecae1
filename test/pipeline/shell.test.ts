/**
 * The shell tool through the whole pipeline: real bwrap, real pty, real audit log.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-shell-pipeline-');
const ws = join(root, 'ws');
const pipelines: Pipeline[] = [];

beforeAll(() => {
  mkdirSync(join(ws, '.git', 'hooks'), { recursive: true });
  writeFileSync(join(root, 'outside.txt'), 'OUTSIDE-SECRET\n');
  process.env.ICODE_TEST_PARENT_SECRET = 'parent-secret-value';
  process.env.TEST_PASSED_VAR = 'passed-value';
});
afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
  delete process.env.ICODE_TEST_PARENT_SECRET;
  delete process.env.TEST_PASSED_VAR;
});

async function open(name: string, policyText: string): Promise<Pipeline> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, policyText);
  const p = await createPipeline({ workspace: ws, policy: file, audit: join(root, `${name}.db`), session: name });
  pipelines.push(p);
  return p;
}

describe('shell under builtin:jailed', () => {
  it('runs in the jail: nothing outside the workspace, no parent secrets, audit says bwrap', async () => {
    const p = await open('jailed', 'version: 1\nextends: builtin:jailed\nsettings: {env: [TEST_PASSED_VAR]}\n');
    const r = await p.call({ tool: 'Bash', input: { command: `cat ${join(root, 'outside.txt')}; env; echo hi > made.txt; echo x > ${join(root, 'planted.txt')}; echo end` } });
    expect(r.decision).toBe('allow');
    expect(r.output).toContain('end');
    expect(r.output).not.toContain('OUTSIDE-SECRET');
    expect(r.output).not.toContain('parent-secret-value');
    expect(r.output).toContain('TEST_PASSED_VAR=passed-value');
    expect(existsSync(join(ws, 'made.txt'))).toBe(true);
    expect(existsSync(join(root, 'planted.txt'))).toBe(false);
    p.audit.flush();
    expect(p.audit.get(r.auditId!)?.decision?.jail).toBe('bwrap');
  });

  it('cannot write protected paths from the shell either', async () => {
    const p = await open('protected', 'version: 1\nextends: builtin:jailed\n');
    // The redirect is denied by the policy; the same write hidden from the parser is stopped by the jail.
    const direct = await p.call({ tool: 'shell', input: { command: 'echo evil > .git/hooks/pre-commit' } });
    expect(direct.status).toBe('denied');
    const hidden = await p.call({ tool: 'shell', input: { command: 'f=.git/hooks/pre-commit; eval "echo evil > $f"; echo rc=$?' } });
    expect(existsSync(join(ws, '.git/hooks/pre-commit'))).toBe(false);
    expect(hidden.output ?? '').not.toContain('rc=0');
  });

  it('a timed-out command fails with the reason, and the session keeps serving', async () => {
    const p = await open('timeout', 'version: 1\nextends: builtin:jailed\n');
    const r = await p.call({ tool: 'shell', input: { command: 'sleep 30', timeout_ms: 500 } });
    expect(r.status).toBe('error');
    expect(r.error).toContain('timed out');
    const after = await p.call({ tool: 'shell', input: { command: 'echo still-here' } });
    expect(after.output).toContain('still-here');
  });

  it('a non-zero exit is an error result that carries the output and the exit code', async () => {
    const p = await open('exit', 'version: 1\nextends: builtin:jailed\n');
    const r = await p.call({ tool: 'shell', input: { command: 'echo before; exit 7' } });
    expect(r).toMatchObject({ status: 'error', exitCode: 7 });
    expect(r.output).toContain('before');
    expect(r.error).toContain('exit code 7');
  });
});

describe('jail: none is an explicit weaker mode, recorded on every row', () => {
  it('records jail none', async () => {
    const p = await open('none', 'version: 1\nextends: builtin:jailed\nsettings: {jail: none}\n');
    const r = await p.call({ tool: 'shell', input: { command: 'echo unjailed' } });
    expect(r.output).toContain('unjailed');
    p.audit.flush();
    expect(p.audit.get(r.auditId!)?.decision?.jail).toBe('none');
  });
});

describe('Claude Code command hooks run inside the jail', () => {
  it('exit 2 blocks with stderr as the reason; the hook sees the event on stdin', async () => {
    const p = await open(
      'command-hook',
      [
        'version: 1',
        'extends: builtin:jailed',
        'hooks:',
        '  pre_tool:',
        '    - match: {tool: shell}',
        '      command: ["sh", "-c", "grep -q force && { echo no force pushes >&2; exit 2; }; cat /etc/hostname 2>/dev/null; exit 0"]',
        '',
      ].join('\n'),
    );
    const blocked = await p.call({ tool: 'shell', input: { command: 'git push --force' } });
    expect(blocked.status).toBe('denied');
    expect(blocked.error).toContain('no force pushes');
    const fine = await p.call({ tool: 'shell', input: { command: 'echo fine' } });
    expect(fine.output).toContain('fine');
  });
});

describe('the file tools and the jailed shell see one workspace', () => {
  it('a file edited or written with the fs tools is what the next shell command reads (the overlay is refreshed)', async () => {
    const p = await open('fs-then-shell', 'version: 1\nextends: builtin:jailed\n');
    await p.call({ tool: 'write', input: { path: 'seen.txt', content: 'version one\n' } });
    expect((await p.call({ tool: 'shell', input: { command: 'cat seen.txt' } })).output).toContain('version one');
    const edit = await p.call({ tool: 'edit', input: { path: 'seen.txt', old_string: 'one', new_string: 'two' } });
    expect(edit.status).toBe('ok');
    const again = await p.call({ tool: 'shell', input: { command: 'cat seen.txt' } });
    expect(again.output).toContain('version two');
    expect(again.output).not.toContain('version one');
    await p.call({ tool: 'write', input: { path: 'seen.txt', content: 'version three\n' } });
    expect((await p.call({ tool: 'shell', input: { command: 'cat seen.txt' } })).output).toContain('version three');
  });
});
