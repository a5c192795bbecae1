import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallLog } from '../../sandbox/hooks/call-log.js';
import { HookConfigError, HookFailure } from '../../sandbox/hooks/errors.js';
import { IsolateHook } from '../../sandbox/hooks/isolate-runtime.js';
import { KvStore } from '../../sandbox/hooks/kv.js';

const GOOD = `export default function (event) { return { decision: event.input.command === 'bad' ? 'deny' : 'allow' }; }`;

function host(session = 's1', kv = new KvStore()) {
  return { session, kv, log: new CallLog() };
}

function failureOf(fn: () => unknown): HookFailure {
  try {
    fn();
  } catch (e) {
    if (e instanceof HookFailure) return e;
    throw new Error(`expected a HookFailure, got ${String(e)}`);
  }
  throw new Error('expected the call to fail');
}

const ev = (command: string) => JSON.stringify({ point: 'pre_tool', session: 's1', agent: 'main', tool: 'shell', input: { command } });

/** A module whose pre_tool handler runs `body`, and which answers {decision:'allow', n} otherwise. */
function hostile(body: string): string {
  return `let n = 0;
export function pre_tool(event, api) {
  n++;
  if (event.input.command === 'attack') { ${body} }
  return { decision: 'allow', reason: 'calls ' + n };
}`;
}

describe('IsolateHook: a working hook', () => {
  let hook: IsolateHook;
  beforeAll(() => {
    hook = IsolateHook.fromSource(GOOD);
  });
  afterAll(() => hook.dispose());

  it('answers per call with a fresh event and copied results', () => {
    expect(hook.points).toContain('pre_tool');
    expect(hook.invoke('pre_tool', ev('bad'), host())).toEqual({ decision: 'deny' });
    expect(hook.invoke('pre_tool', ev('ls'), host())).toEqual({ decision: 'allow' });
    expect(hook.builds).toBe(1);
  });
});

describe('IsolateHook: hostile and broken hooks', () => {
  const cases: { name: string; body: string; kind: HookFailure['kind']; timeoutMs?: number; rebuilt: boolean }[] = [
    { name: 'infinite loop', body: 'for (;;) {}', kind: 'timeout', rebuilt: true },
    { name: 'loop inside a promise executor', body: 'return (async () => { await new Promise((r) => { while (true) {} }); })();', kind: 'timeout', rebuilt: true },
    { name: 'loop in a then callback', body: 'return Promise.resolve().then(() => { for (;;) {} });', kind: 'timeout', rebuilt: true },
    { name: 'loop in a fire-and-forget microtask', body: 'Promise.resolve().then(() => { for (;;) {} }); return {};', kind: 'timeout', rebuilt: true },
    { name: 'long await chain then loop', body: 'return (async () => { for (let i = 0; i < 1000; i++) await null; for (;;) {} })();', kind: 'timeout', rebuilt: true },
    { name: 'never-settling promise', body: 'return new Promise(() => {});', kind: 'never_settled', rebuilt: true },
    { name: 'memory bomb', body: 'const a = []; for (;;) a.push(new Array(1e5).fill(1));', kind: 'oom', timeoutMs: 20000, rebuilt: true },
    { name: 'string memory bomb', body: "let s = 'x'; const keep = []; for (;;) { s = s + s + 'y'; keep.push(s); }", kind: 'throw', timeoutMs: 20000, rebuilt: false },
    { name: 'reaching for process', body: 'return { reason: String(process.pid) };', kind: 'throw', rebuilt: false },
    { name: 'reaching for require', body: "return { reason: String(require('fs')) };", kind: 'throw', rebuilt: false },
    { name: 'Function constructor escape', body: "return { reason: String(globalThis.constructor.constructor('return process')().pid) };", kind: 'throw', rebuilt: false },
    { name: 'dynamic import', body: "return import('node:fs').then((fs) => ({ reason: String(fs.readFileSync) }));", kind: 'throw', rebuilt: false },
    { name: 'throwing a non-Error', body: 'throw 42;', kind: 'throw', rebuilt: false },
    { name: 'throwing null', body: 'throw null;', kind: 'throw', rebuilt: false },
    { name: 'throwing an object with a hostile getter', body: "throw { get message() { throw new Error('gotcha'); } };", kind: 'throw', rebuilt: false },
    { name: 'async rejection', body: "return Promise.reject(new TypeError('nope'));", kind: 'throw', rebuilt: false },
    { name: 'returning a function', body: 'return { decision: () => "allow" };', kind: 'invalid_result', rebuilt: false },
    { name: 'returning a symbol', body: "return { reason: Symbol('x') };", kind: 'invalid_result', rebuilt: false },
    { name: 'returning a bigint', body: 'return { reason: 10n };', kind: 'invalid_result', rebuilt: false },
    { name: 'returning a cycle', body: 'const o = {}; o.self = o; return o;', kind: 'invalid_result', rebuilt: false },
    { name: 'returning a huge string', body: "return { reason: 'x'.repeat(3 * 1024 * 1024) };", kind: 'invalid_result', rebuilt: false },
    { name: 'returning NaN', body: 'return { n: NaN };', kind: 'invalid_result', rebuilt: false },
    { name: 'a toJSON that loops', body: 'return { toJSON() { for (;;) {} } };', kind: 'timeout', rebuilt: true },
    { name: 'a promise resolving to a function', body: 'return Promise.resolve(() => 1);', kind: 'invalid_result', rebuilt: false },
  ];

  for (const c of cases) {
    it(`survives ${c.name}; the next call works`, () => {
      const hook = IsolateHook.fromSource(hostile(c.body), { timeoutMs: c.timeoutMs ?? 200, memoryMb: 16 });
      try {
        expect(hook.invoke('pre_tool', ev('warmup'), host())).toEqual({ decision: 'allow', reason: 'calls 1' });
        const failure = failureOf(() => hook.invoke('pre_tool', ev('attack'), host()));
        expect(failure.kind).toBe(c.kind);
        const next = hook.invoke('pre_tool', ev('ls'), host()) as { decision: string; reason: string };
        expect(next.decision).toBe('allow');
        // A rebuilt isolate starts its module state afresh; a kept one goes on counting.
        expect(next.reason).toBe(c.rebuilt ? 'calls 1' : 'calls 3');
        expect(hook.builds).toBe(c.rebuilt ? 2 : 1);
      } finally {
        hook.dispose();
      }
    });
  }

  it('describes a thrown non-Error without calling into it', () => {
    const hook = IsolateHook.fromSource(hostile('throw 42;'));
    try {
      expect(failureOf(() => hook.invoke('pre_tool', ev('attack'), host())).message).toMatch(/non-Error value thrown \(number\)/);
    } finally {
      hook.dispose();
    }
  });
});

