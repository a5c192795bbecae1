/**
 * Public entry of policies/: load and compile a policy (a file path or `builtin:NAME`).
 */
export type { Decision, ToolRequest, Verdict, TraceEntry } from './types.js';
export { loadPolicy, loadPolicyText, PolicyError } from './compiler/load.js';
export type { CompiledPolicy, PolicySettings } from './compiler/compiled.js';
export { canonicalToolName } from './tools.js';
export { decideIntersection, strictest, type Decider } from './compiler/intersect.js';
