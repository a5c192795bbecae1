/**
 * Sub-agents end to end: the real Anthropic SDK against the loopback fake LLM, the real pipeline (policy,
 * audit log in a real SQLite file, fs workers, bwrap jail) and a real sessions database.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type RunOptions } from '../../cli/commands/run.js';
import { parseDefinition } from '../../engine/agent/subagents/definitions.js';
import { SessionStore } from '../../engine/agent/sessions.js';
import { AuditLog } from '../../engine/audit/log.js';
import { FakeLLM, anthropicSse, openaiSse, type RecordedRequest } from '../agent/fake-llm.js';
import { icodeInProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

let llm: FakeLLM;
let dir: string;
let ws: string;

beforeEach(async () => {
  llm = await new FakeLLM().start();
  dir = mkdtempSync(join(tmpdir(), 'icode-subagents-'));
  ws = join(dir, 'ws');
  mkdirSync(ws);
  writeFileSync(join(ws, 'notes.txt'), 'the answer is 42\n');
});
afterEach(async () => {
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

const task = (id: string, subagent_type: string, prompt: string, description = 'a task') => ({ id, name: 'task', json: JSON.stringify({ subagent_type, description, prompt }) });
const call = (id: string, name: string, input: unknown) => ({ id, name, json: JSON.stringify(input) });

async function run(prompt: string, opts: Partial<RunOptions> = {}, signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(
    prompt,
    {
      model: 'anthropic/claude-haiku-4-5',
      workspace: ws,
      policy: 'builtin:workspace-write',
      audit: join(dir, 'audit.db'),
      sessionsDb: join(dir, 'sessions.db'),
      outputFormat: 'stream-json',
      ...opts,
    },
    {
      stdout: (s) => void out.push(s),
      stderr: (s) => void err.push(s),
      env: { HOME: dir, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: llm.url, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${llm.url}/v1` },
      retry: { maxRetries: 0, sleep: async () => undefined },
      ...(signal ? { signal } : {}),
    },
  );
  const lines = out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines, stderr: err.join('') };
}

type Block = { type: string; tool_use_id?: string; content?: unknown; is_error?: boolean };
/** The tool_result blocks a request sent back to the model, in order. */
function toolResults(r: RecordedRequest): Block[] {
  const msgs = r.body.messages as Array<{ role: string; content: unknown }>;
  const last = msgs[msgs.length - 1]!;
  return (Array.isArray(last.content) ? (last.content as Block[]) : []).filter((b) => b.type === 'tool_result');
}
const contentText = (b: Block): string => (typeof b.content === 'string' ? b.content : JSON.stringify(b.content));
const systemOf = (r: RecordedRequest): string => (typeof r.body.system === 'string' ? r.body.system : JSON.stringify(r.body.system ?? ''));
const toolNames = (r: RecordedRequest): string[] => ((r.body.tools as Array<{ name: string }> | undefined) ?? []).map((t) => t.name);

function audit() {
  return AuditLog.open(join(dir, 'audit.db'), { readonly: true });
}

