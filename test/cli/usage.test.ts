/**
 * Everyday usage: a mistyped command is an error with a suggestion (a prompt is anything else),
 * `exec` exit codes (2 bad input or policy, 3 only a policy decision), an ask denied without a person
 * says how to allow it, `--workspace` defaults to the current directory, `sessions list` is per
 * workspace. Spawned tests run the built binary (npm run build first).
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { editDistance, suggestCommand } from '../../cli/suggest.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-usage-');
const audit = join(root, 'audit.db');

describe('a mistyped command is not a prompt', () => {
  const program = buildProgram();
  it.each([
    [['sesions', 'list'], 'sessions list'],
    [['sesions'], 'sessions'],
    [['polcy', 'check', 'x.yaml'], 'policy check x.yaml'],
    [['adit', 'verify'], 'audit verify'],
    [['rpelay', 'calls.jsonl'], 'replay calls.jsonl'],
    [['exce'], 'exec'],
  ])('%j → icode %s', (words, meant) => {
    expect(suggestCommand(program, words)).toBe(meant);
  });
  it.each([
    [['fix', 'the', 'failing', 'test']],
    [['refactor', 'this']],
    [['explain', 'the', 'policy', 'loader']],
    [['policies', 'are', 'hard', 'to', 'read']],
    [['hello']],
    [['what does sessions.ts do?']],
  ])('%j is a prompt', (words) => {
    expect(suggestCommand(program, words)).toBeNull();
  });
  it('edit distance counts a swap as one edit', () => {
    expect(editDistance('rpelay', 'replay')).toBe(1);
    expect(editDistance('sesions', 'sessions')).toBe(1);
    expect(editDistance('', 'run')).toBe(3);
  });
  it('the binary refuses `icode sesions list` with exit 2 and a suggestion', () => {
    const r = icode(['sesions', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('icode: unknown command "sesions"; did you mean "icode sessions list"? (to send it as a prompt: icode run "sesions list")\n');
  });
  it('after `run` the same words are a prompt', () => {
    const r = icode(['run', '--provider', 'script:none.yaml', 'sesions', 'list'], { cwd: root, env: { ICODE_SESSIONS_DB: join(root, 'p.db') } });
    expect(r.stderr).not.toContain('unknown command');
    expect(r.stderr).toContain('none.yaml');
  });
});

describe('icode exec exit codes', () => {
  const ws = join(root, 'ws');
  mkdirSync(ws);
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  const exec = (tool: string, input: unknown, policy: string, extra: string[] = []) =>
    icode(['exec', '--tool', tool, '--input', JSON.stringify(input), '--policy', policy, '--audit', audit, ...extra], { cwd: ws });

  it('the workspace defaults to the current directory', () => {
    const r = exec('read', { path: 'a.txt' }, 'builtin:readonly');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hello');
  });
  it('an input that fails its schema is 2 with the schema error', () => {
    const r = exec('read', { pat: 'a.txt' }, 'builtin:readonly');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid input for read');
    expect(r.stderr).toContain('missing "path"');
  });
  it('a policy that does not load is 2, naming the file and the line', () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'version: [\n');
    const r = exec('read', { path: 'a.txt' }, bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2:1`);
  });
  it('a real policy decision is 3', () => {
    const r = exec('write', { path: 'b.txt', content: 'x' }, 'builtin:readonly');
    expect(r.code).toBe(3);
  });
  it('an ask denied for want of a person says how to allow it', () => {
    const policy = join(root, 'ask.yaml');
    writeFileSync(policy, 'version: 1\nname: t\ndefault: ask\nrules: []\n');
    const r = exec('read', { path: 'a.txt' }, policy);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no one to ask');
    expect(r.stderr).toContain('add a rule to the policy, e.g. {id: allow-it, decision: allow, reason: "…", tool: read, paths: ["a.txt"]}');
    expect(r.stderr).toContain('--ask allow');
    expect(r.stderr).toContain('TUI');
  });
});

describe('workspace defaults', () => {
  it('replay takes the current directory as the workspace', () => {
    const ws = join(root, 'ws-replay');
    mkdirSync(ws);
    writeFileSync(join(ws, 'calls.jsonl'), JSON.stringify({ tool: 'list', input: { path: '.' } }) + '\n');
    const r = icode(['replay', 'calls.jsonl', '--policy', 'builtin:readonly', '--audit', audit], { cwd: ws });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('calls.jsonl');
  });

  it("sessions list shows the current workspace's sessions; --all shows every one", () => {
    const db = join(root, 'sessions.db');
    const here = join(root, 'proj-a');
    const there = join(root, 'proj-b');
    mkdirSync(here);
    mkdirSync(there);
    const store = SessionStore.open(db);
    store.createSession({ id: 'aaaaaaaa-0000-4000-8000-000000000001', title: 'in a', model: 'm', workspace: realpathSync(here), policy: 'p', system: null });
    store.createSession({ id: 'bbbbbbbb-0000-4000-8000-000000000002', title: 'in b', model: 'm', workspace: realpathSync(there), policy: 'p', system: null });
    store.close();
    const mine = JSON.parse(icode(['sessions', 'list', '--sessions-db', db, '--json'], { cwd: here }).stdout) as Array<{ title: string }>;
    expect(mine.map((s) => s.title)).toEqual(['in a']);
    const all = JSON.parse(icode(['sessions', 'list', '--all', '--sessions-db', db, '--json'], { cwd: here }).stdout) as Array<{ title: string }>;
    expect(all.map((s) => s.title).sort()).toEqual(['in a', 'in b']);
    const none = icode(['sessions', 'list', '--sessions-db', db], { cwd: root });
    expect(none.stdout).toContain('--all lists every workspace');
  });
});
