/**
 * The policy's deny/ask path rules as plain data for the fs worker (sandbox/fs/guard.ts), which
 * re-applies them to resolved paths: an alias (symlink, `..` through a link, a case variant) or a tree
 * walk (grep/glob/list over the root) never reaches what a rule denies.
 */
import type { CompiledPolicy } from '../../policies/compiler/compiled.js';
import { asList } from '../../policies/compiler/doc.js';
import { FS_READ_TOOLS, FS_WRITE_TOOLS } from '../../policies/tools.js';
import type { FsGuardRule } from '../../sandbox/fs/types.js';

/**
 * Rules that can make a path stricter: deny/ask, with path patterns, for some fs tool, not limited to
 * paths outside the workspace or to commands/hosts. A rule limited to an agent is kept for every agent
 * (stricter, never looser: the worker does not know the agent).
 */
export function fsGuardRules(policy: CompiledPolicy): FsGuardRule[] {
  const out: FsGuardRule[] = [];
  for (const rule of policy.rules) {
    if (rule.decision === 'allow' || rule.doc.paths === undefined) continue;
    if (rule.commands || rule.matchesHost || rule.outside === true) continue;
    if (rule.id === 'builtin:protected-paths') continue; // the worker's own protected-path check
    const read = FS_READ_TOOLS.some((t) => rule.matchesTool(t));
    const write = FS_WRITE_TOOLS.some((t) => rule.matchesTool(t));
    if (!read && !write) continue;
    const patterns = asList(rule.doc.paths).map((p) => (p === '~' || p.startsWith('~/') ? policy.home + p.slice(1) : p));
    out.push({ decision: rule.decision, read, write, patterns });
  }
  return out;
}
