/**
 * Runs one hook module inside its own isolated-vm isolate: no Node APIs, no require/process/import, a
 * memory limit, and a wall-clock bound on every call that covers async work too.
 *
 * How the bound covers promises: a hook isolate has no timers, I/O or host async callbacks, and the
 * wrapper deletes the few V8 sources of later work (WebAssembly, Atomics, SharedArrayBuffer,
 * FinalizationRegistry). So every promise a hook creates settles during the microtask checkpoint that
 * isolated-vm runs at the end of the `applySync` that started it — inside that call's `timeout` — or
 * never. A call is therefore: `run` (hook + all its microtasks, bounded), then, for a promise, `settle`
 * (reads the outcome; still pending means it can never settle → failure). Everything happens in
 * synchronous, bounded calls on cached References: the cheapest path isolated-vm offers.
 *
 * After a timeout, out-of-memory, a never-settling promise or any unexpected error the isolate is
 * disposed and rebuilt (lazily) for the next call. Thrown errors and malformed results keep it warm.
 */
import ivm from 'isolated-vm';
import { CallLog, MAX_LOG_LINE_CHARS } from './call-log.js';
import { HookConfigError, HookFailure, cap } from './errors.js';
import { BOOTSTRAP_SOURCE } from './isolate-bootstrap.js';
import type { KvStore } from './kv.js';
import { loadHookSource } from './transpile.js';
import { isHookPoint, type HookPoint } from './types.js';

export interface IsolateHookOptions {
  /** Heap limit in MB (≥ 8). Default 32. */
  memoryMb?: number;
  /** Default wall-clock bound of one call in ms. Default 500. */
  timeoutMs?: number;
  /** Bound of the module's top-level evaluation in ms. Default 1000. */
  loadTimeoutMs?: number;
  /** Largest result, in characters of JSON. Default 2 MiB. */
  maxResultChars?: number;
  /** Shown in stack traces and errors. */
  filename?: string;
}

/** What a call may touch on the host: the hook's store for the call's session, and the call's log. */
export interface CallHost {
  session: string;
  kv: KvStore;
  log: CallLog;
}

type RunFn = (id: number, point: string, eventJson: string) => string;
type SettleFn = (id: number) => string;
type InstallFn = (ns: unknown) => string;

interface Live {
  isolate: ivm.Isolate;
  context: ivm.Context;
  run: ivm.Reference<RunFn>;
  settle: ivm.Reference<SettleFn>;
}

interface ActiveCall {
  id: number;
  host: CallHost;
}

export const DEFAULT_MEMORY_MB = 32;
export const DEFAULT_TIMEOUT_MS = 500;
/** After this many timeouts / out-of-memory / never-settled calls in a row, calls fail fast… */
export const TRIP_AFTER = 3;
/** …for this long, then the hook is tried again. */
export const TRIP_COOLDOWN_MS = 60_000;

const HARD_FAILURES = new Set(['timeout', 'oom', 'never_settled']);

export class IsolateHook {
  private live: Live | null = null;
  private active: ActiveCall | null = null;
  private nextId = 1;
  private closed = false;
  private handled: readonly HookPoint[] = [];
  private readonly memoryMb: number;
  private readonly timeoutMs: number;
  private readonly loadTimeoutMs: number;
  private readonly maxResultChars: number;
  private readonly filename: string;
  /** How many times the isolate was (re)built. */
  builds = 0;
  private hardFailures = 0;
  private trippedUntil = 0;
  private lastHard: HookFailure | null = null;

  private constructor(
    private readonly code: string,
    opts: IsolateHookOptions,
  ) {
    this.memoryMb = Math.max(8, Math.min(1024, opts.memoryMb ?? DEFAULT_MEMORY_MB));
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.loadTimeoutMs = Math.max(1, opts.loadTimeoutMs ?? 1000);
    this.maxResultChars = opts.maxResultChars ?? 2 * 1024 * 1024;
    this.filename = opts.filename ?? 'hook.js';
  }

