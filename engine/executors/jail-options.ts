/** A policy's settings → the options of the shell jail (shared by the shell tool and `icode shell`). */
import type { PolicySettings } from '../../policies/index.js';
import { PROTECTED_NOT_PINNABLE } from '../../policies/types.js';
import type { JailOptions } from '../../sandbox/jail/index.js';

export function jailOptionsFor(workspace: string, settings: Readonly<PolicySettings> | undefined): JailOptions {
  return {
    workspace,
    network: settings?.network ?? false,
    env: passedEnv(settings?.env ?? []),
    protectedPaths: bindablePaths(settings?.protectedPaths ?? []),
    mode: settings?.jail ?? 'bwrap',
  };
}

/** The values of the variables a policy passes into the jail (names only come from the policy). */
function passedEnv(names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined) env[n] = v;
  }
  return env;
}

/**
 * Protected globs that name a path (`.git/hooks/**` → `.git/hooks`) become read-only binds in the jail;
 * other globs are enforced by the policy and the fs workers only.
 */
function bindablePaths(globs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of globs) {
    const p = g.replace(/\/\*\*$/, '').replace(/^\.\//, '');
    if (p && !/[*?[\]{}]/.test(p) && !p.split('/').includes('..') && !PROTECTED_NOT_PINNABLE.includes(p)) out.add(p);
  }
  return [...out];
}

