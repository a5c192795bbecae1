/** Registry of the built-in hooks, by name. */
import { HookConfigError } from '../errors.js';
import { createDangerousCommandGuard, DANGEROUS_COMMAND_GUARD } from './dangerous-command-guard.js';
import { createDoomLoopGuard, DOOM_LOOP_GUARD } from './doom-loop.js';
import { createSecretRedactor, SECRET_REDACTOR } from './secret-redactor.js';
import { createTodoContinuationEnforcer, TODO_ENFORCER } from './todo-continuation.js';
import type { BuiltinFactory, BuiltinHook } from './types.js';

export type { BuiltinHook, BuiltinFactory } from './types.js';

export const BUILTIN_HOOKS: Readonly<Record<string, BuiltinFactory>> = Object.freeze({
  [TODO_ENFORCER]: createTodoContinuationEnforcer,
  [SECRET_REDACTOR]: createSecretRedactor,
  [DOOM_LOOP_GUARD]: createDoomLoopGuard,
  [DANGEROUS_COMMAND_GUARD]: createDangerousCommandGuard,
});

export async function createBuiltin(name: string, options: Record<string, unknown> = {}): Promise<BuiltinHook> {
  const factory = Object.hasOwn(BUILTIN_HOOKS, name) ? BUILTIN_HOOKS[name] : undefined;
  if (!factory) throw new HookConfigError(`unknown builtin hook "${name}" (known: ${Object.keys(BUILTIN_HOOKS).join(', ')})`);
  return factory(options);
}