  /** Compiles ES module JavaScript and builds a warm isolate. Throws HookConfigError when it cannot load. */
  static fromSource(code: string, opts: IsolateHookOptions = {}): IsolateHook {
    const hook = new IsolateHook(code, opts);
    try {
      hook.live = hook.build();
    } catch (e) {
      throw new HookConfigError(`${hook.filename}: ${cap((e as Error).message ?? String(e), 500)}`);
    }
    return hook;
  }

  /** Reads (and transpiles, for TypeScript) a hook file, then `fromSource`. */
  static async fromFile(file: string, opts: IsolateHookOptions = {}): Promise<IsolateHook> {
    const code = await loadHookSource(file);
    return IsolateHook.fromSource(code, { filename: file, ...opts });
  }

  /** Hook points the module has a handler for. */
  get points(): readonly HookPoint[] {
    return this.handled;
  }

  /**
   * Calls the module's handler for `point` with the event (JSON text). Returns the parsed result
   * (undefined for "no opinion"; not yet validated against the point), or throws HookFailure.
   */
  invoke(point: HookPoint, eventJson: string, host: CallHost, timeoutMs = this.timeoutMs): unknown {
    if (this.closed) throw new HookFailure('disposed', 'the hook runtime was disposed');
    if (this.active) throw new HookFailure('internal', 're-entrant hook call');
    if (this.trippedUntil > Date.now() && this.lastHard) {
      // A hook that keeps looping or exhausting memory would cost its whole time limit on every call.
      throw new HookFailure(this.lastHard.kind, `not run: failed ${this.hardFailures} times in a row (last: ${this.lastHard.message})`);
    }
    try {
      const out = this.invokeLive(point, eventJson, host, timeoutMs);
      this.hardFailures = 0;
      return out;
    } catch (e) {
      if (e instanceof HookFailure && HARD_FAILURES.has(e.kind)) {
        this.lastHard = e;
        if (++this.hardFailures >= TRIP_AFTER) this.trippedUntil = Date.now() + TRIP_COOLDOWN_MS;
      } else {
        this.hardFailures = 0;
      }
      throw e;
    }
  }

  private invokeLive(point: HookPoint, eventJson: string, host: CallHost, timeoutMs: number): unknown {
    let live = this.live;
    if (!live) {
      try {
        live = this.live = this.build();
      } catch (e) {
        throw new HookFailure('internal', `cannot rebuild the isolate: ${cap(String((e as Error).message ?? e), 500)}`);
      }
    }
    const id = this.nextId++;
    this.active = { id, host };
    const deadline = performance.now() + timeoutMs;
    try {
      let tagged = this.enter(() => live.run.applySync(undefined, [id, point, eventJson], { timeout: timeoutMs }));
      if (tagged === 'p') {
        const left = Math.max(1, Math.ceil(deadline - performance.now()));
        tagged = this.enter(() => live.settle.applySync(undefined, [id], { timeout: left }));
        if (tagged === 'p') {
          this.teardown();
          throw new HookFailure('never_settled', 'the hook returned a promise that never settles');
        }
      }
      return this.decode(tagged);
    } finally {
      this.active = null;
    }
  }

  dispose(): void {
    this.closed = true;
    this.teardown();
  }

  // -------------------------------------------------------------------------------------------------

  /** One synchronous entry into the isolate; turns isolated-vm errors into HookFailures. */
  private enter(fn: () => unknown): string {
    let out: unknown;
    try {
      out = fn();
    } catch (e) {
      const message = String((e as Error)?.message ?? e);
      const wasDisposed = this.live?.isolate.isDisposed ?? true;
      this.teardown();
      if (this.closed) throw new HookFailure('disposed', 'the hook runtime was disposed during the call');
      if (wasDisposed || /memory limit/i.test(message)) throw new HookFailure('oom', 'the hook exceeded its memory limit');
      if (/timed out/i.test(message)) throw new HookFailure('timeout', 'the hook exceeded its time limit');
      throw new HookFailure('internal', cap(message, 500));
    }
    if (typeof out !== 'string' || out.length === 0) {
      this.teardown();
      throw new HookFailure('internal', 'the hook wrapper was tampered with');
    }
    return out;
  }

