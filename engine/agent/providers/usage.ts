/**
 * Usage figures from a provider are untrusted input: a hostile or broken server can send an object,
 * a string, a negative number, NaN or 1e308. Only a whole, non-negative, plausible token count is a
 * usage figure; anything else is a protocol error (the run ends, resumable), never a value that could
 * lower the spend `--max-cost` and `--max-budget-tokens` check.
 */
import { ProviderError } from '../errors.js';

/** More tokens than any model reads or writes in one call: a larger figure is nonsense, not spend. */
export const MAX_TOKENS_PER_CALL = 1_000_000_000;

/**
 * A usage field as a token count. Absent (`undefined`/`null`) is `fallback`; anything that is not a
 * whole number in [0, MAX_TOKENS_PER_CALL] throws a ProviderError('protocol').
 */
export function tokenCount(vendor: string, field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TOKENS_PER_CALL) {
    throw new ProviderError('protocol', `${vendor} sent a usage figure that is not a token count: ${field} = ${describe(value)}`);
  }
  return value;
}

/** The usage object itself must be an object when present. */
export function usageObject(vendor: string, field: string, value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ProviderError('protocol', `${vendor} sent a usage figure that is not an object: ${field} = ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
