/** What the pipeline's stages share: the pipeline's parts, and one call's state as it moves through them. */
import type { CompiledPolicy } from '../../policies/index.js';
import type { Decision } from '../../policies/types.js';
import type { HookRunner } from '../../sandbox/hooks/index.js';
import type { Approver } from '../approval.js';
import type { AuditLog } from '../audit/log.js';
import type { Executor } from '../executors/types.js';
import type { StageTimings } from '../pipeline-types.js';
import type { ToolDefinition } from '../tools/definition.js';
import type { ToolRegistry } from '../tools/registry.js';

/** The pipeline as its stages see it. */
export interface StageDeps {
  readonly workspace: string;
  readonly policy: CompiledPolicy | null;
  /** Why the policy could not be loaded (then every call is denied). */
  readonly policyError: string | null;
  readonly policyHash: string;
  readonly registry: ToolRegistry;
  readonly audit: AuditLog;
  readonly approver: Approver;
  readonly hooks: HookRunner | null;
  readonly closed: boolean;
  /** The executor that runs a tool, or null when nothing here runs its kind. */
  executorFor(def: ToolDefinition): Executor | null;
}

/** One call on its way through the stages. */
export interface CallState {
  /** Set by validate when a deny is not a policy decision (bad input, unloadable policy): exit 2, not 3. */
  refusal?: 'bad_input' | 'bad_policy';
  /** performance.now() when the call arrived. */
  readonly started: number;
  /** The provider's call id, or a fresh one (renamed when the agent reused an id). */
  callId: string;
  readonly session: string;
  readonly agent: string;
  /** Canonical tool name, or the name as given when unknown. */
  readonly tool: string;
  /** The input in the tool's own field names (an alias's renamed). */
  readonly input: unknown;
  readonly def: ToolDefinition | undefined;
  readonly executor: Executor | null;
  /** The input is nested too deep to be looked at (or recorded) as it is. */
  readonly tooDeep: boolean;
  decision: Decision;
  rule: string | null;
  reason: string;
  /** How an `ask` was settled. */
  approval?: string;
  /** What happens: an allowed (or approved) call runs, anything else does not. */
  effective: 'allow' | 'deny';
  /** Audit row id of the committed decision. */
  auditId?: number;
  /** The input the executor gets (a pre-tool hook may have rewritten it). */
  runInput: Record<string, unknown>;
  /** Extra context for the model added by hooks. */
  readonly context: string[];
  readonly timings: StageTimings;
}

/** Times the stages of one call: each lap() charges the time since the last one to a stage. */
export class StageClock {
  private last: number;
  constructor(
    private readonly timings: StageTimings,
    start: number,
  ) {
    this.last = start;
  }

  lap(stage: keyof StageTimings): void {
    const now = performance.now();
    this.timings[stage] = (this.timings[stage] ?? 0) + (now - this.last);
    this.last = now;
  }
}

export function zeroTimings(): StageTimings {
  return { validate: 0, decide: 0, commit: 0, preHooks: 0, execute: 0, postHooks: 0, outcome: 0 };
}
