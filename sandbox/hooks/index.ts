/**
 * The engine's entry into the hooks engine (sandbox/hooks): the runner and the event/result types.
 * Modules with one user (the CLI's `icode hooks`, the bench, the tests) import their module directly.
 * See docs/hooks.md.
 */
export * from './types.js';
export { HookRunner } from './runner.js';
