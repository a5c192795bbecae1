/** The `api` object handed to in-process (builtin) hooks: same shape and limits as inside an isolate. */
import { CallLog, formatLogArgs } from './call-log.js';
import type { KvStore } from './kv.js';
import type { HookApi } from './types.js';

export function makeHostApi(store: KvStore, session: string, log: CallLog): HookApi {
  const kv = Object.freeze({
    get: (key: string): unknown => store.get(session, String(key)),
    set: (key: string, value: unknown): void => store.set(session, String(key), value),
    delete: (key: string): void => store.delete(session, String(key)),
  });
  return Object.freeze({ log: (...args: unknown[]): void => log.add(formatLogArgs(args)), kv });
}
