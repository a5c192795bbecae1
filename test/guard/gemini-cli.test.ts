/**
 * `icode guard gemini-cli` against Gemini CLI's documented hook contract (docs/hooks/reference.md and
 * packages/core/src/hooks/types.ts of google-gemini/gemini-cli): BeforeTool/AfterTool carry no call
 * id, a hook's decision is allow or deny (so a policy's ask is a recorded deny), AfterTool's
 * tool_response is {llmContent, returnDisplay, error?}, grep_search/list_directory take dir_path.
 * Real policy, real SQLite audit log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { guardCommand, installGuard } from '../../engine/guard/install.js';
import { guardEvent } from '../../engine/guard/run.js';
import { tempDir } from '../helpers/tmp.js';

let ws: string;
let db: string;
beforeEach(() => {
  ws = tempDir('icode-gemini-');
  db = join(tempDir('icode-gemini-db-'), 'audit.db');
});

const rows = () => {
  const log = AuditLog.open(db);
  try {
    return log.list({ session: 'gem-2' });
  } finally {
    log.close();
  }
};
const event = (hook_event_name: string, tool_name: string, tool_input: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ session_id: 'gem-2', transcript_path: '/home/u/.gemini/tmp/x/chats/session.json', cwd: ws, hook_event_name, timestamp: '2026-01-01T00:00:00.000Z', tool_name, tool_input, ...extra });
const decide = async (tool: string, input: unknown) => JSON.parse((await guardEvent('gemini-cli', event('BeforeTool', tool, input), { audit: db, policy: 'builtin:workspace-write' })).stdout) as { decision: string; reason: string };

describe('icode guard gemini-cli (its hook contract)', () => {
  it('pairs AfterTool with its BeforeTool without a call id, and a repeated identical call is another call', async () => {
    expect((await decide('run_shell_command', { command: 'git status', description: 'status' })).decision).toBe('allow');
    const after = (response: unknown) => guardEvent('gemini-cli', event('AfterTool', 'run_shell_command', { command: 'git status', description: 'status' }, { tool_response: response }), { audit: db });
    expect(await after({ llmContent: 'clean', returnDisplay: 'clean' })).toMatchObject({ exitCode: 0, stdout: '{}\n' });
    // The same call again: a second decision (not a duplicate refused by the log), its own outcome.
    expect((await decide('run_shell_command', { description: 'status', command: 'git status' })).decision).toBe('allow');
    await after({ llmContent: '', returnDisplay: '', error: { message: 'exit 128', type: 'execution_failed' } });
    const r = rows();
    expect(r.map((x) => [x.kind, x.callId?.replace(/^gemini-[0-9a-f]{24}/, 'ID'), x.decision ?? x.status])).toEqual([
      ['decision', 'ID-1', 'allow'],
      ['outcome', 'ID-1', 'ok'],
      ['decision', 'ID-2', 'allow'],
      ['outcome', 'ID-2', 'error'],
    ]);
  });

  it("a policy's ask is a recorded deny (a Gemini CLI hook cannot ask; an unanswered ask would run the tool)", async () => {
    const a = await decide('run_shell_command', { command: 'git push origin main' });
    expect(a.decision).toBe('deny');
    expect(a.reason).toMatch(/cannot ask/);
    const [decision, outcome] = rows();
    expect(decision).toMatchObject({ kind: 'decision', decision: 'ask' });
    expect(outcome).toMatchObject({ kind: 'outcome', status: 'denied' });
  });

  it('maps grep_search and list_directory with dir_path, and read_file with file_path', async () => {
    expect((await decide('grep_search', { pattern: 'TODO', dir_path: ws })).decision).toBe('allow');
    expect((await decide('list_directory', { dir_path: ws })).decision).toBe('allow');
    expect((await decide('read_file', { file_path: join(ws, 'a.txt') })).decision).toBe('allow');
    // Outside the workspace, a credential: the policy's deny, through the same mapping.
    expect((await decide('read_file', { file_path: '/home/u/.ssh/id_rsa' })).decision).toBe('deny');
    expect(rows().filter((x) => x.kind === 'decision').map((x) => x.tool)).toEqual(['grep', 'list', 'read', 'read']);
  });
});

describe('icode guard install gemini-cli', () => {
  it("writes Gemini CLI's layout with a timeout in milliseconds, and warns when its hooks system is off", () => {
    const path = join(ws, 'settings.json');
    writeFileSync(path, JSON.stringify({ tools: { enableHooks: false }, hooks: { disabled: ['other'], BeforeTool: [{ matcher: 'write_file', hooks: [{ name: 'mine', type: 'command', command: './mine.sh' }] }] } }));
    const r = installGuard('gemini-cli', path, guardCommand('gemini-cli', 'icode'));
    expect(r.warnings).toEqual([expect.stringMatching(/hooks system is disabled/)]);
    const s = JSON.parse(readFileSync(path, 'utf8'));
    expect(s.hooks.BeforeTool).toEqual([
      { matcher: 'write_file', hooks: [{ name: 'mine', type: 'command', command: './mine.sh' }] },
      { matcher: '.*', hooks: [{ type: 'command', command: 'icode guard gemini-cli', timeout: 30000, name: 'icode-guard' }] },
    ]);
    expect(s.hooks.disabled).toEqual(['other']);
    expect(s.tools).toEqual({ enableHooks: false });
  });
});
