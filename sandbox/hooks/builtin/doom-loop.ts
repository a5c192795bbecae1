/**
 * doom_loop_guard (pre_tool): the same call (canonical tool + canonical JSON of its input) made
 * `threshold` times in a row (default 3) in a session by the same agent turns into `ask` (the caller
 * denies when nobody can answer); the reason states the repetition count. Any different call resets the
 * count. Declare it without a tool matcher, or "in a row" only counts the calls it sees.
 */
import { fingerprint } from '../stable-json.js';
import type { HookApi, HookEvent, HookPoint, PreToolEvent, PreToolResult } from '../types.js';
import { checkKeys, enumOption, intOption } from './options.js';
import type { BuiltinHook } from './types.js';

export const DOOM_LOOP_GUARD = 'doom_loop_guard';

interface LoopState {
  fp: string;
  count: number;
}

export function createDoomLoopGuard(options: Record<string, unknown>): BuiltinHook {
  checkKeys(DOOM_LOOP_GUARD, options, ['threshold', 'decision']);
  const threshold = intOption(DOOM_LOOP_GUARD, options, 'threshold', 3, 2, 100);
  const decision = enumOption(DOOM_LOOP_GUARD, options, 'decision', 'ask', ['ask', 'deny'] as const);
  return {
    name: DOOM_LOOP_GUARD,
    points: ['pre_tool'],
    invoke(_point: HookPoint, raw: HookEvent, api: HookApi): PreToolResult {
      const event = raw as PreToolEvent;
      const key = `last:${event.agent}`;
      const fp = fingerprint([event.tool, event.input ?? {}]);
      const prev = api.kv.get(key) as LoopState | undefined;
      const count = prev && prev.fp === fp ? prev.count + 1 : 1;
      api.kv.set(key, { fp, count } satisfies LoopState);
      if (count < threshold) return {};
      return {
        decision,
        reason: `the same ${event.tool} call was made ${count} times in a row; the agent may be stuck in a loop`,
      };
    },
  };
}