  private decode(tagged: string): unknown {
    const tag = tagged[0];
    const body = tagged.slice(1);
    switch (tag) {
      case 'o':
        if (body.length > this.maxResultChars) throw new HookFailure('invalid_result', 'result is too big');
        if (body === '') return undefined;
        try {
          return JSON.parse(body);
        } catch {
          throw new HookFailure('invalid_result', 'result is not JSON');
        }
      case 'e':
        throw new HookFailure('throw', cap(body));
      case 'i':
        throw new HookFailure('invalid_result', cap(body));
      case 'n':
        throw new HookFailure('internal', 'the module has no handler for this hook point');
      default:
        this.teardown();
        throw new HookFailure('internal', 'the hook wrapper was tampered with');
    }
  }

  private build(): Live {
    const isolate = new ivm.Isolate({ memoryLimit: this.memoryMb });
    try {
      const context = isolate.createContextSync();
      const boot = context.evalSync(BOOTSTRAP_SOURCE, { reference: true, timeout: this.loadTimeoutMs, filename: 'icode:hook-wrapper' }) as ivm.Reference<
        (cb: ivm.Callback, maxResult: number, maxLog: number) => unknown
      >;
      const callback = new ivm.Callback(this.onCallback);
      const api = boot.applySync(undefined, [callback, this.maxResultChars, MAX_LOG_LINE_CHARS], {
        result: { reference: true },
        timeout: this.loadTimeoutMs,
      }) as ivm.Reference<Record<string, unknown>>;
      boot.release();
      const run = api.getSync('run', { reference: true }) as ivm.Reference<RunFn>;
      const settle = api.getSync('settle', { reference: true }) as ivm.Reference<SettleFn>;
      const install = api.getSync('install', { reference: true }) as ivm.Reference<InstallFn>;
      api.release();

      const mod = isolate.compileModuleSync(this.code, { filename: this.filename });
      mod.instantiateSync(context, (specifier: string) => {
        throw new Error(`hooks cannot import modules (import of "${specifier}")`);
      });
      mod.evaluateSync({ timeout: this.loadTimeoutMs });
      const points = JSON.parse(install.applySync(undefined, [mod.namespace.derefInto()], { timeout: this.loadTimeoutMs })) as unknown;
      install.release();
      if (!Array.isArray(points) || points.length === 0) {
        throw new Error('the module exports no hook: export a default function or one named after a hook point (pre_tool…)');
      }
      this.handled = Object.freeze(points.filter(isHookPoint));
      this.builds++;
      return { isolate, context, run, settle };
    } catch (e) {
      if (!isolate.isDisposed) isolate.dispose();
      throw e;
    }
  }

  private teardown(): void {
    const live = this.live;
    this.live = null;
    if (live && !live.isolate.isDisposed) {
      try {
        live.isolate.dispose();
      } catch {
        // already gone
      }
    }
  }

  /** The only host function reachable from the isolate. Strings in, strings out; bound to the live call. */
  private readonly onCallback = (id: unknown, op: unknown, key: unknown, value: unknown): string | undefined => {
    const call = this.active;
    if (call === null || id !== call.id) throw new Error('the hook api may only be used during the call it was given to');
    if (typeof key !== 'string') throw new TypeError('bad api call');
    const { host } = call;
    switch (op) {
      case 'log':
        host.log.add(key);
        return undefined;
      case 'get':
        return host.kv.getJson(host.session, key);
      case 'set':
        if (typeof value !== 'string') throw new TypeError('kv values must be JSON data');
        host.kv.checkValue(value);
        JSON.parse(value); // never store anything but JSON text (the wrapper may have been tampered with)
        host.kv.setJson(host.session, key, value);
        return undefined;
      case 'delete':
        host.kv.delete(host.session, key);
        return undefined;
      default:
        throw new TypeError('bad api call');
    }
  };
}
