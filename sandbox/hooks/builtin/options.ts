/** Small validators for builtin hook options (errors are HookConfigError). */
import { HookConfigError } from '../errors.js';

export function checkKeys(hook: string, options: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new HookConfigError(`${hook}: unknown option "${key}" (known: ${allowed.join(', ') || 'none'})`);
  }
}

export function intOption(hook: string, options: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = options[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HookConfigError(`${hook}: option "${key}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function enumOption<T extends string>(hook: string, options: Record<string, unknown>, key: string, dflt: T, choices: readonly T[]): T {
  const v = options[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !choices.includes(v as T)) throw new HookConfigError(`${hook}: option "${key}" must be one of ${choices.join(', ')}`);
  return v as T;
}

export function stringListOption(hook: string, options: Record<string, unknown>, key: string, dflt: string[]): string[] {
  const v = options[key];
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new HookConfigError(`${hook}: option "${key}" must be a list of strings`);
  return [...(v as string[])];
}
