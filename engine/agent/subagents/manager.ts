/**
 * Runs sub-agents for the `task` tool: each in its own context (its system prompt + the task, never the
 * parent's history), through the SAME pipeline as its parent (every call validated, decided, audited,
 * executed in the session's jail), narrowed by an AgentScope: its policy is the intersection of its
 * parent's and its own (strictest wins) and its tools are a subset of its parent's. Its messages are a
 * child session linked to the `task` call; its tool events reach the parent's observer with its name.
 *
 * One jail per session, shared by the sub-agents: the jail is the workspace boundary (what a process
 * can see and reach), the policy is what narrows an agent, and a second jail over the same workspace
 * would confine nothing more while costing a supervisor per sub-agent.
 */
import { randomUUID } from 'node:crypto';
import type { HookOutcome } from '../../../sandbox/hooks/index.js';
import type { ExecContext, ExecResult } from '../../executors/types.js';
import type { Pipeline } from '../../pipeline.js';
import type { AgentScope, ToolCall } from '../../pipeline-types.js';
import { errorMessage } from '../errors.js';
import { runAgent, type AgentEvent, type LoopOptions, type RunResult } from '../loop.js';
import type { Provider } from '../providers/types.js';
import type { SessionStore } from '../sessions.js';
import { textOf } from '../types.js';
import { loadDefinitions, type AgentDefinition } from './definitions.js';
import { taskTool, type TaskRunner } from './task-tool.js';

export interface SubagentSettings {
  /** Task calls of one turn running at once (default 4). */
  maxParallel: number;
  /** Budgets of a sub-agent whose definition sets none. */
  maxTurns: number;
  maxTokens?: number;
  timeoutMs?: number;
  /** No sub-agent runs deeper than this, whatever its definition says (default 3). */
  hardMaxDepth: number;
}

export const DEFAULT_SUBAGENT_SETTINGS: SubagentSettings = { maxParallel: 4, maxTurns: 30, timeoutMs: 15 * 60_000, hardMaxDepth: 3 };

/** What a run gives the sub-agents once its model and session store exist. */
export interface SubagentRun {
  provider: Provider;
  sessions?: SessionStore;
  onEvent?: (e: AgentEvent) => void;
  /** The main agent's session id (its calls carry it). */
  sessionId?: string;
  /**
   * The model for a definition's `model: provider/model` (throws when it cannot be made); without it, or
   * for `inherit` and bare names such as Claude Code's `sonnet`, the sub-agent runs on `provider`.
   */
  providerFor?: (model: string) => Provider;
}

interface Caller {
  name: string;
  /** Its own name and those above it, outermost first. */
  lineage: readonly string[];
  /** The top-level session (whose jail every sub-agent under it shares). */
  rootSession: string;
  depth: number;
  policies: AgentScope['policies'];
  tools: ReadonlySet<string>;
}

const MUTATING = (p: Pipeline, names: Iterable<string>): boolean => [...names].some((n) => p.registry.get(n)?.mutates === true);

export class SubagentManager implements TaskRunner {
  private run: SubagentRun | null = null;
  /** Running sub-agents by their session id: who is calling `task` when a sub-agent delegates. */
  private readonly callers = new Map<string, Caller>();
  /** Sub-agent runs in flight (the parent's close waits for none: cancelling the parent ends them). */
  readonly settings: SubagentSettings;

  constructor(
    private readonly pipeline: Pipeline,
    readonly definitions: ReadonlyMap<string, AgentDefinition>,
    settings: Partial<SubagentSettings> = {},
  ) {
    this.settings = { ...DEFAULT_SUBAGENT_SETTINGS, ...settings };
  }

  /** Gives the sub-agents their model, session store and observer (before the main loop starts). */
  attach(run: SubagentRun): void {
    this.run = run;
  }

  /** What the main loop needs so that task calls of one turn run in parallel. */
  loopOptions(): Pick<LoopOptions, 'concurrentTools' | 'maxConcurrency'> {
    return { concurrentTools: new Set(['task', 'Task']), maxConcurrency: this.settings.maxParallel };
  }

