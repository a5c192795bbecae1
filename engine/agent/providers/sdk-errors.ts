/** Classification of errors thrown by the Anthropic and OpenAI SDKs (same class layout in both). */
import { createRequire } from 'node:module';
import { ProviderError } from '../errors.js';
import { isRetryableStatus, type AttemptFailure, type HeaderBag } from './retry.js';

type ErrorClass = abstract new (...args: never[]) => Error;

export interface SdkErrorClasses {
  APIError: ErrorClass;
  APIUserAbortError: ErrorClass;
  APIConnectionError: ErrorClass;
}

interface ApiErrorShape {
  status?: number;
  headers?: HeaderBag;
  error?: unknown;
}

/** The human part of an API error body: `{error: {message}}`, `{message}` or the SDK message. */
function apiMessage(e: Error & ApiErrorShape): string {
  const body = e.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  const m = body?.error?.message ?? body?.message;
  return typeof m === 'string' && m !== '' ? m : e.message;
}

/** Classify an error thrown while opening a call (before the response streamed). */
export function classifyOpenError(vendor: string, classes: SdkErrorClasses, e: unknown, signal?: AbortSignal): AttemptFailure {
  if (signal?.aborted || e instanceof classes.APIUserAbortError) {
    return { error: new ProviderError('aborted', 'cancelled', { cause: e }), retryable: false };
  }
  if (e instanceof classes.APIConnectionError) {
    const cause = (e as Error).cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return {
      error: new ProviderError('connection', `${vendor}: ${(e as Error).message}${detail}`, { cause: e }),
      retryable: true,
    };
  }
  if (e instanceof classes.APIError) {
    const err = e as Error & ApiErrorShape;
    const status = typeof err.status === 'number' ? err.status : undefined;
    const headers = err.headers && typeof err.headers.get === 'function' ? err.headers : undefined;
    const should = headers?.get('x-should-retry');
    const retryable = should === 'true' ? true : should === 'false' ? false : status !== undefined && isRetryableStatus(status);
    const what = status === undefined ? 'error' : `HTTP ${status}`;
    const out: AttemptFailure = {
      error: new ProviderError('http', `${vendor} API ${what}: ${apiMessage(err)}`, { status, cause: e }),
      retryable,
    };
    if (headers) out.headers = headers;
    return out;
  }
  return { error: new ProviderError('connection', `${vendor}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }), retryable: false };
}

/** Classify an error thrown while reading the stream: never retried. */
export function classifyStreamError(vendor: string, classes: SdkErrorClasses, e: unknown, signal?: AbortSignal): ProviderError {
  if (e instanceof ProviderError) return e;
  if (signal?.aborted || e instanceof classes.APIUserAbortError) return new ProviderError('aborted', 'cancelled', { cause: e });
  if (e instanceof classes.APIError) {
    return new ProviderError('protocol', `${vendor} reported an error in the middle of the stream: ${apiMessage(e as Error & ApiErrorShape)}`, {
      cause: e,
    });
  }
  if (e instanceof SyntaxError) {
    return new ProviderError('protocol', `${vendor} sent a stream event that is not valid JSON (${e.message})`, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return new ProviderError('stream_cut', `${vendor}: the response stream was cut before the model finished: ${msg}${cause}`, { cause: e });
}

/** A stream that ended cleanly but without its terminal event. */
export function endedEarly(vendor: string, missing: string): ProviderError {
  return new ProviderError('stream_cut', `${vendor}: the response stream ended before the model finished (no ${missing})`);
}

/** An SDK class loaded on first use (commands that never call a model start faster), with its errors. */
export interface LazySdk<T> {
  sdk(): T;
  errorClasses(): SdkErrorClasses;
}

export function lazySdk<T extends SdkErrorClasses>(moduleName: string): LazySdk<T> {
  const requireSdk = createRequire(import.meta.url);
  let cls: T | undefined;
  let classes: SdkErrorClasses | undefined;
  const sdk = (): T => (cls ??= (requireSdk(moduleName) as { default: T }).default);
  return {
    sdk,
    errorClasses(): SdkErrorClasses {
      const S = sdk();
      return (classes ??= { APIError: S.APIError, APIUserAbortError: S.APIUserAbortError, APIConnectionError: S.APIConnectionError });
    },
  };
}