describe('the task tool', () => {
  it('delegates to an explorer whose write is refused; the refusal reaches it, its answer reaches the main agent, the audit log links both', async () => {
    llm.enqueue(
      anthropicSse({ text: 'Delegating.', toolUses: [task('toolu_task1', 'explorer', 'Read notes.txt and report the answer.')] }),
      anthropicSse({ toolUses: [call('toolu_c1', 'read', { path: 'notes.txt' })] }),
      anthropicSse({ toolUses: [call('toolu_c2', 'write', { path: 'pwned.txt', content: 'x' })] }),
      anthropicSse({ text: 'The answer is 42.' }),
      anthropicSse({ text: 'The explorer says 42.' }),
    );
    const r = await run('what is the answer?');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(ws, 'pwned.txt'))).toBe(false);

    const [, child1, child2, child3, main2] = llm.requests as [RecordedRequest, RecordedRequest, RecordedRequest, RecordedRequest, RecordedRequest];
    // Own context: its system prompt and the task, not the parent's history; its tools only.
    expect(systemOf(child1)).toContain('explorer sub-agent');
    expect((child1.body.messages as unknown[]).length).toBe(1);
    expect(JSON.stringify(child1.body.messages)).not.toContain('what is the answer?');
    expect(toolNames(child1).sort()).toEqual(['glob', 'grep', 'list', 'read']);
    expect(contentText(toolResults(child2)[0]!)).toContain('the answer is 42');
    const refused = toolResults(child3)[0]!;
    expect(refused.is_error).toBe(true);
    expect(contentText(refused)).toMatch(/unknown tool "write" for sub-agent explorer/);
    const back = toolResults(main2)[0]!;
    expect(back.tool_use_id).toBe('toolu_task1');
    expect(back.is_error ?? false).toBe(false);
    expect(contentText(back)).toContain('The answer is 42.');
    expect(contentText(back)).toMatch(/sub-agent explorer: done; 3 turns, 2 tool calls, 1 denied: write/);

    // stream-json: the tree.
    const start = r.lines.find((l) => l.subtype === 'subagent_start')!;
    expect(start).toMatchObject({ agent: 'explorer', depth: 1, parent_tool_use_id: 'toolu_task1' });
    const childLines = r.lines.filter((l) => l.type === 'tool_use' && l.agent === 'explorer');
    expect(childLines.map((l) => [l.tool_use_id, l.status])).toEqual([
      ['toolu_c1', 'ok'],
      ['toolu_c2', 'denied'],
    ]);
    expect(childLines.every((l) => l.parent_tool_use_id === 'toolu_task1' && l.depth === 1)).toBe(true);
    expect(r.lines.find((l) => l.subtype === 'subagent_result')).toMatchObject({ agent: 'explorer', parent_tool_use_id: 'toolu_task1' });

    // Audit: the main agent's task row, the explorer's rows naming that call.
    const mainSession = r.lines[0]!.session_id as string;
    const log = audit();
    try {
      const taskRow = log.list({ kind: 'decision', session: mainSession }).find((row) => row.tool === 'task')!;
      expect(taskRow).toMatchObject({ agent: 'main', decision: 'allow', callId: 'toolu_task1' });
      const rows = log.list({ agent: 'explorer', kind: 'decision' });
      expect(rows.map((row) => [row.tool, row.decision])).toEqual([
        ['read', 'allow'],
        ['write', 'deny'],
      ]);
      expect(rows.every((row) => (row.data as { parent_call_id?: string }).parent_call_id === 'toolu_task1')).toBe(true);
      expect(rows.every((row) => (row.data as { parent_session?: string }).parent_session === mainSession)).toBe(true);
      // --agent also brings the outcomes of its calls, and nothing of the main agent's.
      const all = log.list({ agent: 'explorer' });
      expect(all.some((row) => row.kind === 'outcome')).toBe(true);
      expect(all.every((row) => row.session === rows[0]!.session)).toBe(true);
      expect(log.verify().ok).toBe(true);
    } finally {
      log.close();
    }

    // The CLI: audit list --agent explorer --json; sessions show prints the tree.
    const cli = await icodeInProcess(['audit', 'list', '--agent', 'explorer', '--kind', 'decision', '--json', '--db', join(dir, 'audit.db')]);
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as Array<{ tool: string; agent: string }>).map((row) => [row.agent, row.tool])).toEqual([
      ['explorer', 'read'],
      ['explorer', 'write'],
    ]);
    const shown = await icodeInProcess(['sessions', 'show', mainSession, '--sessions-db', join(dir, 'sessions.db')]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/sub-agents\n  └ explorer · call toolu_task1 · session [0-9a-f-]+ · success/);

    // Sessions: the child session hangs under the task call and ended.
    const store = SessionStore.open(join(dir, 'sessions.db'));
    try {
      const kids = store.subagentSessions(mainSession);
      expect(kids).toMatchObject([{ parentCallId: 'toolu_task1', agent: 'explorer', depth: 1 }]);
      const child = store.getSession(kids[0]!.sessionId);
      expect(child.status).toBe('success');
      expect(store.toolCalls(child.id).map((c) => c.tool)).toEqual(['read', 'write']);
    } finally {
      store.close();
    }
  });

  it('runs two task calls of one turn concurrently and returns their results in the model order', async () => {
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_a', 'explorer', 'look at A'), task('toolu_b', 'explorer', 'look at B')] }),
      // Each child's first response waits until both child requests are in: one after the other, the
      // second would never come before the first is answered.
      anthropicSse({ text: 'report one' }, { holdUntilRequests: 3 }),
      anthropicSse({ text: 'report two' }, { holdUntilRequests: 3 }),
      anthropicSse({ text: 'both done' }),
    );
    const r = await run('look at A and B');
    expect(r.code, r.stderr).toBe(0);
    const t = llm.timeline;
    expect(t.indexOf('request 2')).toBeGreaterThan(-1);
    expect(t.indexOf('request 2')).toBeLessThan(t.indexOf('done 1'));
    expect(t.indexOf('request 1')).toBeLessThan(t.indexOf('done 2'));
    const results = toolResults(llm.requests[3]!);
    expect(results.map((b) => b.tool_use_id)).toEqual(['toolu_a', 'toolu_b']);
    const texts = results.map(contentText).join(' ');
    expect(texts).toContain('report one');
    expect(texts).toContain('report two');
  });

  it('a user agent whose own policy allows more than its parent gets no more than the parent', async () => {
    mkdirSync(join(ws, '.icode', 'agents'), { recursive: true });
    writeFileSync(
      join(ws, '.icode', 'agents', 'writer.md'),
      `---
name: writer
description: Writes files
tools: Read, Write
policy:
  default: allow
  rules:
    - id: writer.all
      decision: allow
      reason: writes anything
      tool: [write, edit, read]
---
You write files.
`,
    );
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_w', 'writer', 'write out.txt')] }),
      anthropicSse({ toolUses: [call('toolu_w1', 'Write', { file_path: 'out.txt', content: 'x' })] }),
      anthropicSse({ text: 'I could not write.' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('write it', { policy: 'builtin:readonly', ask: 'deny' });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(ws, 'out.txt'))).toBe(false);
    expect(toolNames(llm.requests[1]!).sort()).toEqual(['read', 'write']);
    expect(toolResults(llm.requests[2]!)[0]!.is_error).toBe(true);
    const log = audit();
    try {
      const rows = log.list({ agent: 'writer', kind: 'decision' });
      // The parent's readonly policy asks for a write; nobody approved it: denied, whatever writer's own policy says.
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ tool: 'write', decision: 'ask', approval: expect.stringMatching(/deny/) });
    } finally {
      log.close();
    }
  });

  it("the parent policy's agent: rules match the sub-agent by name", async () => {
    writeFileSync(
      join(dir, 'policy.yaml'),
      `version: 1
name: no-explorer-reads
extends: builtin:workspace-write
rules:
  - id: no-explorer-notes
    decision: deny
    reason: the explorer may not read notes
    tool: read
    agent: explorer
`,
    );
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_t', 'explorer', 'read notes.txt')] }),
      anthropicSse({ toolUses: [call('toolu_r', 'read', { path: 'notes.txt' })] }),
      anthropicSse({ text: 'refused' }),
      anthropicSse({ toolUses: [call('toolu_m', 'read', { path: 'notes.txt' })] }),
      anthropicSse({ text: 'done' }),
    );
    const r = await run('go', { policy: join(dir, 'policy.yaml') });
    expect(r.code, r.stderr).toBe(0);
    expect(contentText(toolResults(llm.requests[2]!)[0]!)).toContain('the explorer may not read notes');
    // The main agent is not the explorer: the same read is allowed to it.
    expect(contentText(toolResults(llm.requests[4]!)[0]!)).toContain('the answer is 42');
  });

  it('subagent_stop hooks (the todo continuation enforcer) send a sub-agent back to work', async () => {
    writeFileSync(
      join(dir, 'policy.yaml'),
      `version: 1
name: todo
extends: builtin:workspace-write
hooks:
  subagent_stop:
    - {builtin: todo_continuation_enforcer, options: {max_reminders: 1}}
`,
    );
    mkdirSync(join(ws, '.icode', 'agents'), { recursive: true });
    writeFileSync(join(ws, '.icode', 'agents', 'planner.md'), '---\nname: planner\ndescription: Plans\ntools: [TodoWrite, read]\n---\nYou plan.\n');
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_p', 'planner', 'plan it')] }),
      anthropicSse({ toolUses: [call('toolu_p1', 'TodoWrite', { todos: [{ content: 'step one', status: 'pending' }] })] }),
      anthropicSse({ text: 'stopping early' }),
      anthropicSse({ text: 'finished after the reminder' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('plan', { policy: join(dir, 'policy.yaml') });
    expect(r.code, r.stderr).toBe(0);
    // The child's 4th request carries the hook's reminder as its last user message.
    expect(JSON.stringify(llm.requests[3]!.body.messages)).toContain('step one');
    expect(contentText(toolResults(llm.requests[4]!)[0]!)).toContain('finished after the reminder');
  });

  it('a sub-agent cannot delegate unless its definition says so', async () => {
    mkdirSync(join(ws, '.icode', 'agents'), { recursive: true });
    writeFileSync(join(ws, '.icode', 'agents', 'lead.md'), '---\nname: lead\ndescription: Leads\ntools: task, read\ncan_delegate: true\n---\nYou lead.\n');
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_1', 'lead', 'lead it')] }),
      anthropicSse({ toolUses: [task('toolu_2', 'explorer', 'explore it')] }),
      anthropicSse({ toolUses: [task('toolu_3', 'explorer', 'explore deeper')] }),
      anthropicSse({ text: 'explorer done' }),
      anthropicSse({ text: 'lead done' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('go');
    expect(r.code, r.stderr).toBe(0);
    expect(toolNames(llm.requests[1]!).sort()).toEqual(['read', 'task']);
    // The explorer (depth 2) has no task tool: its task call is a recorded deny.
    expect(toolNames(llm.requests[2]!)).not.toContain('task');
    expect(contentText(toolResults(llm.requests[3]!)[0]!)).toMatch(/unknown tool "task" for sub-agent explorer/);
    const start = r.lines.filter((l) => l.subtype === 'subagent_start').map((l) => [l.agent, l.depth, l.parent_tool_use_id]);
    expect(start).toEqual([
      ['lead', 1, 'toolu_1'],
      ['explorer', 2, 'toolu_2'],
    ]);
  });

  it("sub-agents run their commands in their session's one jail (its private /tmp is the same)", async () => {
    llm.enqueue(
      anthropicSse({ toolUses: [call('toolu_m1', 'shell', { command: 'echo from-main > /tmp/icode-jail-mark' })] }),
      anthropicSse({ toolUses: [task('toolu_t', 'fixer', 'check notes.txt')] }),
      anthropicSse({ toolUses: [call('toolu_f1', 'shell', { command: 'cat /tmp/icode-jail-mark' })] }),
      anthropicSse({ text: 'seen' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('go', { policy: 'builtin:jailed' });
    expect(r.code, r.stderr).toBe(0);
    // The host's /tmp never saw the file: the command ran in the jail, and so did the fixer's.
    expect(existsSync('/tmp/icode-jail-mark')).toBe(false);
    const seen = toolResults(llm.requests[3]!)[0]!;
    expect(seen.is_error ?? false).toBe(false);
    expect(contentText(seen)).toContain('from-main');
  });

  it('a rule that binds a parent by agent: binds its children too; no definition may call itself main', async () => {
    writeFileSync(
      join(dir, 'policy.yaml'),
      `version: 1
name: lead-no-reads
extends: builtin:workspace-write
rules:
  - id: lead-no-reads
    decision: deny
    reason: the lead may not read
    tool: read
    agent: lead
`,
    );
    mkdirSync(join(ws, '.icode', 'agents'), { recursive: true });
    writeFileSync(join(ws, '.icode', 'agents', 'lead.md'), '---\nname: lead\ndescription: Leads\ntools: task, read\ncan_delegate: true\n---\nYou lead.\n');
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_1', 'lead', 'lead it')] }),
      anthropicSse({ toolUses: [task('toolu_2', 'explorer', 'read notes.txt for me')] }),
      anthropicSse({ toolUses: [call('toolu_3', 'read', { path: 'notes.txt' })] }),
      anthropicSse({ text: 'could not read' }),
      anthropicSse({ text: 'lead done' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('go', { policy: join(dir, 'policy.yaml') });
    expect(r.code, r.stderr).toBe(0);
    const refused = toolResults(llm.requests[3]!)[0]!;
    expect(refused.is_error).toBe(true);
    expect(contentText(refused)).toContain('the lead may not read');
    await expect(parseDefinition('/x/m.md', '---\nname: main\ndescription: M\n---\n')).rejects.toThrow('/x/m.md:2:7: name: "main" is the top-level agent');
  });

  it('the fixer writes only the files its task names', async () => {
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_t', 'fixer', 'In notes.txt, change 42 to 43.')] }),
      anthropicSse({
        toolUses: [
          call('toolu_e', 'edit', { path: 'notes.txt', old_string: '42', new_string: '43' }),
          call('toolu_w', 'write', { path: 'other.txt', content: 'x' }),
        ],
      }),
      anthropicSse({ text: 'changed notes.txt' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('fix');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(ws, 'notes.txt'), 'utf8')).toBe('the answer is 43\n');
    expect(existsSync(join(ws, 'other.txt'))).toBe(false);
    const [edited, wrote] = toolResults(llm.requests[2]!);
    expect(edited!.is_error ?? false).toBe(false);
    expect(wrote!.is_error).toBe(true);
  });

  it("a definition's model: provider/model runs the sub-agent on that model", async () => {
    mkdirSync(join(ws, '.claude', 'agents'), { recursive: true });
    writeFileSync(join(ws, '.claude', 'agents', 'gpt.md'), '---\nname: gpt\ndescription: On another model\ntools: Read\nmodel: openai/gpt-4o-mini\n---\nYou answer.\n');
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_g', 'gpt', 'say hi')] }),
      openaiSse({ text: 'hi from gpt' }),
      anthropicSse({ text: 'ok' }),
    );
    const r = await run('go');
    expect(r.code, r.stderr).toBe(0);
    expect(llm.requests.map((q) => q.path)).toEqual(['/v1/messages', '/v1/chat/completions', '/v1/messages']);
    expect(llm.requests[1]!.body.model).toBe('gpt-4o-mini');
    expect(contentText(toolResults(llm.requests[2]!)[0]!)).toContain('hi from gpt');
  });

  it('an unknown subagent_type is an error result, not a crash', async () => {
    llm.enqueue(anthropicSse({ toolUses: [task('toolu_x', 'nobody', 'do it')] }), anthropicSse({ text: 'fine' }));
    const r = await run('go');
    expect(r.code, r.stderr).toBe(0);
    const b = toolResults(llm.requests[1]!)[0]!;
    expect(b.is_error).toBe(true);
    expect(contentText(b)).toMatch(/unknown subagent_type "nobody" \(known: explorer, librarian, fixer/);
  });

  it('a broken definition stops the run with file:line:col', async () => {
    mkdirSync(join(ws, '.claude', 'agents'), { recursive: true });
    writeFileSync(join(ws, '.claude', 'agents', 'bad.md'), '---\nname: bad\ndescription: x\nmax_turns: many\n---\nbody\n');
    const r = await run('go');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(ws, '.claude', 'agents', 'bad.md')}:4:12: max_turns: must be a whole number >= 1`);
    expect(llm.requests).toHaveLength(0);
  });

  it('cancelling the parent mid-task leaves no child process and no child session without an end marker', async () => {
    const marker = `sleep 3${String(process.pid % 97).padStart(2, '0')}`;
    llm.enqueue(
      anthropicSse({ toolUses: [task('toolu_f', 'fixer', 'run a long check on notes.txt')] }),
      anthropicSse({ toolUses: [call('toolu_f1', 'shell', { command: marker })] }),
    );
    const ctl = new AbortController();
    const pending = run('check', { policy: 'builtin:jailed' }, ctl.signal);
    const running = () => readdirSync('/proc').some((p) => /^\d+$/.test(p) && safeRead(`/proc/${p}/cmdline`).replace(/\0/g, ' ').includes(marker));
    expect(await eventually(running, 20_000)).toBe(true);
    ctl.abort();
    const r = await pending;
    expect(r.code).toBe(130);
    expect(await eventually(() => !running(), 10_000)).toBe(true);
    const store = SessionStore.open(join(dir, 'sessions.db'));
    try {
      const sessions = store.listSessions();
      expect(sessions).toHaveLength(2);
      expect(sessions.map((s) => s.status).sort()).toEqual(['aborted', 'aborted']);
    } finally {
      store.close();
    }
  });
});

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

describe('agent definitions', () => {
  it('reads Claude Code files as they are, tools as a comma list or a YAML list', async () => {
    const a = await parseDefinition('/x/a.md', '---\nname: reviewer\ndescription: Reviews\ntools: Read, Grep, Glob\nmodel: sonnet\n---\nReview it.\n');
    expect(a).toMatchObject({ name: 'reviewer', tools: ['Read', 'Grep', 'Glob'], model: 'sonnet', system: 'Review it.', canDelegate: false, maxDepth: 1 });
    const b = await parseDefinition('/x/b.md', '---\nname: b\ndescription: B\ntools:\n  - read\n  - list\ncan_delegate: true\n---\n');
    expect(b).toMatchObject({ tools: ['read', 'list'], canDelegate: true, maxDepth: 2 });
  });

  it('points at the broken place: YAML errors, unknown keys, a bad inline policy', async () => {
    await expect(parseDefinition('/x/c.md', '---\nname: c\ndescription: [unclosed\n---\n')).rejects.toThrow(/^\/x\/c\.md:\d+:\d+: invalid YAML/);
    await expect(parseDefinition('/x/d.md', '---\nname: d\ndescription: D\ncolour: red\n---\n')).rejects.toThrow('/x/d.md:4:1: colour: unknown key');
    await expect(parseDefinition('/x/e.md', '---\nname: e\ndescription: E\npolicy:\n  rules:\n    - decision: maybe\n---\n')).rejects.toThrow(/^\/x\/e\.md:5:3: policy: /);
    await expect(parseDefinition('/x/f.md', 'no front matter')).rejects.toThrow('/x/f.md:1:1');
  });
});
