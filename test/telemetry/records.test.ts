/**
 * records.ts on rows of a real audit log written by real guard calls: which records each row gives,
 * how a call's records hang together, and where a decision came from.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { guardEvent } from '../../engine/guard/run.js';
import { recordsFromRows } from '../../engine/telemetry/records.js';
import { tempDir } from '../helpers/tmp.js';

const rowsOf = (db: string) => {
  const log = AuditLog.open(db);
  try {
    return log.list({});
  } finally {
    log.close();
  }
};

describe('audit rows → OpenTelemetry records', () => {
  it("an ask Claude Code's prompt settles is the user's; a Gemini CLI ask is the policy's deny; a session event is a log record", async () => {
    const ws = tempDir('icode-records-');
    const db = join(tempDir('icode-records-db-'), 'audit.db');
    const cc = (name: string, extra: Record<string, unknown>) => JSON.stringify({ session_id: 'cc-r', transcript_path: '/x', cwd: ws, hook_event_name: name, ...extra });
    await guardEvent('claude-code', cc('SessionStart', { source: 'startup' }), { audit: db });
    await guardEvent('claude-code', cc('PreToolUse', { tool_name: 'Bash', tool_input: { command: 'git push origin main' }, tool_use_id: 'toolu_r1' }), { audit: db, policy: 'builtin:workspace-write' });
    await guardEvent('gemini-cli', JSON.stringify({ session_id: 'gem-r', transcript_path: '/x', cwd: ws, hook_event_name: 'BeforeTool', timestamp: '2026-01-01T00:00:00Z', tool_name: 'run_shell_command', tool_input: { command: 'git push origin main' } }), { audit: db, policy: 'builtin:workspace-write' });
    const rows = rowsOf(db);
    const { spans, logs } = recordsFromRows(rows);

    expect(logs).toHaveLength(rows.length);
    expect(logs.map((l) => l.eventName)).toEqual(rows.map((r) => (r.kind === 'decision' ? 'icode.decision' : r.kind === 'outcome' ? 'icode.outcome' : r.kind === 'hook' ? 'icode.hook' : 'icode.event')));
    const ccSpan = spans.find((s) => s.attributes['gen_ai.conversation.id'] === 'cc-r' && s.name.startsWith('execute_tool'))!;
    expect(ccSpan.attributes).toMatchObject({ 'icode.decision': 'ask', 'icode.decision.source': 'user', 'gen_ai.tool.call.id': 'toolu_r1' });
    const gemSpan = spans.find((s) => s.attributes['gen_ai.conversation.id'] === 'gem-r' && s.name.startsWith('execute_tool'))!;
    expect(gemSpan.attributes).toMatchObject({ 'icode.decision': 'deny', 'icode.policy.decision': 'ask', 'icode.decision.source': 'policy', 'icode.outcome': 'denied' });
    expect(gemSpan.statusCode).toBe(2);
    // The denied outcome is a child of its decision's span, in the session's trace.
    const gemOutcome = spans.find((s) => s.attributes['gen_ai.conversation.id'] === 'gem-r' && s.name.startsWith('icode.outcome'))!;
    expect(gemOutcome.parentSpanId).toBe(gemSpan.spanId);
    expect(gemOutcome.traceId).toBe(gemSpan.traceId);
    expect(gemSpan.traceId).not.toBe(ccSpan.traceId);
    const event = logs.find((l) => l.eventName === 'icode.event')!;
    expect(event.attributes).toMatchObject({ 'icode.event.name': 'claude-code:SessionStart', 'gen_ai.conversation.id': 'cc-r' });
    // Every record points back to its row.
    for (const r of [...spans, ...logs]) expect(rows.some((row) => row.hash === r.attributes['icode.audit.row_hash'] && row.seq === r.attributes['icode.audit.row'])).toBe(true);
  });
});
