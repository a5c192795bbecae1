/**
 * Validation of what one hook returned, per hook point. Anything that is not exactly the documented
 * shape (unknown keys, wrong types) is a failure: a hook cannot smuggle in fields the caller might
 * misread. `undefined`/`null`/`{}` mean "no opinion".
 */
import { HookFailure } from './errors.js';
import type { HookPoint, HookResultMap } from './types.js';

const DECISIONS = new Set(['allow', 'ask', 'deny']);
const MAX_TEXT = 64 * 1024;

type FieldCheck = (v: unknown) => string | null;

const text: FieldCheck = (v) => (typeof v !== 'string' ? 'must be a string' : v.length > MAX_TEXT ? `is longer than ${MAX_TEXT} characters` : null);
const anyString: FieldCheck = (v) => (typeof v === 'string' ? null : 'must be a string');
const bool: FieldCheck = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const decision: FieldCheck = (v) => (typeof v === 'string' && DECISIONS.has(v) ? null : 'must be "allow", "ask" or "deny"');
const object: FieldCheck = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'must be an object');

const SHAPES: Readonly<Record<HookPoint, Record<string, FieldCheck>>> = {
  session_start: { context: text },
  user_prompt: { context: text, block: bool, reason: text },
  pre_tool: { decision, reason: text, input: object, context: text },
  post_tool: { output: anyString, context: text },
  stop: { block: bool, message: text },
  subagent_stop: { block: bool, message: text },
  pre_compact: { context: text, block: bool, reason: text },
};

function isPlainData(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isPlainData(x, depth + 1));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every((x) => isPlainData(x, depth + 1));
  }
  return false;
}

/** Returns the result typed for its point, or throws HookFailure('invalid_result'). */
export function validateResult<P extends HookPoint>(point: P, raw: unknown): HookResultMap[P] {
  if (raw === undefined || raw === null) return {} as HookResultMap[P];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new HookFailure('invalid_result', `a ${point} hook must return an object, not ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const shape = SHAPES[point];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    // Own fields only: `isPrototypeOf` or `__proto__` must not find Object.prototype's members.
    const check = Object.prototype.hasOwnProperty.call(shape, key) ? shape[key] : undefined;
    if (typeof check !== 'function') throw new HookFailure('invalid_result', `unknown field "${key}" in a ${point} result (expected ${Object.keys(shape).join(', ')})`);
    if (value === undefined) continue;
    const problem = check(value);
    if (problem) throw new HookFailure('invalid_result', `"${key}" ${problem}`);
    if (key === 'input' && !isPlainData(value)) throw new HookFailure('invalid_result', '"input" must be plain JSON data');
    out[key] = value;
  }
  return out as HookResultMap[P];
}
