/**
 * Where the agent gets its ToolRunner: the tool-call pipeline (validate → policy → audit → execute).
 * Kept in one small module so the CLI can be tested with a fake runner (`RunDeps.createRunner`).
 */
import type { Approver } from '../approval.js';
import type { ToolRunner } from '../pipeline-types.js';
import type { Checkpointer } from '../state/checkpointer.js';
import type { LoopHooks } from './loop-hooks.js';
import type { PreCompactAnswer, PreCompactInfo } from './compaction.js';
import type { SubagentManager, SubagentSettings } from './subagents/manager.js';
import type { ToolSpec } from './types.js';

export interface RunnerOptions {
  workspace: string;
  /** Policy file or builtin:NAME. */
  policy: string;
  audit?: string;
  ask?: 'deny' | 'allow';
  /** Session id recorded on every audit row of the run. */
  session?: string;
  /** Workspace checkpoints taken before calls that may change the workspace. */
  checkpoints?: Checkpointer;
  /** Who settles `ask` verdicts interactively (the TUI); without one, `ask` decides. */
  approver?: Approver;
  /** Sub-agent settings (parallel task calls, default budgets); false: no `task` tool. */
  subagents?: Partial<SubagentSettings> | false;
}

export interface AgentRunner {
  runner: ToolRunner;
  /** The tools offered to the model, with their input schemas. */
  tools: ToolSpec[];
  policyHash: string;
  /** The workspace as resolved by the pipeline (real path). */
  workspace: string;
  /** The policy's hooks at the loop's own points (user_prompt, stop), when it declares any. */
  hooks?: LoopHooks;
  /** Runs the policy's session_start hooks; resolves with the context they add, if any. */
  onSessionStart?: (sessionId: string, source: 'startup' | 'resume') => Promise<string | undefined>;
  /** Runs the policy's pre_compact hooks (veto, or context kept with the summary). */
  onPreCompact?: (info: PreCompactInfo) => Promise<PreCompactAnswer>;
  /** Runs the `task` tool's sub-agents; attach the run's model and session store before the loop. */
  subagents?: SubagentManager;
  close(): Promise<void>;
}

export type RunnerFactory = (opts: RunnerOptions) => Promise<AgentRunner>;

/**
 * The real pipeline. The policy is loaded first so that a bad policy is a usage error (PolicyError,
 * exit 2) for a one-shot run, rather than a pipeline that denies every call.
 * The pipeline is imported lazily: commands that only read sessions do not load the executors.
 */
export const createPipelineRunner: RunnerFactory = async (opts) => {
  const { loadPolicy } = await import('../../policies/index.js');
  const { createPipeline } = await import('../pipeline.js');
  const { loopHooksFor, preCompactHook, sessionStartHook } = await import('./loop-hooks.js');
  const policy = await loadPolicy(opts.policy);
  const p = await createPipeline({
    workspace: opts.workspace,
    policy,
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(opts.ask ? { ask: opts.ask } : {}),
    ...(opts.session ? { session: opts.session } : {}),
    ...(opts.checkpoints ? { checkpoints: opts.checkpoints } : {}),
    ...(opts.approver ? { approver: opts.approver } : {}),
    hooksMustLoad: true,
  });
  let subagents: SubagentManager | undefined;
  if (opts.subagents !== false) {
    const { enableSubagents } = await import('./subagents/manager.js');
    try {
      // Registers `task` (a bad agent definition is a usage error naming file:line:col).
      subagents = await enableSubagents(p, opts.subagents ?? {});
    } catch (e) {
      await p.close();
      throw e;
    }
  }
  // The workspace's MCP servers (.mcp.json) start with the session, jailed, and close with it.
  const { startSessionServers } = await import('../mcp/session.js');
  let mcp: Awaited<ReturnType<typeof startSessionServers>>;
  try {
    mcp = await startSessionServers(p);
  } catch (e) {
    await p.close();
    throw e;
  }
  return {
    runner: p,
    ...(subagents ? { subagents } : {}),
    // A getter: an MCP server's tool-list change shows on the next turn.
    get tools() {
      return p.registry.specs();
    },
    policyHash: p.policyHash,
    workspace: p.workspace,
    hooks: loopHooksFor(p),
    onSessionStart: sessionStartHook(p),
    onPreCompact: preCompactHook(p),
    close: async () => {
      await mcp?.close();
      await p.close();
    },
  };
};
