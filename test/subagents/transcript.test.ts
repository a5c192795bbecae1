/** The TUI transcript draws a sub-agent's calls indented under the task call that started them. */
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../engine/agent/loop.js';
import type { ToolCallResult } from '../../engine/pipeline-types.js';
import { Transcript } from '../../tui/transcript.js';

const result = (callId: string, tool: string, status: 'ok' | 'denied'): ToolCallResult => ({
  callId,
  tool,
  decision: status === 'ok' ? 'allow' : 'deny',
  rule: null,
  reason: '',
  status,
  durationMs: 3,
});

describe('sub-agent calls in the TUI transcript', () => {
  it('indents them by depth under the task', () => {
    const t = new Transcript();
    const taskCall = { type: 'tool_use' as const, id: 'toolu_task', name: 'task', input: { subagent_type: 'explorer', description: 'look around', prompt: 'p' } };
    const read = { type: 'tool_use' as const, id: 'toolu_c1', name: 'read', input: { path: 'notes.txt' } };
    const write = { type: 'tool_use' as const, id: 'toolu_c2', name: 'write', input: { path: 'x.txt', content: '' } };
    const sub = { agent: 'explorer', depth: 1, parentCallId: 'toolu_task' };
    const events: AgentEvent[] = [
      { type: 'tool_use', turn: 1, call: taskCall },
      { type: 'tool_use', turn: 1, call: read, ...sub },
      { type: 'tool_result', turn: 1, call: read, result: result('toolu_c1', 'read', 'ok'), block: { type: 'tool_result', toolUseId: 'toolu_c1', content: 'hi', isError: false }, ...sub },
      { type: 'tool_result', turn: 2, call: write, result: result('toolu_c2', 'write', 'denied'), block: { type: 'tool_result', toolUseId: 'toolu_c2', content: 'no', isError: true }, ...sub },
      { type: 'tool_result', turn: 1, call: taskCall, result: result('toolu_task', 'task', 'ok'), block: { type: 'tool_result', toolUseId: 'toolu_task', content: 'done', isError: false } },
    ];
    for (const e of events) t.apply(e);
    const lines = t.render(100).replace(/\{[^}]*\}/g, '').split('\n');
    const at = (s: string): number => lines.findIndex((l) => l.includes(s));
    const indentOf = (i: number): number => lines[i]!.length - lines[i]!.trimStart().length;
    const taskLine = lines.findIndex((l) => /task/.test(l) && /explorer/.test(l));
    expect(taskLine).toBeGreaterThan(-1);
    expect(at('notes.txt')).toBeGreaterThan(taskLine);
    expect(at('x.txt')).toBeGreaterThan(at('notes.txt'));
    expect(indentOf(at('notes.txt'))).toBe(indentOf(taskLine) + 2);
    expect(indentOf(at('x.txt'))).toBe(indentOf(taskLine) + 2);
  });
});
