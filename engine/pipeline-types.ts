/** The contract between the tool-call pipeline and its callers (CLI, replay, agent loop). */
import type { Decision } from '../policies/types.js';

export interface ToolCall {
  /** Tool name as the agent asked for it (aliases such as `Read` or `Bash` are accepted). */
  tool: string;
  input: unknown;
  agent?: string;
  session?: string;
  /** Provider's tool-call id, when the call came from a model. */
  callId?: string;
  /** Set when the request could not even be read (a malformed replay line): denied with this reason. */
  malformed?: string;
}

export type CallStatus = 'ok' | 'error' | 'denied';

export interface ToolCallResult {
  callId: string;
  /** Canonical tool name, or the name as given when unknown. */
  tool: string;
  decision: Decision;
  rule: string | null;
  reason: string;
  status: CallStatus;
  /** Text for the model (tool output, or the error/denial message). */
  output?: string;
  error?: string;
  exitCode?: number | null;
  truncated?: boolean;
  durationMs: number;
  /** Audit row id of the decision. */
  auditId?: number;
  /**
   * Set when a deny was not a policy decision: the input failed its schema (or the tool is unknown),
   * or the policy could not be loaded. Callers map it to exit code 2 instead of 3.
   */
  refusal?: 'bad_input' | 'bad_policy';
  /** Extra context for the model added by hooks. */
  context?: string[];
}

export interface ToolRunner {
  call(call: ToolCall, signal?: AbortSignal): Promise<ToolCallResult>;
}
