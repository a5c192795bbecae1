/**
 * Source of the wrapper that runs inside each hook isolate, before the hook module is evaluated.
 *
 * It is NOT a security boundary (the hook shares its context and may tamper with it): the host validates
 * everything that comes out. Its jobs are speed (one cheap `applySync` per call with a JSON string in and
 * a tagged string out) and a safe API: the host callback lives only in this closure, never on the global
 * object, and it accepts and returns strings only.
 *
 * Protocol of `run(id, point, eventJson)` and `settle(id)`, one tagged string:
 *   'o' + JSON   result (empty JSON = no opinion)      'p'  result is a promise not settled yet
 *   'e' + text   the hook threw or rejected             'i' + text  the result is not plain JSON data
 *   'n'          the module has no handler for the point
 * `install(namespace)` wires the module's exports and returns the JSON list of points it handles.
 */
import { HOOK_POINTS } from './types.js';

export const BOOTSTRAP_SOURCE = `(function (cb, maxResult, maxLog) {
  'use strict';
  const G = globalThis;
  const POINTS = ${JSON.stringify(HOOK_POINTS)};
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, apply = Reflect.apply;
  const P = Promise, resolve = P.resolve.bind(P), then = P.prototype.then, Str = String;
  const keys = Object.keys;
  // Sources of work that could run outside a call (and Atomics.waitAsync aborts the host process).
  for (const k of ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'FinalizationRegistry']) delete G[k];

  let fns = freeze({});
  let slot = null;

  function replacer(key, value) {
    const t = typeof value;
    if (t === 'function' || t === 'symbol' || t === 'bigint') {
      throw new TypeError('result holds a ' + t + (key === '' ? '' : ' at "' + key + '"'));
    }
    if (t === 'number' && !(value - value === 0)) throw new TypeError('result holds a non-finite number');
    return value;
  }
  function encode(v) {
    if (v === undefined || v === null) return '';
    const s = stringify(v, replacer);
    if (s === undefined) return '';
    if (s.length > maxResult) throw new RangeError('result is too big (' + s.length + ' > ' + maxResult + ' characters)');
    return s;
  }
  function describe(e) {
    try {
      if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
        return (typeof e.name === 'string' ? e.name : 'Error') + ': ' + e.message;
      }
      if (typeof e === 'string') return 'thrown string: ' + e;
      return 'non-Error value thrown (' + (e === null ? 'null' : typeof e) + ')';
    } catch (_) {
      return 'unprintable value thrown';
    }
  }
  function show(a) {
    if (typeof a === 'string') return a;
    try { const s = stringify(a); return s === undefined ? Str(a) : s; } catch (_) { return '[unprintable]'; }
  }
  function makeApi(id) {
    const kv = freeze({
      get(key) { const s = cb(id, 'get', Str(key)); return s === undefined ? undefined : parse(s); },
      set(key, value) {
        if (value === undefined) { cb(id, 'delete', Str(key)); return; }
        cb(id, 'set', Str(key), stringify(value, replacer));
      },
      delete(key) { cb(id, 'delete', Str(key)); },
    });
    return freeze({
      log(...args) {
        let line = '';
        for (let i = 0; i < args.length && line.length < maxLog; i++) line += (i ? ' ' : '') + show(args[i]);
        cb(id, 'log', line.length > maxLog ? line.slice(0, maxLog) : line);
      },
      kv,
    });
  }
  function isThenable(r) {
    return r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function';
  }
  function finish(v) {
    try { return 'o' + encode(v); } catch (e) { return 'i' + describe(e); }
  }
  function run(id, point, eventJson) {
    slot = null;
    const fn = fns[point];
    if (typeof fn !== 'function') return 'n';
    let r;
    try {
      r = fn(parse(eventJson), makeApi(id));
      if (isThenable(r)) {
        const s = { id, state: 0, value: undefined };
        slot = s;
        apply(then, resolve(r), [(v) => { s.state = 1; s.value = v; }, (e) => { s.state = 2; s.value = e; }]);
        return 'p';
      }
    } catch (e) {
      return 'e' + describe(e);
    }
    return finish(r);
  }
  function settle(id) {
    const s = slot;
    if (s === null || s.id !== id) return 'eno pending result';
    if (s.state === 0) return 'p';
    slot = null;
    return s.state === 2 ? 'e' + describe(s.value) : finish(s.value);
  }
  function install(ns) {
    const table = {};
    const def = ns.default;
    for (const p of POINTS) {
      const named = ns[p];
      if (typeof named === 'function') table[p] = named;
      else if (typeof def === 'function') table[p] = def;
      else if (def !== null && typeof def === 'object' && typeof def[p] === 'function') {
        const m = def[p];
        table[p] = (event, api) => apply(m, def, [event, api]);
      }
    }
    fns = freeze(table);
    return stringify(keys(table));
  }
  return freeze({ run, settle, install });
})`;
