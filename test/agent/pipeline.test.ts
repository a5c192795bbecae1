/** The real pipeline under the loop: policy decisions, audit ids in the sessions db, the scripted provider. */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../cli/commands/run.js';
import { icodeInProcess } from '../helpers/cli.js';
import { SessionStore } from '../../engine/agent/sessions.js';

let dir: string;
let ws: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'icode-agent-pipeline-'));
  ws = join(dir, 'ws');
  mkdirSync(join(ws, 'src'), { recursive: true });
  writeFileSync(join(ws, 'src', 'sum.ts'), 'export const sum = (a: number, b: number) => a - b;\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('icode run with the real pipeline', () => {
  it('runs a scripted agent under builtin:workspace-write and links tool calls to audit rows', async () => {
    writeFileSync(
      join(dir, 'fix.yaml'),
      `model: fixer
turns:
  - text: "Reading the code."
    tool_calls:
      - { id: c1, name: read, input: { path: src/sum.ts } }
      - { id: c2, name: read, input: { path: /etc/passwd } }
  - tool_calls:
      - { id: c3, name: edit, input: { path: src/sum.ts, old_string: "a - b", new_string: "a + b" } }
      - { id: c4, name: write, raw_arguments: '{"path": "x' }
  - text: "Fixed."
`,
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCommand(
      'fix sum',
      {
        provider: `script:${join(dir, 'fix.yaml')}`,
        workspace: ws,
        policy: 'builtin:workspace-write',
        audit: join(dir, 'audit.db'),
        sessionsDb: join(dir, 'sessions.db'),
        outputFormat: 'stream-json',
      },
      { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { HOME: dir } },
    );
    if (!out.length) throw new Error(err.join(''));
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(code, err.join('')).toBe(0);
    expect(readFileSync(join(ws, 'src', 'sum.ts'), 'utf8')).toContain('a + b');
    const decided = lines.filter((l) => l.type === 'tool_use').map((l) => [l.tool_use_id, l.decision, l.status]);
    expect(decided[0]).toEqual(['c1', 'allow', 'ok']);
    expect(decided[1]![0]).toBe('c2');
    expect(decided[1]![2]).not.toBe('ok');
    expect(decided[2]).toEqual(['c3', 'allow', 'ok']);
    expect(decided[3]).toEqual(['c4', 'deny', 'denied']);

    const store = SessionStore.open(join(dir, 'sessions.db'));
    try {
      const id = lines[0]!.session_id as string;
      const calls = store.toolCalls(id);
      expect(calls).toHaveLength(4);
      expect(calls.every((c) => typeof c.auditId === 'number')).toBe(true);
      expect(store.getSession(id).policyHash).toMatch(/^[0-9a-f]{8,}/);
    } finally {
      store.close();
    }
  });

  it('wires the command-line flags (commander) through to the run', async () => {
    writeFileSync(join(dir, 'hello.json'), JSON.stringify({ model: 'hello', turns: [{ tool_calls: [{ name: 'list', input: {} }] }, { text: 'hi' }] }));
    const r = await icodeInProcess([
      'run', '--provider', `script:${join(dir, 'hello.json')}`, '--workspace', ws, '--policy', 'builtin:readonly',
      '--audit', join(dir, 'audit.db'), '--sessions-db', join(dir, 'sessions.db'), '--output-format', 'json', '--max-turns', '1', 'say', 'hi',
    ]);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ type: 'result', subtype: 'error_max_turns', num_turns: 1 });
    const store = SessionStore.open(join(dir, 'sessions.db'));
    try {
      const s = store.getSession(result.session_id as string);
      expect(s).toMatchObject({ title: 'say hi', policy: 'builtin:readonly', status: 'error_max_turns' });
      expect(store.toolCalls(s.id)[0]).toMatchObject({ tool: 'list', decision: 'allow', status: 'ok' });
    } finally {
      store.close();
    }
  });
});
