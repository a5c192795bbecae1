/** A policy's settings → the options of the shell jail (shared by the shell tool and `icode shell`). */
import { join } from 'node:path';
import type { CompiledPolicy, PolicySettings } from '../../policies/index.js';
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


/** What the change gate and the jail's mounts need from the policy beyond its settings. */
export interface GateOptions {
  readOnly: boolean;
  controlPaths: string[];
  maskedPaths: string[];
  /** Deny-read patterns at any depth (`**\/.env`), masked wherever they match (sandbox/jail/masks.ts). */
  maskedGlobs?: string[];
  /** Confirms a match with the policy itself. */
  maskCheck?: (rel: string) => boolean;
}

/**
 * - readOnly: the policy does not allow the write tool on a workspace file, so the jail mounts the workspace
 *   read-only (a shell command cannot write what the write tool may not);
 * - maskedPaths: workspace paths the policy denies reading, named literally (`.env`, `secrets/**` →
 *   `secrets`), each checked against the policy itself; plus icode's own folders inside the workspace;
 * - maskedGlobs: the deny-read patterns themselves (`**\/.env`, `**\/*.pem`): the jail masks every
 *   existing match at any depth, each confirmed by maskCheck (the policy's own decision).
 */
export function gateOptionsFor(workspace: string, policy: CompiledPolicy | null, controls: { inside: string[]; hiddenInside: string[] }): GateOptions {
  const masked = new Set<string>(controls.hiddenInside);
  const globs = new Set<string>();
  let readOnly = false;
  if (policy) {
    readOnly = policy.decide({ tool: 'write', input: { path: join(workspace, '.icode-write-probe'), content: '' }, workspace }).decision !== 'allow';
    for (const r of policy.rules) {
      if (r.decision !== 'deny' || !r.matchesTool('read') || r.commands || r.matchesAgent) continue;
      const pats = r.doc.paths === undefined ? [] : Array.isArray(r.doc.paths) ? r.doc.paths : [r.doc.paths];
      for (const raw of pats) {
        if (typeof raw !== 'string') continue;
        if (!raw.startsWith('/') && !raw.startsWith('~') && !raw.split('/').includes('..')) globs.add(raw.replace(/^\.\//, ''));
        const p = raw.replace(/^\.\//, '').replace(/^\*\*\//, '').replace(/\/\*\*$/, '');
        if (!p || /[*?[\]{}!]/.test(p) || p.startsWith('/') || p.startsWith('~') || p.split('/').includes('..')) continue;
        if (policy.decide({ tool: 'read', input: { path: join(workspace, p) }, workspace }).decision === 'deny') masked.add(p);
      }
    }
  }
  const check = (rel: string): boolean => policy?.decide({ tool: 'read', input: { path: join(workspace, rel) }, workspace }).decision === 'deny';
  return { readOnly, controlPaths: controls.inside, maskedPaths: [...masked], ...(globs.size ? { maskedGlobs: [...globs], maskCheck: check } : {}) };
}
