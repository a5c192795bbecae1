/**
 * Retries of model calls, done here rather than inside the SDKs (which are built with
 * `maxRetries: 0`) so that every retry is visible as an event, the count is configurable and the
 * waiting is injectable in tests.
 *
 * Only the opening of a call is retried: once the response has started streaming, a failure is
 * reported (a half-streamed answer is never silently replayed).
 */
import { ProviderError, abortError } from '../errors.js';
import type { ProviderEvent, RetryOptions } from './types.js';

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'sleep' | 'random'>> = Object.freeze({
  maxRetries: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
});

const RETRYABLE_STATUS = new Set([408, 409, 429]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status) || status >= 500;
}

/** Headers the way both SDKs expose them on API errors. */
export interface HeaderBag {
  get(name: string): string | null;
}

/** Milliseconds the server asked us to wait (`retry-after-ms`, `retry-after` seconds or date), or null. */
export function retryAfterMs(headers: HeaderBag | undefined, now: number = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return null;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : null;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Exponential backoff for retry number `retry` (1-based), with up to 25% jitter taken off. */
export function backoffMs(retry: number, opts: RetryOptions = {}): number {
  const base = opts.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = opts.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const raw = Math.min(cap, base * 2 ** (retry - 1));
  const random = opts.random ?? Math.random;
  return Math.round(raw * (1 - 0.25 * random()));
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a failed opening attempt looks like once classified by the provider. */
export interface AttemptFailure {
  error: ProviderError;
  retryable: boolean;
  headers?: HeaderBag;
}

/**
 * Open a call with retries, then stream it.
 * `open` sends the request and resolves once the response has started (status known);
 * `classify` turns whatever it threw into a ProviderError and says whether to try again;
 * `consume` turns the opened stream into normalised events (its failures are never retried).
 */
export async function* withRetries<T>(
  open: () => Promise<T>,
  classify: (e: unknown) => AttemptFailure,
  consume: (opened: T) => AsyncIterable<ProviderEvent>,
  opts: RetryOptions & { signal?: AbortSignal },
): AsyncGenerator<ProviderEvent> {
  const maxRetries = opts.maxRetries ?? DEFAULT_RETRY.maxRetries;
  const maxAfter = opts.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const sleep = opts.sleep ?? abortableSleep;
  let opened: T;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError();
    try {
      opened = await open();
      break;
    } catch (e) {
      if (opts.signal?.aborted) throw abortError();
      const failure = classify(e);
      failure.error.attempts = attempt;
      if (!failure.retryable || attempt > maxRetries) throw failure.error;
      const asked = retryAfterMs(failure.headers);
      if (asked !== null && asked > maxAfter) {
        failure.error.message += ` (the server asked to wait ${Math.ceil(asked / 1000)} s, more than ${Math.ceil(maxAfter / 1000)} s)`;
        throw failure.error;
      }
      const delayMs = asked ?? backoffMs(attempt, opts);
      const ev: ProviderEvent = { type: 'retry', attempt, delayMs, reason: failure.error.message };
      if (failure.error.status !== undefined) ev.status = failure.error.status;
      yield ev;
      await sleep(delayMs, opts.signal);
    }
  }
  yield* consume(opened);
}
