/**
 * The policy's hooks at the agent loop's own points: `user_prompt` before a prompt reaches the model,
 * `stop` when the model ends its turn (e.g. the todo continuation enforcer), `session_start` once.
 * Every hook outcome is recorded in the audit log as a session event.
 */
import type { Pipeline } from '../pipeline.js';
import type { HookOutcome } from '../../sandbox/hooks/index.js';
import type { LoopOptions } from './loop.js';
import type { PreCompactAnswer, PreCompactInfo } from './compaction.js';

export type LoopHooks = Pick<LoopOptions, 'onStop' | 'onUserPrompt'>;

async function record(p: Pipeline, session: string, point: string, outcomes: HookOutcome[]): Promise<void> {
  await Promise.all(
    outcomes.map((o) =>
      p.audit.recordEvent('hook', session, { point, hook: o.hook, kind: o.kind, status: o.status, result: o.result, error: o.error, applied: o.applied, duration_ms: o.durationMs }),
    ),
  );
}

/** session_start hooks: their context is given to the model with the system prompt. */
export function sessionStartHook(p: Pipeline): ((sessionId: string, source: 'startup' | 'resume') => Promise<string | undefined>) | undefined {
  const hooks = p.hooks;
  if (!hooks?.has('session_start')) return undefined;
  return async (session, source) => {
    const { result, outcomes } = await hooks.run('session_start', { session, agent: 'main', cwd: p.workspace, tools: p.tools, source });
    await record(p, session, 'session_start', outcomes);
    return result.context.length ? result.context.join('\n') : undefined;
  };
}

/** pre_compact hooks: they may veto a compaction or add context kept with the summary. */
export function preCompactHook(p: Pipeline): ((info: PreCompactInfo) => Promise<PreCompactAnswer>) | undefined {
  const hooks = p.hooks;
  if (!hooks?.has('pre_compact')) return undefined;
  return async (info) => {
    const session = info.sessionId ?? p.session;
    const { result, outcomes } = await hooks.run('pre_compact', { session, agent: 'main', cwd: p.workspace, tools: p.tools, trigger: info.trigger, tokens: info.tokens });
    await record(p, session, 'pre_compact', outcomes);
    return { block: result.block, ...(result.reason ? { reason: result.reason } : {}), ...(result.context.length ? { context: result.context.join('\n') } : {}) };
  };
}

export function loopHooksFor(p: Pipeline): LoopHooks | undefined {
  const hooks = p.hooks;
  if (!hooks || !(hooks.has('user_prompt') || hooks.has('stop'))) return undefined;
  return {
    async onUserPrompt(prompt, state) {
      if (!hooks.has('user_prompt')) return undefined;
      const session = state.sessionId ?? p.session;
      const { result, outcomes } = await hooks.run('user_prompt', { session, agent: 'main', cwd: p.workspace, tools: p.tools, prompt });
      await record(p, session, 'user_prompt', outcomes);
      return { block: result.block, ...(result.reason ? { message: result.reason } : {}), ...(result.context.length ? { context: result.context.join('\n') } : {}) };
    },
    async onStop(state) {
      if (!hooks.has('stop')) return undefined;
      const session = state.sessionId ?? p.session;
      const { result, outcomes } = await hooks.run('stop', {
        session,
        agent: 'main',
        cwd: p.workspace,
        tools: p.tools,
        todos: p.todos(session),
        stop_hook_active: state.stopHookActive,
        final_message: finalText(state.lastMessage),
      });
      await record(p, session, 'stop', outcomes);
      return { block: result.block, ...(result.message ? { message: result.message } : {}) };
    },
  };
}

function finalText(message: { content: unknown }): string {
  if (!Array.isArray(message.content)) return typeof message.content === 'string' ? message.content : '';
  return message.content
    .filter((b): b is { type: 'text'; text: string } => !!b && typeof b === 'object' && (b as { type?: unknown }).type === 'text')
    .map((b) => b.text)
    .join('');
}
