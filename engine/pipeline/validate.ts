/**
 * Stage 1, validate: is this a call that can be decided at all? A closed pipeline, an input nested too
 * deep, a request that could not be read, an unloadable policy, an unknown tool, a tool of a kind
 * nothing here runs, an input its schema refuses: each is a deny with its reason (recorded like any
 * decision by the commit stage).
 */
import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../pipeline-types.js';
import type { CallState, StageDeps } from './state.js';
import { zeroTimings } from './state.js';
import { illFormedUnicode } from '../well-formed.js';

/** Inputs nested deeper than this are refused before anything walks them recursively. */
export const MAX_INPUT_DEPTH = 64;

/** Depth of a JSON-like value, computed without recursion (an input may be nested 100 000 deep). */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_INPUT_DEPTH) return max;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return max;
}

/** The call as the stages carry it: tool name and input resolved through the registry (aliases). */
export function openCall(p: StageDeps, call: ToolCall, defaultSession: string, started: number): CallState {
  const resolved = typeof call.tool === 'string' ? p.registry.resolve(call.tool, call.input) : undefined;
  const def = resolved?.def;
  const input = resolved ? resolved.input : call.input;
  return {
    started,
    callId: call.callId ?? randomUUID(),
    session: call.session ?? defaultSession,
    agent: call.agent ?? 'main',
    tool: def?.name ?? String(call.tool),
    input,
    def,
    executor: def ? p.executorFor(def) : null,
    tooDeep: nestingDepth(input) > MAX_INPUT_DEPTH,
    decision: 'deny',
    rule: null,
    reason: '',
    effective: 'deny',
    runInput: input as Record<string, unknown>,
    context: [],
    timings: zeroTimings(),
  };
}

/** null when the call can go to the policy, else why it is denied. */
export function validate(p: StageDeps, c: CallState, malformed: string | undefined): string | null {
  if (p.closed) return 'the pipeline is closed';
  c.refusal = 'bad_input';
  if (c.tooDeep) return `input nested more than ${MAX_INPUT_DEPTH} levels deep`;
  const illFormed = illFormedUnicode(c.tool, c.input);
  if (illFormed !== null) return illFormed;
  if (malformed !== undefined) return `malformed request: ${malformed}`;
  c.refusal = 'bad_policy';
  if (!p.policy) return `the policy failed to load, so every call is denied: ${p.policyError ?? 'unknown error'}`;
  c.refusal = 'bad_input';
  if (!c.def) return `unknown tool "${c.tool}" (known: ${p.registry.names().join(', ')})`;
  c.refusal = undefined;
  if (!c.executor) return `no executor runs tools of kind "${c.def.kind}" here, so ${c.tool} cannot run`;
  const invalid = p.registry.validate(c.tool, c.input);
  if (invalid !== null) c.refusal = 'bad_input';
  return invalid === null ? null : `invalid input for ${c.tool}: ${invalid}`;
}
