/**
 * The policy's hooks at the loop's own points, through the real `icode run` with a scripted model:
 * session_start adds context, user_prompt can refuse a prompt, stop runs the todo enforcer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-loop-hooks-');
const ws = join(root, 'ws');

beforeAll(() => {
  mkdirSync(ws);
  mkdirSync(join(root, 'hooks'));
  writeFileSync(join(root, 'hooks/start.js'), `export function session_start(e) { return { context: 'Project rule: never touch prod.' }; }\n`);
  writeFileSync(join(root, 'hooks/prompt.js'), `export function user_prompt(e) { return /rm -rf/.test(e.prompt) ? { block: true, reason: 'that prompt is not accepted here' } : {}; }\n`);
  writeFileSync(
    join(root, 'policy.yaml'),
    [
      'version: 1',
      'extends: builtin:jailed',
      'hooks:',
      '  session_start: [{script: hooks/start.js}]',
      '  user_prompt: [{script: hooks/prompt.js}]',
      '  stop: [{builtin: todo_continuation_enforcer}]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(root, 'script.yaml'),
    [
      'turns:',
      '  - tool_calls: [{name: todo_write, input: {todos: [{content: a, status: pending}]}}]',
      '  - text: stopping early',
      '  - tool_calls: [{name: todo_write, input: {todos: [{content: a, status: completed}]}}]',
      '  - text: finished',
      '',
    ].join('\n'),
  );
});

function run(prompt: string, db: string) {
  return icode(['run', prompt, '--provider', `script:${join(root, 'script.yaml')}`, '--workspace', ws, '--policy', join(root, 'policy.yaml'), '--audit', db, '--sessions-db', join(root, 'sessions.db'), '--output-format', 'stream-json']);
}

describe('loop hooks from the policy', () => {
  it('session_start context reaches the model, the stop hook keeps the agent going until the todos are done', () => {
    const db = join(root, 'a.db');
    const r = run('do the thing', db);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; subtype?: string; message?: { content?: unknown }; result?: string });
    const result = events.find((e) => e.type === 'result');
    expect(result).toMatchObject({ subtype: 'success', result: 'finished' });
    const log = AuditLog.open(db, { readonly: true });
    try {
      const points = log.list({ kind: 'event' }).map((e) => (e.data as { point: string; status: string }).point);
      expect(points).toEqual(expect.arrayContaining(['session_start', 'user_prompt', 'stop']));
      expect(points.filter((p) => p === 'stop').length).toBe(2);
    } finally {
      log.close();
    }
  });

  it('a user_prompt hook can refuse the prompt before the model is called', () => {
    const r = run('please rm -rf everything', join(root, 'b.db'));
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('that prompt is not accepted here');
  });
});
