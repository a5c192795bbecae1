/**
 * `icode guard claude-code` / `gemini-cli`: real hook payloads (shapes from the agents' documentation)
 * through the real policy, the real SQLite audit log and, once, the real binary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { guardEvent } from '../../engine/guard/run.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const POLICY = fileURLToPath(new URL('./fixtures/guard-policy.yaml', import.meta.url));

let ws: string;
let db: string;
beforeEach(() => {
  ws = tempDir('icode-guard-');
  db = join(tempDir('icode-guard-db-'), 'audit.db');
});

const rows = (filter: Parameters<AuditLog['list']>[0] = {}) => {
  const log = AuditLog.open(db);
  try {
    return log.list(filter);
  } finally {
    log.close();
  }
};

/** A Claude Code PreToolUse payload, as in its hooks reference. */
const pre = (tool_name: string, tool_input: unknown, tool_use_id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ session_id: 'cc-session-1', transcript_path: '/home/u/.claude/projects/x/cc-session-1.jsonl', cwd: ws, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name, tool_input, tool_use_id, ...extra });

const answer = (stdout: string) => JSON.parse(stdout) as { hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string } };

describe('icode guard claude-code', () => {
  it('allows a read-only Bash command, with the rule, and the decision row is committed under the session and tool_use_id', async () => {
    const a = await guardEvent('claude-code', pre('Bash', { command: 'ls -la', description: 'List files' }, 'toolu_01ABC'), { audit: db, policy: 'builtin:workspace-write' });
    expect(a.exitCode).toBe(0);
    const out = answer(a.stdout).hookSpecificOutput;
    expect(out).toMatchObject({ hookEventName: 'PreToolUse', permissionDecision: 'allow' });
    expect(out.permissionDecisionReason).toMatch(/rule readonly\.shell-read/);
    const [row] = rows({ session: 'cc-session-1', kind: 'decision' });
    expect(row).toMatchObject({ callId: 'toolu_01ABC', tool: 'shell', decision: 'allow', rule: 'readonly.shell-read', workspace: ws });
    expect(row.input).toMatchObject({ command: 'ls -la' });
  });

  it('passes an ask on to Claude Code (its prompt asks the user) and records it as ask', async () => {
    const a = await guardEvent('claude-code', pre('Bash', { command: 'git push origin main' }, 'toolu_02'), { audit: db, policy: 'builtin:workspace-write' });
    expect(answer(a.stdout).hookSpecificOutput.permissionDecision).toBe('ask');
    expect(rows({ kind: 'decision' })[0]).toMatchObject({ callId: 'toolu_02', decision: 'ask' });
  });

  it('denies a write outside the workspace with the rule and reason, and records the deny and its outcome', async () => {
    const a = await guardEvent('claude-code', pre('Write', { file_path: '/etc/cron.d/evil', content: 'x' }, 'toolu_03'), { audit: db, policy: POLICY });
    const out = answer(a.stdout).hookSpecificOutput;
    expect(out.permissionDecision).toBe('deny');
    // Two rules deny it (builtin:safety's overwrite class and the test policy's own): the reason names one.
    expect(out.permissionDecisionReason).toMatch(/Denied by policy \(rule (guard-test\.no-writes-outside|safety\.destructive)\)/);
    const calls = rows({ session: 'cc-session-1' });
    expect(calls.map((r) => [r.kind, r.callId, r.decision ?? r.status])).toEqual([
      ['decision', 'toolu_03', 'deny'],
      ['outcome', 'toolu_03', 'denied'],
    ]);
  });

  it('PostToolUse records the outcome against the decision; the log verifies', async () => {
    await guardEvent('claude-code', pre('Read', { file_path: join(ws, 'README.md') }, 'toolu_04'), { audit: db, policy: 'builtin:workspace-write' });
    const post = JSON.stringify({ session_id: 'cc-session-1', transcript_path: '/x', cwd: ws, hook_event_name: 'PostToolUse', tool_name: 'Read', tool_input: { file_path: join(ws, 'README.md') }, tool_response: { type: 'text', file: { content: 'hi' } }, tool_use_id: 'toolu_04' });
    const a = await guardEvent('claude-code', post, { audit: db });
    expect(a).toMatchObject({ exitCode: 0, stdout: '{}\n' });
    const r = rows({ session: 'cc-session-1' });
    expect(r.map((x) => [x.kind, x.callId])).toEqual([['decision', 'toolu_04'], ['outcome', 'toolu_04']]);
    expect(r[1].status).toBe('ok');
    const log = AuditLog.open(db);
    try {
      expect(log.verify().ok).toBe(true);
    } finally {
      log.close();
    }
  });

  it('audit export --format otlp-json writes the guarded decisions as OTLP spans with the outcome and row hash', async () => {
    await guardEvent('claude-code', pre('Bash', { command: 'ls' }, 'toolu_x1'), { audit: db, policy: 'builtin:workspace-write' });
    await guardEvent('claude-code', JSON.stringify({ session_id: 'cc-session-1', cwd: ws, hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, tool_response: { stdout: '', stderr: '', interrupted: false }, tool_use_id: 'toolu_x1' }), { audit: db });
    const r = icode(['audit', 'export', '--format', 'otlp-json', '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const span = JSON.parse(lines[0]).resourceSpans[0].scopeSpans[0].spans[0];
    const attrs = Object.fromEntries(span.attributes.map((a: { key: string; value: { stringValue?: string; intValue?: string } }) => [a.key, a.value.stringValue ?? a.value.intValue]));
    const [row] = rows({ kind: 'decision' });
    expect(attrs).toMatchObject({ 'gen_ai.tool.name': 'shell', 'gen_ai.tool.call.id': 'toolu_x1', 'gen_ai.conversation.id': 'cc-session-1', 'icode.decision': 'allow', 'icode.policy.rule_id': 'readonly.shell-read', 'icode.outcome': 'ok', 'icode.audit.row': String(row.seq), 'icode.audit.row_hash': row.hash });
  });

  it('MCP and Task tools are decided by the policy by name (default ask), never silently allowed', async () => {
    const a = await guardEvent('claude-code', pre('mcp__github__create_issue', { title: 'x' }, 'toolu_05'), { audit: db, policy: 'builtin:workspace-write' });
    expect(answer(a.stdout).hookSpecificOutput.permissionDecision).toBe('ask');
    expect(rows({ kind: 'decision' })[0]).toMatchObject({ tool: 'mcp__github__create_issue', decision: 'ask' });
  });

  it.each([
    ['not JSON', 'garbage{'],
    ['an array', '[]'],
    ['an unknown event', JSON.stringify({ session_id: 's', cwd: '/', hook_event_name: 'PreToolUseX', tool_name: 'Bash', tool_input: {} })],
    ['no tool_name', JSON.stringify({ session_id: 's', cwd: '/', hook_event_name: 'PreToolUse', tool_input: {} })],
    ['a tool_input that is a string', JSON.stringify({ session_id: 's', cwd: '/', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: 'rm -rf /' })],
  ])('a malformed event (%s) is denied with a reason, not a crash', async (_why, text) => {
    const a = await guardEvent('claude-code', text, { audit: db, policy: 'builtin:workspace-write' });
    expect(a.exitCode).toBe(0);
    const out = answer(a.stdout).hookSpecificOutput;
    expect(out.permissionDecision).toBe('deny');
    expect(out.permissionDecisionReason).toMatch(/fail closed/);
  });

  it('a bad Bash input for the schema (empty command) is denied', async () => {
    const a = await guardEvent('claude-code', pre('Bash', { command: '' }, 'toolu_06'), { audit: db, policy: 'builtin:workspace-write' });
    expect(answer(a.stdout).hookSpecificOutput.permissionDecision).toBe('deny');
  });

  it('a policy that does not load denies every call, and records it', async () => {
    mkdirSync(join(ws, '.icode'));
    writeFileSync(join(ws, '.icode', 'policy.yaml'), 'version: 1\nrules: [ {{{\n');
    const a = await guardEvent('claude-code', pre('Bash', { command: 'ls' }, 'toolu_07'), { audit: db });
    expect(answer(a.stdout).hookSpecificOutput.permissionDecision).toBe('deny');
    expect(rows({ kind: 'decision' })[0]).toMatchObject({ callId: 'toolu_07', decision: 'deny', policyHash: 'none' });
  });

  it('UserPromptSubmit / Stop / SessionStart continue and are recorded as session events', async () => {
    for (const hook_event_name of ['SessionStart', 'UserPromptSubmit', 'Stop', 'SubagentStop']) {
      const a = await guardEvent('claude-code', JSON.stringify({ session_id: 'cc-2', transcript_path: '/x', cwd: ws, hook_event_name, prompt: 'hello', stop_hook_active: false, source: 'startup' }), { audit: db });
      expect(a).toMatchObject({ exitCode: 0, stdout: '{}\n' });
    }
    expect(rows({ session: 'cc-2' }).map((r) => r.name)).toEqual(['claude-code:SessionStart', 'claude-code:UserPromptSubmit', 'claude-code:Stop', 'claude-code:SubagentStop']);
  });

  it('the real binary answers a PreToolUse event on stdin with the row committed before it exits', () => {
    const r = icode(['guard', 'claude-code', '--audit', db, '--policy', POLICY], { input: pre('Bash', { command: 'rm -rf /' }, 'toolu_bin') });
    expect(r.code).toBe(0);
    expect(answer(r.stdout).hookSpecificOutput.permissionDecision).toBe('deny');
    expect(r.stderr).toBe('');
    expect(rows({ kind: 'decision' })[0]).toMatchObject({ callId: 'toolu_bin', decision: 'deny' });
  });
});

describe('icode guard gemini-cli', () => {
  const before = (tool_name: string, tool_input: unknown) =>
    JSON.stringify({ session_id: 'gem-1', transcript_path: '/x', cwd: ws, hook_event_name: 'BeforeTool', timestamp: '2026-01-01T00:00:00Z', tool_name, tool_input });

  it('maps run_shell_command / read_file / write_file and answers {decision, reason}', async () => {
    const ok = JSON.parse((await guardEvent('gemini-cli', before('run_shell_command', { command: 'git status' }), { audit: db, policy: 'builtin:workspace-write' })).stdout);
    expect(ok).toMatchObject({ decision: 'allow' });
    const read = JSON.parse((await guardEvent('gemini-cli', before('read_file', { absolute_path: join(ws, 'a.txt') }), { audit: db, policy: 'builtin:workspace-write' })).stdout);
    expect(read.decision).toBe('allow');
    const bad = JSON.parse((await guardEvent('gemini-cli', before('write_file', { file_path: '/etc/passwd', content: 'x' }), { audit: db, policy: POLICY })).stdout);
    expect(bad.decision).toBe('deny');
    expect(bad.reason).toMatch(/Denied by policy/);
    expect(rows({ session: 'gem-1', kind: 'decision' }).map((r) => r.tool)).toEqual(['shell', 'read', 'write']);
  });

  it('a malformed BeforeTool is denied', async () => {
    const a = JSON.parse((await guardEvent('gemini-cli', '{"hook_event_name":"BeforeTool"}', { audit: db })).stdout);
    expect(a.decision).toBe('deny');
  });
});

