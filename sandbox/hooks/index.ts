/** Public entry of the hooks engine (sandbox/hooks). See docs/hooks.md. */
export * from './types.js';
export { hookConfigSchema } from './schema.js';
export { parseHooksConfig } from './config.js';
export { HookConfigError, HookFailure } from './errors.js';
export { HookRunner, type HookRunnerOptions, type RunResult, type LoadedHook } from './runner.js';
export { IsolateHook, type IsolateHookOptions, type CallHost } from './isolate-runtime.js';
export { KvStore, DEFAULT_KV_LIMITS, type KvLimits } from './kv.js';
export { CallLog } from './call-log.js';
export { BUILTIN_HOOKS, createBuiltin, type BuiltinHook } from './builtin/index.js';
export { redactSecrets, SECRET_PATTERNS, type RedactionResult } from './builtin/secret-patterns.js';
export { claudeHookInput, interpretCommandRun, CLAUDE_EVENT_NAMES, CLAUDE_TOOL_NAMES } from './command-hook.js';
