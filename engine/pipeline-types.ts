/** The contract between the tool-call pipeline and its callers (CLI, replay, agent loop). */
import type { Decision, ToolRequest, Verdict } from '../policies/types.js';

/**
 * A sub-agent's narrowing of the pipeline: its calls are decided by the pipeline's policy AND every
 * policy of `policies` (strictest wins), and a tool outside `tools` is unknown to it (a recorded deny).
 * Set by the task tool on every call of a sub-agent; never from model input.
 */
export interface AgentScope {
  /** The sub-agent's own policies and its ancestors' (outermost first), beside the pipeline's. */
  policies: ReadonlyArray<{ decide(req: ToolRequest): Verdict }>;
  /** Canonical names of the tools the sub-agent may call. */
  tools: ReadonlySet<string>;
  /** The session and the `task` call that started the sub-agent. */
  parentSession: string;
  parentCallId: string;
  /** 1 for a sub-agent of the main agent. */
  depth: number;
  /**
   * The agents above it, outermost first ("main", then any sub-agent that delegated): the pipeline's
   * policy decides its calls as each of them too, so `agent:` rules that bind a parent bind its children.
   */
  ancestors: readonly string[];
  /** The top-level session: its jail runs the sub-agent's commands (one jail per session, shared). */
  rootSession: string;
}

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
  /** The call comes from a sub-agent: decided under the intersection of policies, limited to its tools. */
  scope?: AgentScope;
}

export type CallStatus = 'ok' | 'error' | 'denied';

/**
 * Milliseconds spent in each stage of one call (engine/pipeline/): what `--timings` and the workload
 * benchmark read. Stages a call did not reach are 0.
 */
export interface StageTimings {
  validate: number;
  decide: number;
  commit: number;
  preHooks: number;
  /** Waiting for an executor to take the call (when the executor reports it; included in execute). */
  queue?: number;
  execute: number;
  postHooks: number;
  outcome: number;
}

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
  /** Why an executed call failed, as a stable code (ENOENT, not_unique, timeout, …); see ExecResult.code. */
  code?: string;
  exitCode?: number | null;
  truncated?: boolean;
  durationMs: number;
  /** Time spent in each stage of the pipeline. */
  timings?: StageTimings;
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
  /** The audit log its results' `auditId`s refer to (the sessions store keeps the reference). */
  readonly auditPath?: string;
}
