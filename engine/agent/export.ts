/** `icode sessions export`: a session's history as JSON, JSON lines or Markdown. */
import { blocksJson, formatCost, usageJson } from './output.js';
import type { SessionInfo, SessionStore, StoredMessage, StoredToolCall } from './sessions.js';

export type ExportFormat = 'json' | 'jsonl' | 'markdown';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'jsonl', 'markdown'];

export function sessionJson(s: SessionInfo): Record<string, unknown> {
  return {
    id: s.id,
    title: s.title,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    model: s.model,
    workspace: s.workspace,
    policy: s.policy,
    policy_hash: s.policyHash,
    system: s.system,
    parent_session_id: s.parentSessionId,
    fork_message_id: s.forkMessageId,
    message_count: s.messageCount,
    status: s.status,
    error: s.error,
    turns: s.turns,
    usage: usageJson(s.usage),
    cost_usd: s.costUsd,
  };
}

export function messageJson(m: StoredMessage): Record<string, unknown> {
  return {
    seq: m.seq,
    id: m.id,
    parent_id: m.parentId,
    session_id: m.sessionId,
    role: m.role,
    content: blocksJson(m.content),
    created_at: m.createdAt,
    ...(m.model ? { model: m.model } : {}),
    ...(m.stopReason ? { stop_reason: m.stopReason } : {}),
    ...(m.usage ? { usage: usageJson(m.usage), cost_usd: m.costUsd } : {}),
  };
}

export function toolCallJson(c: StoredToolCall): Record<string, unknown> {
  return {
    id: c.id,
    call_id: c.callId,
    message_id: c.messageId,
    result_message_id: c.resultMessageId,
    position: c.position,
    tool: c.tool,
    canonical_tool: c.canonicalTool,
    input: c.input,
    status: c.status,
    decision: c.decision,
    rule: c.rule,
    reason: c.reason,
    output: c.output,
    error: c.error,
    exit_code: c.exitCode,
    truncated: c.truncated,
    duration_ms: c.durationMs,
    audit_id: c.auditId,
    audit_path: c.auditPath,
    // audit: decision, rule and reason were read from the audit row; session: stored with the call
    // (no audit row, or a session from before schema 3); unavailable: the audit row could not be read.
    verdict_from: c.verdictFrom,
    created_at: c.createdAt,
  };
}

export function exportSession(store: SessionStore, id: string, format: ExportFormat): string {
  const session = store.getSession(id);
  const messages = store.history(session.id);
  const calls = store.toolCalls(session.id);
  switch (format) {
    case 'json':
      return (
        JSON.stringify(
          { session: sessionJson(session), messages: messages.map(messageJson), tool_calls: calls.map(toolCallJson) },
          null,
          2,
        ) + '\n'
      );
    case 'jsonl': {
      const lines: string[] = [JSON.stringify({ type: 'session', ...sessionJson(session) })];
      const byMessage = groupCalls(calls);
      for (const m of messages) {
        lines.push(JSON.stringify({ type: 'message', ...messageJson(m) }));
        for (const c of byMessage.get(m.id) ?? []) lines.push(JSON.stringify({ type: 'tool_call', ...toolCallJson(c) }));
      }
      return lines.join('\n') + '\n';
    }
    case 'markdown':
      return markdown(session, messages, calls);
  }
}

function groupCalls(calls: StoredToolCall[]): Map<number, StoredToolCall[]> {
  const out = new Map<number, StoredToolCall[]>();
  for (const c of calls) {
    const list = out.get(c.messageId) ?? [];
    list.push(c);
    out.set(c.messageId, list);
  }
  return out;
}

/** A fence longer than any backtick run inside `text`. */
function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}

function markdown(s: SessionInfo, messages: StoredMessage[], calls: StoredToolCall[]): string {
  const out: string[] = [];
  out.push(`# Session ${s.id}`, '');
  if (s.title) out.push(`> ${s.title.split('\n')[0]}`, '');
  out.push(
    `- created: ${s.createdAt}`,
    `- model: ${s.model ?? 'unknown'}`,
    `- workspace: ${s.workspace ?? 'unknown'}`,
    `- policy: ${s.policy ?? 'unknown'}${s.policyHash ? ` (${s.policyHash.slice(0, 12)})` : ''}`,
    `- status: ${s.status}${s.error ? ` — ${s.error}` : ''}`,
    `- turns: ${s.turns}; tokens: ${s.usage.inputTokens + s.usage.cacheReadTokens + s.usage.cacheWriteTokens} in / ${s.usage.outputTokens} out; ${formatCost(s.costUsd)}`,
  );
  if (s.parentSessionId) out.push(`- forked from ${s.parentSessionId} after message ${s.forkMessageId === null ? 0 : (messages.find((m) => m.id === s.forkMessageId)?.seq ?? '?')}`);
  out.push('');
  const callById = new Map<string, StoredToolCall>();
  for (const c of calls) callById.set(`${c.messageId}:${c.callId}`, c);
  for (const m of messages) {
    out.push(`## ${m.seq}. ${m.role}${m.model ? ` (${m.model})` : ''}`, '');
    for (const b of m.content) {
      if (b.type === 'text') out.push(b.text, '');
      else if (b.type === 'tool_use') {
        const c = callById.get(`${m.id}:${b.id}`);
        const decided = c?.verdictFrom === 'unavailable' ? `decision unavailable (${c.reason ?? ''})` : `${c?.decision ?? 'not decided'}${c?.rule ? ` by \`${c.rule}\`` : ''}`;
        const verdict = c ? ` — ${decided}, ${c.status}${c.auditId !== null ? `, audit #${c.auditId}` : ''}` : '';
        out.push(`**Tool call** \`${b.name}\` (\`${b.id}\`)${verdict}`, '', fence(b.inputError ? (b.rawInput ?? '') : JSON.stringify(b.input, null, 2), 'json'), '');
        if (b.inputError) out.push(`_${b.inputError}_`, '');
      } else if (b.type === 'tool_result') {
        out.push(`**Result** of \`${b.toolUseId}\`${b.isError ? ' (error)' : ''}`, '', fence(b.content), '');
      }
    }
  }
  return out.join('\n');
}