  async runTask(input: { subagent_type: string; description: string; prompt: string }, ctx: ExecContext): Promise<ExecResult> {
    const run = this.run;
    const fail = (error: string): ExecResult => ({ ok: false, output: '', error, code: 'subagent', truncated: false, bytes: 0 });
    if (!run) return fail('sub-agents are not available in this run (no model is attached to them)');
    const def = this.definitions.get(input.subagent_type);
    if (!def) return fail(`unknown subagent_type "${input.subagent_type}" (known: ${[...this.definitions.keys()].join(', ')})`);
    const p = this.pipeline;
    const caller: Caller = this.callers.get(ctx.session) ?? { name: 'main', lineage: ['main'], rootSession: ctx.session, depth: 0, policies: [], tools: new Set(p.registry.names()) };
    const depth = caller.depth + 1;
    if (depth > this.settings.hardMaxDepth) return fail(`sub-agents cannot nest deeper than ${this.settings.hardMaxDepth}`);

    // Its tools: what its definition names (Claude Code names accepted), within its parent's.
    const wanted = def.tools === null || def.tools.includes('*') ? [...caller.tools] : def.tools;
    const tools = new Set(wanted.map((t) => p.registry.canonicalName(t)).filter((t) => caller.tools.has(t) && p.registry.get(t) !== undefined));
    if (!(def.canDelegate && depth < def.maxDepth && depth < this.settings.hardMaxDepth)) tools.delete('task');
    let own = def.policy;
    try {
      if (!own && def.policyForTask) own = await def.policyForTask(input.prompt);
    } catch (e) {
      return fail(`the ${def.name} sub-agent's policy could not be built: ${errorMessage(e)}`);
    }
    const policies = own ? [...caller.policies, own] : [...caller.policies];
    const scope: AgentScope = { policies, tools, parentSession: ctx.session, parentCallId: ctx.callId, depth, ancestors: caller.lineage, rootSession: caller.rootSession };

    let provider = run.provider;
    if (def.model && def.model.includes('/') && run.providerFor) {
      try {
        provider = run.providerFor(def.model);
      } catch (e) {
        return fail(`the ${def.name} sub-agent's model ${def.model} is not available: ${errorMessage(e)}`);
      }
    }
    const childId = randomUUID();
    const store = run.sessions;
    const system = def.system || `You are the ${def.name} sub-agent: ${def.description}`;
    if (store) {
      store.createSession({ id: childId, title: `${def.name}: ${input.description}`, model: provider === run.provider ? def.model : `${provider.id}/${provider.model}`, workspace: p.workspace, policy: `agent:${def.name}`, policyHash: own?.hash ?? null, system });
      store.linkSubagent({ sessionId: childId, parentSessionId: ctx.session, parentCallId: ctx.callId, agent: def.name, depth });
    }
    const emit = (e: AgentEvent): void => run.onEvent?.(e);
    const tag = { agent: def.name, depth, parentCallId: ctx.callId };
    emit({ type: 'subagent_start', ...tag, sessionId: store ? childId : null, description: input.description, tools: [...tools] });
    await p.audit.recordEvent('subagent_start', childId, { agent: def.name, depth, parent_session: ctx.session, parent_call_id: ctx.callId, tools: [...tools], source: def.source, policy_hash: own?.hash ?? null }).catch(() => undefined);

    // Budgets: turns and tokens in the loop, wall time as an abort; the parent's cancel reaches it too.
    const timeoutMs = def.timeoutMs ?? this.settings.timeoutMs;
    const timeout = new AbortController();
    const timer = timeoutMs ? setTimeout(() => timeout.abort(new Error(`the ${def.name} sub-agent ran out of time (${timeoutMs} ms)`)), timeoutMs) : null;
    timer?.unref();
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout.signal]) : timeout.signal;
    const maxTokens = def.maxTokens ?? this.settings.maxTokens;

    this.callers.set(childId, { name: def.name, lineage: [...caller.lineage, def.name], rootSession: caller.rootSession, depth, policies, tools });
    let result: RunResult | null = null;
    let crash: string | null = null;
    try {
      result = await runAgent(input.prompt, {
        provider,
        runner: { call: (c: ToolCall, s?: AbortSignal) => p.call({ ...c, scope }, s), auditPath: p.auditPath },
        tools: p.registry.specs().filter((t) => tools.has(t.name)),
        system,
        ...(store ? { sessions: store, sessionId: childId } : { sessionId: childId }),
        agent: def.name,
        maxTurns: def.maxTurns ?? this.settings.maxTurns,
        ...(maxTokens ? { maxBudgetTokens: maxTokens } : {}),
        signal,
        ...(def.canDelegate ? this.loopOptions() : {}),
        onEvent: (e) => {
          if (e.type === 'tool_use' || e.type === 'tool_result') emit({ ...e, ...tag });
        },
        onStop: this.stopHook(def.name, childId, signal),
      });
    } catch (e) {
      crash = errorMessage(e);
    } finally {
      if (timer) clearTimeout(timer);
      this.callers.delete(childId);
      // Every child session ends with its status, cancelled or crashed included.
      if (store) {
        try {
          const s = store.getSession(childId);
          if (s.status === 'running' || s.status === 'new') store.updateSession(childId, { status: signal.aborted ? 'aborted' : 'error_internal', error: crash ?? 'ended without a result' });
        } catch {
          // the store may be what failed
        }
      }
    }
    const timedOut = timeout.signal.aborted && !(ctx.signal?.aborted ?? false);
    if (result) emit({ type: 'subagent_result', ...tag, sessionId: store ? childId : null, result });
    await p.audit
      .recordEvent('subagent_end', childId, { agent: def.name, parent_call_id: ctx.callId, status: result ? (result.aborted ? 'aborted' : result.subtype) : 'error_internal', turns: result?.numTurns ?? 0, tool_calls: result?.toolCalls ?? 0, denials: result?.denials.length ?? 0, error: crash ?? result?.error ?? null })
      .catch(() => undefined);
    if (!result) return fail(`the ${def.name} sub-agent failed: ${crash}`);
    return report(def.name, result, timedOut ? `ran out of time (${timeoutMs} ms)` : null);
  }

  /** The `subagent_stop` hooks (e.g. the todo continuation enforcer) may send a sub-agent back to work. */
  private stopHook(agent: string, session: string, signal: AbortSignal): LoopOptions['onStop'] {
    const p = this.pipeline;
    const hooks = p.hooks;
    if (!hooks?.has('subagent_stop')) return undefined;
    return async (state) => {
      const { result, outcomes } = await hooks.run('subagent_stop', {
        session,
        agent,
        cwd: p.workspace,
        tools: p.tools,
        todos: p.todos(session),
        stop_hook_active: state.stopHookActive,
        final_message: textOf(state.lastMessage),
        aborted: signal.aborted,
      });
      await recordHooks(p, session, outcomes);
      return { block: result.block, ...(result.message ? { message: result.message } : {}) };
    };
  }
}

