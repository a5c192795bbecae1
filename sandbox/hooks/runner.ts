/**
 * HookRunner: loads the hooks of a configuration once (isolates warm, builtins built, commands checked),
 * then, per event, runs the hooks whose matcher fits, in declaration order, folds their results
 * (merge.ts) and records one outcome per hook. A failing hook never throws out of `run`: its failure
 * becomes its `on_error` behaviour, with the reason in the outcome.
 */
import { resolve } from 'node:path';
import { createBuiltin, type BuiltinHook } from './builtin/index.js';
import { CallLog } from './call-log.js';
import { claudeHookInput, commandArgv, interpretCommandRun } from './command-hook.js';
import { parseHooksConfig } from './config.js';
import { HookConfigError, HookFailure, describeError } from './errors.js';
import { makeHostApi } from './host-api.js';
import { DEFAULT_TIMEOUT_MS, IsolateHook } from './isolate-runtime.js';
import { DEFAULT_KV_LIMITS, KvStore, type KvLimits } from './kv.js';
import { compileMatch, type MatchSubject } from './matcher.js';
import { Accumulator } from './merge.js';
import { stableStringify } from './stable-json.js';
import {
  DEFAULT_ON_ERROR,
  HOOK_POINTS,
  type HookDeclaration,
  type HookEvent,
  type HookEventInput,
  type HookKind,
  type HookOutcome,
  type HookPoint,
  type MergedResultMap,
  type OnError,
  type RunCommandHook,
} from './types.js';
import { validateResult } from './validate.js';

export interface HookRunnerOptions {
  /** Folder that relative `script` paths are resolved against (the policy file's folder). */
  baseDir: string;
  /** Runs command hooks (the lead injects the shell jail). Without it, declaring a command hook fails. */
  runCommandHook?: RunCommandHook;
  kvLimits?: KvLimits;
}

export interface RunResult<P extends HookPoint> {
  result: MergedResultMap[P];
  outcomes: HookOutcome[];
}

/** A summary of one loaded hook (for `icode hooks list` and diagnostics). */
export interface LoadedHook {
  point: HookPoint;
  index: number;
  name: string;
  kind: HookKind;
  match?: HookDeclaration['match'];
  onError: OnError;
  timeoutMs: number;
}

interface CallReturn {
  raw: unknown;
  note?: string;
}

interface PreparedHook extends LoadedHook {
  matches: (s: MatchSubject) => boolean;
  store: KvStore | null;
  call(event: HookEvent, log: CallLog): CallReturn | Promise<CallReturn>;
}

