/**
 * Built-in hooks run in-process as trusted code but expose the same interface as script hooks: an
 * event, the same frozen `api` (log, per-session kv), and a result validated like any other.
 */
import type { HookApi, HookEvent, HookPoint, OnError } from '../types.js';

export interface BuiltinHook {
  readonly name: string;
  /** Points the hook can serve. Declaring it under another point is a configuration error. */
  readonly points: readonly HookPoint[];
  /** Failure modes that differ from the point's default (e.g. secret_redactor withholds output). */
  readonly defaultOnError?: Partial<Record<HookPoint, OnError>>;
  invoke(point: HookPoint, event: HookEvent, api: HookApi): unknown;
}

export type BuiltinFactory = (options: Record<string, unknown>) => BuiltinHook | Promise<BuiltinHook>;
