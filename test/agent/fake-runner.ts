/** A ToolRunner that records calls and answers from a per-tool script, in place of the pipeline. */
import type { ToolCall, ToolCallResult, ToolRunner } from '../../engine/pipeline-types.js';
import type { AgentRunner } from '../../engine/agent/runner-factory.js';
import type { ToolSpec } from '../../engine/agent/types.js';

export type Answer = Partial<ToolCallResult> | ((call: ToolCall, signal?: AbortSignal) => Partial<ToolCallResult> | Promise<Partial<ToolCallResult>>);

export const FAKE_TOOLS: ToolSpec[] = [
  {
    name: 'read',
    description: 'Read a file',
    inputSchema: { type: 'object', required: ['path'], properties: { path: { type: 'string' } }, additionalProperties: false },
  },
  {
    name: 'shell',
    description: 'Run a command',
    inputSchema: { type: 'object', required: ['command'], properties: { command: { type: 'string' } }, additionalProperties: false },
  },
];

export class FakeRunner implements ToolRunner {
  readonly calls: ToolCall[] = [];
  private nextAudit = 1000;
  constructor(private readonly answers: Record<string, Answer> = {}) {}

  async call(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult> {
    this.calls.push(call);
    const auditId = ++this.nextAudit;
    const base: ToolCallResult = {
      callId: call.callId ?? 'none',
      tool: call.tool.toLowerCase(),
      decision: 'allow',
      rule: 'test.allow',
      reason: 'allowed in tests',
      status: 'ok',
      output: `ran ${call.tool} ${JSON.stringify(call.input)}`,
      durationMs: 3,
      auditId,
    };
    if (call.malformed !== undefined) {
      const message = `Denied by policy: malformed request: ${call.malformed}`;
      return { ...base, decision: 'deny', rule: null, reason: `malformed request: ${call.malformed}`, status: 'denied', output: message, error: message };
    }
    const a = this.answers[call.tool];
    const extra = typeof a === 'function' ? await a(call, signal) : (a ?? {});
    return { ...base, ...extra };
  }
}

export function fakeAgentRunner(runner: ToolRunner, workspace = '/tmp/ws'): AgentRunner & { closed: boolean } {
  const r = {
    runner,
    tools: FAKE_TOOLS,
    policyHash: 'fakehash0123456789',
    workspace,
    closed: false,
    close: async (): Promise<void> => {
      r.closed = true;
    },
  };
  return r;
}

export const denied = (reason: string, rule = 'test.deny'): Partial<ToolCallResult> => ({
  decision: 'deny',
  rule,
  reason,
  status: 'denied',
  output: `Denied by policy (rule ${rule}): ${reason}`,
  error: `Denied by policy (rule ${rule}): ${reason}`,
});

export const failed = (error: string): Partial<ToolCallResult> => ({ status: 'error', output: error, error, exitCode: 1 });