const COMMAND_TIMEOUT_MS = 10_000;
/** Script calls run synchronously on the host thread: their bound stays short. */
const MAX_SCRIPT_TIMEOUT_MS = 30_000;
const BUILTIN_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HookFailure('timeout', `${what} exceeded ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export class HookRunner {
  private readonly byPoint = new Map<HookPoint, PreparedHook[]>();
  private readonly isolates = new Map<string, IsolateHook>();
  private readonly builtins = new Map<string, BuiltinHook>();
  private readonly stores = new Map<string, KvStore>();
  private closed = false;

  private constructor(private readonly opts: HookRunnerOptions) {}

  /** Validates the configuration and loads every hook. Throws HookConfigError on any problem. */
  static async create(config: unknown, opts: HookRunnerOptions): Promise<HookRunner> {
    const parsed = parseHooksConfig(config);
    const runner = new HookRunner(opts);
    try {
      for (const point of HOOK_POINTS) {
        const list = parsed[point] ?? [];
        const prepared: PreparedHook[] = [];
        for (let i = 0; i < list.length; i++) prepared.push(await runner.prepare(point, list[i], i));
        if (prepared.length > 0) runner.byPoint.set(point, prepared);
      }
    } catch (e) {
      runner.dispose();
      throw e;
    }
    return runner;
  }

  /** True when some hook is declared for the point (callers may skip building the event otherwise). */
  has(point: HookPoint): boolean {
    return (this.byPoint.get(point)?.length ?? 0) > 0;
  }

  list(): LoadedHook[] {
    return [...this.byPoint.values()].flat().map(({ point, index, name, kind, match, onError, timeoutMs }) => ({
      point,
      index,
      name,
      kind,
      ...(match ? { match } : {}),
      onError,
      timeoutMs,
    }));
  }

  /** Runs the hooks of `point` that match the event. Never throws for a hook's failure. */
  async run<P extends HookPoint>(point: P, input: HookEventInput<P>): Promise<RunResult<P>> {
    let event = { ...input, point } as unknown as HookEvent;
    if (typeof event.session !== 'string') event = { ...event, session: '' };
    const acc = new Accumulator(point);
    const outcomes: HookOutcome[] = [];
    const subject: MatchSubject = { tool: (event as { tool?: string }).tool, agent: event.agent };
    for (const hook of this.byPoint.get(point) ?? []) {
      if (!hook.matches(subject)) continue;
      const base = { hook: hook.name, kind: hook.kind, point, index: hook.index };
      if (point === 'pre_tool' && acc.decision === 'deny') {
        outcomes.push({ ...base, status: 'skipped', note: 'an earlier hook denied the call', durationMs: 0 });
        continue;
      }
      const log = new CallLog();
      const started = performance.now();
      try {
        if (this.closed) throw new HookFailure('disposed', 'the hook runner was disposed');
        const returned = hook.call(event, log);
        const { raw, note } = isPromise(returned) ? await returned : returned;
        const result = validateResult(point, raw);
        acc.add(hook.name, result);
        if (event.point === 'pre_tool' && acc.input) event = { ...event, input: acc.input };
        if (event.point === 'post_tool' && acc.output !== undefined) event = { ...event, output: acc.output };
        outcomes.push({ ...base, status: 'ok', result, ...(note ? { note } : {}), ...this.logs(log), durationMs: performance.now() - started });
      } catch (e) {
        const failure = e instanceof HookFailure ? e : new HookFailure(hook.kind === 'builtin' ? 'throw' : 'internal', describeError(e));
        acc.fail(hook.name, hook.onError, `${failure.kind}: ${failure.message}`);
        if (event.point === 'post_tool' && acc.output !== undefined) event = { ...event, output: acc.output };
        outcomes.push({
          ...base,
          status: 'failed',
          failure: failure.kind,
          error: failure.message,
          applied: hook.onError,
          ...this.logs(log),
          durationMs: performance.now() - started,
        });
      }
    }
    return { result: acc.result<P>(), outcomes };
  }

  /**
   * Sets a key in the per-session store of the hooks named `hook` (e.g. `disabled: true` switches
   * todo_continuation_enforcer off for a session). Returns false when no hook has that name.
   */
  setKv(hook: string, session: string, key: string, value: unknown): boolean {
    const stores = new Set([...this.byPoint.values()].flat().filter((h) => h.name === hook && h.store).map((h) => h.store!));
    for (const store of stores) store.set(session, key, value);
    return stores.size > 0;
  }

  /** Forgets every hook's per-session store of `session`. */
  endSession(session: string): void {
    for (const store of this.stores.values()) store.endSession(session);
  }

  dispose(): void {
    this.closed = true;
    for (const iso of this.isolates.values()) iso.dispose();
    this.isolates.clear();
  }

  // -------------------------------------------------------------------------------------------------

  private logs(log: CallLog): { logs?: string[] } {
    const lines = log.result();
    return lines ? { logs: lines } : {};
  }

  private store(key: string): KvStore {
    let store = this.stores.get(key);
    if (!store) this.stores.set(key, (store = new KvStore(this.opts.kvLimits ?? DEFAULT_KV_LIMITS)));
    return store;
  }

  private async prepare(point: HookPoint, decl: HookDeclaration, index: number): Promise<PreparedHook> {
    const common = { point, index, matches: compileMatch(decl.match), ...(decl.match ? { match: decl.match } : {}) };
    if (decl.script !== undefined) return this.prepareScript(point, decl, decl.script, common);
    if (decl.builtin !== undefined) return this.prepareBuiltin(point, decl, decl.builtin, common);
    return this.prepareCommand(point, decl, decl.command!, common);
  }

  private async prepareScript(
    point: HookPoint,
    decl: HookDeclaration,
    script: string,
    common: Pick<PreparedHook, 'point' | 'index' | 'matches' | 'match'>,
  ): Promise<PreparedHook> {
    if ((decl.timeout_ms ?? 0) > MAX_SCRIPT_TIMEOUT_MS) {
      throw new HookConfigError(`${script}: timeout_ms of a script hook is at most ${MAX_SCRIPT_TIMEOUT_MS} (it blocks icode while it runs)`);
    }
    const file = resolve(this.opts.baseDir, script);
    const key = `${file}#${decl.memory_mb ?? ''}`;
    let iso = this.isolates.get(key);
    if (!iso) {
      iso = await IsolateHook.fromFile(file, { memoryMb: decl.memory_mb });
      this.isolates.set(key, iso);
    }
    if (!iso.points.includes(point)) throw new HookConfigError(`${script}: the module has no handler for ${point}`);
    const store = this.store(`script:${file}`);
    const timeoutMs = decl.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const hook = iso;
    return {
      ...common,
      name: decl.name ?? script,
      kind: 'script',
      onError: decl.on_error ?? DEFAULT_ON_ERROR[point],
      timeoutMs,
      store,
      call(event, log) {
        let json: string;
        try {
          json = JSON.stringify(event);
        } catch {
          throw new HookFailure('internal', 'the event is not JSON data');
        }
        return { raw: hook.invoke(point, json, { session: event.session, kv: store, log }, timeoutMs) };
      },
    };
  }

  private async prepareBuiltin(
    point: HookPoint,
    decl: HookDeclaration,
    name: string,
    common: Pick<PreparedHook, 'point' | 'index' | 'matches' | 'match'>,
  ): Promise<PreparedHook> {
    const options = decl.options ?? {};
    const key = `${name}:${stableStringify(options)}`;
    let builtin = this.builtins.get(key);
    if (!builtin) {
      builtin = await createBuiltin(name, options);
      this.builtins.set(key, builtin);
    }
    if (!builtin.points.includes(point)) {
      throw new HookConfigError(`builtin ${name} does not run at ${point} (it runs at ${builtin.points.join(', ')})`);
    }
    const store = this.store(`builtin:${key}`);
    const timeoutMs = decl.timeout_ms ?? BUILTIN_TIMEOUT_MS;
    const impl = builtin;
    return {
      ...common,
      name: decl.name ?? name,
      kind: 'builtin',
      onError: decl.on_error ?? impl.defaultOnError?.[point] ?? DEFAULT_ON_ERROR[point],
      timeoutMs,
      store,
      call(event, log) {
        const raw = impl.invoke(point, event, makeHostApi(store, event.session, log));
        if (isPromise(raw)) return withTimeout(raw, timeoutMs, `builtin ${name}`).then((r) => ({ raw: r }));
        return { raw };
      },
    };
  }

  private prepareCommand(
    point: HookPoint,
    decl: HookDeclaration,
    command: string | string[],
    common: Pick<PreparedHook, 'point' | 'index' | 'matches' | 'match'>,
  ): PreparedHook {
    const runCommand = this.opts.runCommandHook;
    const label = typeof command === 'string' ? command : command.join(' ');
    if (!runCommand) throw new HookConfigError(`command hook "${label}": no command runner is available here`);
    const argv = commandArgv(command);
    const timeoutMs = decl.timeout_ms ?? COMMAND_TIMEOUT_MS;
    return {
      ...common,
      name: decl.name ?? label,
      kind: 'command',
      onError: decl.on_error ?? DEFAULT_ON_ERROR[point],
      timeoutMs,
      store: null,
      async call(event, log) {
        const stdin = JSON.stringify(claudeHookInput(point, event));
        let run;
        try {
          // The runner enforces the timeout; the race is a backstop for a runner that hangs.
          run = await withTimeout(runCommand(argv, stdin, { timeoutMs, cwd: event.cwd }), timeoutMs + 2000, 'the command hook');
        } catch (e) {
          if (e instanceof HookFailure) throw e;
          throw new HookFailure('command', `cannot run the command hook: ${describeError(e)}`);
        }
        const stderr = run.stderr.trim();
        if (stderr) for (const line of stderr.split('\n').slice(0, 20)) log.add(line);
        const { result, note } = interpretCommandRun(point, run, event, timeoutMs);
        return { raw: result, note };
      },
    };
  }
}
