/**
 * Matchers of hook declarations: canonical tool names and agent names against globs. A glob may use
 * `*` (any run of characters), `?` (one character) and `a|b` alternatives (as in Claude Code matchers);
 * `*` alone or an absent matcher matches everything. Matching is exact otherwise (case-sensitive).
 */
import { compileGlob, type GlobTest } from '../../policies/pure/glob-match.js';
import type { HookMatch } from './types.js';

/** Linear-time (glob-match.ts): tool and agent names may be model-chosen. */
function compileAlternatives(glob: string): GlobTest {
  const alternatives = glob.split('|').map((alt) => compileGlob(alt.trim().replace(/[[\]\\]/g, '\\$&'), { path: false, braces: false, negation: false }));
  return (name) => alternatives.some((t) => t(name));
}

function compileList(list: string | string[] | undefined): ((name: string | undefined) => boolean) | null {
  if (list === undefined) return null;
  const tests = (Array.isArray(list) ? list : [list]).map(compileAlternatives);
  return (name) => name !== undefined && tests.some((t) => t(name));
}

export interface MatchSubject {
  tool?: string;
  agent?: string;
}

/** Compiles a declaration's `match`. A tool matcher never matches an event without a tool. */
export function compileMatch(match: HookMatch | undefined): (subject: MatchSubject) => boolean {
  const tool = compileList(match?.tool);
  const agent = compileList(match?.agent);
  if (!tool && !agent) return () => true;
  return (s) => (!tool || tool(s.tool)) && (!agent || agent(s.agent));
}