describe('IsolateHook: what the sandbox exposes', () => {
  it('offers no Node globals, no host references, no async sources', () => {
    const hook = IsolateHook.fromSource(`export default function (event, api) {
      const names = Object.getOwnPropertyNames(globalThis);
      const suspicious = names.filter((n) => /ivm|isolated|callback|__|require|process|^Buffer$|setTimeout|setImmediate|fetch|WebAssembly|Atomics|SharedArrayBuffer|FinalizationRegistry/i.test(n));
      const apiKeys = Object.getOwnPropertyNames(api).concat(Object.getOwnPropertyNames(api.kv));
      let fnEscape = 'none';
      try { fnEscape = api.log.constructor('return typeof process')(); } catch (e) { fnEscape = 'threw'; }
      return { context: JSON.stringify({ suspicious, apiKeys, frozen: Object.isFrozen(api) && Object.isFrozen(api.kv), fnEscape }) };
    }`);
    try {
      const r = hook.invoke('pre_tool', ev('x'), host()) as { context: string };
      const info = JSON.parse(r.context) as { suspicious: string[]; apiKeys: string[]; frozen: boolean; fnEscape: string };
      expect(info.suspicious).toEqual([]);
      expect(info.apiKeys.sort()).toEqual(['delete', 'get', 'kv', 'log', 'set']);
      expect(info.frozen).toBe(true);
      expect(info.fnEscape).toBe('undefined');
    } finally {
      hook.dispose();
    }
  });

  it('refuses a leaked api used after its call (a stashed reference)', () => {
    const hook = IsolateHook.fromSource(`let saved;
    export default function (event, api) {
      if (event.input.command === 'stash') { saved = api; return {}; }
      try { saved.kv.set('stolen', 1); return { reason: 'leak worked' }; } catch (e) { return { reason: 'refused: ' + e.message }; }
    }`);
    try {
      const kv = new KvStore();
      hook.invoke('pre_tool', ev('stash'), host('victim', kv));
      const r = hook.invoke('pre_tool', ev('use'), host('other', kv)) as { reason: string };
      expect(r.reason).toMatch(/^refused: .*only be used during the call/);
      expect(kv.get('victim', 'stolen')).toBeUndefined();
    } finally {
      hook.dispose();
    }
  });

  it('keeps kv per session, copied both ways, and bounded', () => {
    const hook = IsolateHook.fromSource(`export default function (event, api) {
      const seen = api.kv.get('seen') ?? [];
      seen.push(event.input.command);
      api.kv.set('seen', seen);
      seen.push('mutated after set');
      let big = 'ok';
      try { api.kv.set('big', 'x'.repeat(100000)); } catch (e) { big = 'refused'; }
      api.log('seen', seen.length, { s: event.session });
      return { reason: JSON.stringify(api.kv.get('seen')) + ' ' + big };
    }`);
    try {
      const kv = new KvStore();
      const a1 = host('a', kv);
      expect(hook.invoke('pre_tool', ev('one'), a1)).toEqual({ reason: '["one"] refused' });
      expect(a1.log.result()).toEqual(['seen 2 {"s":"s1"}']);
      expect(hook.invoke('pre_tool', ev('two'), host('a', kv))).toEqual({ reason: '["one","two"] refused' });
      expect(hook.invoke('pre_tool', ev('three'), host('b', kv))).toEqual({ reason: '["three"] refused' });
      expect(kv.get('a', 'seen')).toEqual(['one', 'two']);
    } finally {
      hook.dispose();
    }
  });

  it('supports async hooks and named exports per point', () => {
    const hook = IsolateHook.fromSource(`
      export async function pre_tool(event) { await null; return { decision: 'ask', reason: 'async ' + event.tool }; }
      export function post_tool(event) { return { output: event.output.toUpperCase() }; }`);
    try {
      expect([...hook.points].sort()).toEqual(['post_tool', 'pre_tool']);
      expect(hook.invoke('pre_tool', ev('x'), host())).toEqual({ decision: 'ask', reason: 'async shell' });
      expect(hook.invoke('post_tool', JSON.stringify({ output: 'abc' }), host())).toEqual({ output: 'ABC' });
    } finally {
      hook.dispose();
    }
  });

  it('refuses modules that import, export nothing, or fail at load', () => {
    expect(() => IsolateHook.fromSource(`import fs from 'node:fs'; export default () => ({})`)).toThrow(HookConfigError);
    expect(() => IsolateHook.fromSource(`export const x = 1;`)).toThrow(/exports no hook/);
    expect(() => IsolateHook.fromSource(`for (;;) {} export default () => ({})`, { loadTimeoutMs: 100 })).toThrow(HookConfigError);
    expect(() => IsolateHook.fromSource(`export default function (`)).toThrow(HookConfigError);
  });

  it('survives a hook that tampers with the intrinsics the wrapper uses', () => {
    const hook = IsolateHook.fromSource(`
      JSON.stringify = () => '{"decision":"allow"}';
      JSON.parse = () => ({ input: { command: 'forged' } });
      Promise.prototype.then = function () { return this; };
      Object.freeze = (o) => o;
      export default async function (event) { return { decision: 'deny', reason: event.input.command }; }`);
    try {
      expect(hook.invoke('pre_tool', ev('real'), host())).toEqual({ decision: 'deny', reason: 'real' });
    } finally {
      hook.dispose();
    }
  });

  it('a hook that keeps timing out fails fast after three calls, without running', () => {
    const hook = IsolateHook.fromSource(hostile('for (;;) {}'), { timeoutMs: 100 });
    try {
      for (let i = 0; i < 3; i++) expect(failureOf(() => hook.invoke('pre_tool', ev('attack'), host())).kind).toBe('timeout');
      const builds = hook.builds;
      // Not run: no isolate is rebuilt and the answer says so (its speed is measured in bench/ hooks).
      const fast = failureOf(() => hook.invoke('pre_tool', ev('ls'), host()));
      expect(fast.kind).toBe('timeout');
      expect(fast.message).toMatch(/^not run: failed 3 times in a row/);
      expect(hook.builds).toBe(builds);
    } finally {
      hook.dispose();
    }
  });

  it('fails every call once disposed', () => {
    const hook = IsolateHook.fromSource(GOOD);
    hook.dispose();
    expect(failureOf(() => hook.invoke('pre_tool', ev('x'), host())).kind).toBe('disposed');
  });
});
