/** Errors of the hooks engine. */
import type { HookFailureKind } from './types.js';

/** A bad hooks declaration (unknown builtin, missing script, bad option…): a usage error for the CLI. */
export class HookConfigError extends Error {
  override readonly name = 'HookConfigError';
}

/** One hook call failed; `kind` says how. The runner turns it into the hook's `on_error` behaviour. */
export class HookFailure extends Error {
  override readonly name = 'HookFailure';
  constructor(
    readonly kind: HookFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** A short, safe description of anything thrown (never calls into untrusted objects). */
export function describeError(e: unknown): string {
  if (e instanceof Error) return cap(e.message || e.name);
  if (typeof e === 'string') return cap(e);
  return cap(`non-Error value thrown (${typeof e})`);
}

export function cap(text: string, max = 2000): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