async function recordHooks(p: Pipeline, session: string, outcomes: HookOutcome[]): Promise<void> {
  await Promise.all(
    outcomes.map((o) =>
      p.audit.recordEvent('hook', session, { point: 'subagent_stop', hook: o.hook, kind: o.kind, status: o.status, result: o.result, error: o.error, applied: o.applied, duration_ms: o.durationMs }),
    ),
  );
}

/** The task's result for the parent: the sub-agent's final message, then a short record of what it did. */
function report(agent: string, r: RunResult, timedOut: string | null): ExecResult {
  const denied = r.denials.map((d) => `${d.toolName} (${d.reason.split('\n')[0]!.slice(0, 160)})`);
  const status = timedOut ?? (r.aborted ? 'cancelled' : r.isError ? `${r.subtype}${r.error ? `: ${r.error}` : ''}` : 'done');
  const record =
    `[sub-agent ${agent}: ${status}; ${r.numTurns} turn${r.numTurns === 1 ? '' : 's'}, ${r.toolCalls} tool call${r.toolCalls === 1 ? '' : 's'}` +
    `${denied.length ? `, ${denied.length} denied: ${denied.join('; ')}` : ''}${r.sessionId ? `; session ${r.sessionId}` : ''}]`;
  const output = `${r.result || '(the sub-agent gave no final message)'}\n\n${record}`;
  const ok = !r.isError;
  return { ok, output, ...(ok ? {} : { error: output, code: 'subagent' }), truncated: false, bytes: Buffer.byteLength(output) };
}

/**
 * Loads the sub-agent definitions of a workspace and registers the `task` tool on the pipeline. A bad
 * definition throws AgentDefinitionError (file:line:col). The manager needs `attach()` before a run.
 */
export async function enableSubagents(p: Pipeline, settings: Partial<SubagentSettings> = {}): Promise<SubagentManager> {
  const defs = await loadDefinitions(p.workspace);
  const manager = new SubagentManager(p, defs, settings);
  if (p.registry.get('task')) return manager;
  // `task` mutates only if a sub-agent it can start may call a mutating tool.
  const all = new Set(p.registry.names());
  const mutates = [...defs.values()].some((d) => MUTATING(p, d.tools === null ? all : d.tools.map((t) => p.registry.canonicalName(t))));
  p.registry.register(taskTool(manager, [...defs.values()], mutates));
  return manager;
}
