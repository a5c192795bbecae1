/**
 * Per-hook key-value store, partitioned by session, holding JSON text only (values go in and out as
 * copies). Bounded: keys per session, characters per value and per session, number of sessions (least
 * recently used sessions are dropped first).
 */

export interface KvLimits {
  maxKeys: number;
  maxKeyChars: number;
  maxValueChars: number;
  maxSessionChars: number;
  maxSessions: number;
}

export const DEFAULT_KV_LIMITS: Readonly<KvLimits> = Object.freeze({
  maxKeys: 256,
  maxKeyChars: 256,
  maxValueChars: 64 * 1024,
  maxSessionChars: 256 * 1024,
  maxSessions: 1000,
});

export class KvLimitError extends Error {
  override readonly name = 'KvLimitError';
}

interface SessionData {
  values: Map<string, string>;
  chars: number;
}

export class KvStore {
  private readonly sessions = new Map<string, SessionData>();

  constructor(private readonly limits: KvLimits = DEFAULT_KV_LIMITS) {}

  getJson(session: string, key: string): string | undefined {
    return this.touch(session, false)?.values.get(key);
  }

  /** Throws KvLimitError when a value of this JSON text could never be stored. */
  checkValue(json: string): void {
    const max = this.limits.maxValueChars;
    if (json.length > max) throw new KvLimitError(`kv value too big (${json.length} > ${max} characters)`);
  }

  /** Stores JSON text (the caller guarantees it is JSON). Throws KvLimitError past a limit. */
  setJson(session: string, key: string, json: string): void {
    const { maxKeys, maxKeyChars, maxSessionChars } = this.limits;
    if (key.length === 0 || key.length > maxKeyChars) throw new KvLimitError(`kv key must have 1 to ${maxKeyChars} characters`);
    this.checkValue(json);
    const data = this.touch(session, true)!;
    const old = data.values.get(key);
    if (old === undefined && data.values.size >= maxKeys) throw new KvLimitError(`kv holds ${maxKeys} keys already`);
    const chars = data.chars - (old === undefined ? 0 : key.length + old.length) + key.length + json.length;
    if (chars > maxSessionChars) throw new KvLimitError(`kv of this session would exceed ${maxSessionChars} characters`);
    data.values.set(key, json);
    data.chars = chars;
  }

  delete(session: string, key: string): void {
    const data = this.sessions.get(session);
    const old = data?.values.get(key);
    if (data && old !== undefined) {
      data.values.delete(key);
      data.chars -= key.length + old.length;
    }
  }

  /** A parsed copy of the value. */
  get(session: string, key: string): unknown {
    const json = this.getJson(session, key);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /** Stores a copy of a JSON value; `undefined` deletes. Throws on non-JSON values and past limits. */
  set(session: string, key: string, value: unknown): void {
    if (value === undefined) return this.delete(session, key);
    const json = JSON.stringify(value);
    if (json === undefined) throw new KvLimitError('kv values must be JSON data');
    this.setJson(session, key, json);
  }

  endSession(session: string): void {
    this.sessions.delete(session);
  }

  private touch(session: string, create: boolean): SessionData | undefined {
    let data = this.sessions.get(session);
    if (data) {
      // Re-insert: Map order is the LRU order.
      this.sessions.delete(session);
      this.sessions.set(session, data);
      return data;
    }
    if (!create) return undefined;
    data = { values: new Map(), chars: 0 };
    this.sessions.set(session, data);
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    return data;
  }
}
