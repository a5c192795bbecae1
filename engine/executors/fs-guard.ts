/**
 * The policy's deny/ask path rules as plain data for the fs worker (sandbox/fs/guard.ts), which
 * re-applies them to resolved paths: an alias (symlink, `..` through a link, a case variant) or a tree
 * walk (grep/glob/list over the root) never reaches what a rule denies.
 */
import type { CompiledPolicy } from '../../policies/compiler/compiled.js';
import { SECRET_FILE_GLOBS } from '../../policies/compiler/classes.js';
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
    if (rule.decision === 'allow') continue;
    // The secret-file class (builtin:safety asks for it) decides on the name the call gives: a symlink
    // (`notes.txt -> .env`) or a walk over the tree (grep over `.`) reaches the secret under another name
    // or none. As guard globs, the worker holds resolved paths and walked entries to it too.
    if (rule.doc.paths === undefined && rule.classes?.includes('secret-file') && !rule.commands && !rule.matchesHost && rule.outside !== true && rule.args === null) {
      if (FS_READ_TOOLS.some((t) => rule.matchesTool(t))) out.push({ decision: rule.decision, read: true, write: false, patterns: [...SECRET_FILE_GLOBS], contentOnly: true });
      continue;
    }
    if (rule.doc.paths === undefined) continue;
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
