/** Errors of the agent runtime. */
import { InputError } from '../errors.js';

/** Bad configuration: unknown provider, missing key, unreadable script. The CLI exits 2. */
export class AgentConfigError extends InputError {
  override readonly name = 'AgentConfigError';
}

export type ProviderErrorKind =
  /** The API answered with an error status (after retries, if it was retryable). */
  | 'http'
  /** No response: connection refused, reset before headers, DNS. */
  | 'connection'
  /** The response stream broke off or ended before the model finished. */
  | 'stream_cut'
  /** The stream carried something icode cannot use (an `error` event, a bad chunk). */
  | 'protocol'
  /** The stream sent nothing meaningful for too long, or the turn took too long (providers/deadline.ts). */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** A scripted provider ran out of turns or its file is wrong. */
  | 'script';

/** A model call that failed; the loop reports it and ends the run (never a truncated tool call). */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  /** How many attempts were made (1 + retries). */
  attempts: number;

  constructor(kind: ProviderErrorKind, message: string, opts: { status?: number; attempts?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
    this.attempts = opts.attempts ?? 1;
  }
}

export function abortError(): ProviderError {
  return new ProviderError('aborted', 'cancelled');
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
