/** Resource limits of a jail: validation, clamping to icode's own hard limits, and the per-command ulimit. */
import { readFileSync } from 'node:fs';
import { DEFAULT_LIMITS, JailError, type JailLimits } from './types.js';

export type ResolvedLimits = Required<JailLimits>;

const MIN_TMP = 1024 * 1024;

function check(name: keyof JailLimits, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new JailError(`jail limits.${name} must be an integer ≥ ${min} (got ${String(v)})`);
  return v;
}

export function resolveLimits(l: JailLimits | undefined): ResolvedLimits {
  const m = { ...DEFAULT_LIMITS, ...(l ?? {}) };
  return {
    processes: check('processes', m.processes, 0),
    memoryBytes: check('memoryBytes', m.memoryBytes, 0),
    fileSizeBytes: check('fileSizeBytes', m.fileSizeBytes, 0),
    cpuSeconds: check('cpuSeconds', m.cpuSeconds, 0),
    tmpBytes: check('tmpBytes', m.tmpBytes, MIN_TMP),
  };
}

/** icode's own hard limits (a child cannot raise a hard limit): name in /proc/self/limits → value or Infinity. */
function ownHardLimits(): Map<string, number> {
  const out = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync('/proc/self/limits', 'latin1');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, m[3] === 'unlimited' ? Infinity : Number(m[3]));
  }
  return out;
}

/** A limit lowered to icode's own hard limit (0 stays 0: not set). */
function clamp(v: number, hard: number | undefined): number {
  if (v === 0 || hard === undefined || !Number.isFinite(hard)) return v;
  return Math.min(v, hard);
}

/**
 * `ulimit` prefix for every command's bash (hard and soft, so the command cannot raise them). 0 means
 * unlimited and sets nothing. Kept on the command's first line so bash parses both together and line
 * numbers of the command stay as written.
 */
export function commandLimitPrefix(l: ResolvedLimits): string {
  const hard = ownHardLimits();
  const parts = ['-c 0'];
  const as = clamp(l.memoryBytes, hard.get('Max address space'));
  if (as > 0) parts.push(`-v ${Math.floor(as / 1024)}`);
  const fsize = clamp(l.fileSizeBytes, hard.get('Max file size'));
  if (fsize > 0) parts.push(`-f ${Math.max(1, Math.floor(fsize / 1024))}`);
  const cpu = clamp(l.cpuSeconds, hard.get('Max cpu time'));
  if (cpu > 0) parts.push(`-t ${cpu}`);
  return `ulimit -S -H ${parts.join(' ')} || exit 126; `;
}

/** `ulimit` for the jail's entry (supervisor and everything after it): processes, file size, no cores. */
export function entryLimitCommand(l: ResolvedLimits, nproc: number): string {
  const hard = ownHardLimits();
  const parts = ['-c 0'];
  const fsize = clamp(l.fileSizeBytes, hard.get('Max file size'));
  if (fsize > 0) parts.push(`-f ${Math.max(1, Math.floor(fsize / 1024))}`);
  const np = clamp(nproc, hard.get('Max processes'));
  if (np > 0) parts.push(`-u ${np}`);
  return `ulimit -S -H ${parts.join(' ')}`;
}
