/** One compact line of a call's stage times (`--timings` on exec, replay and run). */
import type { StageTimings } from '../pipeline-types.js';

const ORDER = ['validate', 'decide', 'commit', 'preHooks', 'queue', 'execute', 'postHooks', 'outcome'] as const;

export function timingsLine(t: StageTimings, totalMs?: number): string {
  const parts = ORDER.filter((k) => t[k] !== undefined).map((k) => `${k} ${t[k]!.toFixed(2)}`);
  return `${parts.join(' · ')} ms${totalMs !== undefined ? ` (total ${totalMs.toFixed(2)} ms)` : ''}`;
}
