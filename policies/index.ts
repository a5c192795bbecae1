/**
 * Public entry of policies/: load and compile a policy (a file path or `builtin:NAME`).
 */
export { loadPolicy, loadPolicyText, PolicyError } from './compiler/load.js';
export type { CompiledPolicy, PolicySettings } from './compiler/compiled.js';
export { decideIntersection } from './compiler/intersect.js';
