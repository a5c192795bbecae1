/**
 * Matchers of hook declarations: canonical tool names and agent names against globs. A glob may use
 * `*` (any run of characters), `?` (one character) and `a|b` alternatives (as in Claude Code matchers);
 * `*` alone or an absent matcher matches everything. Matching is exact otherwise (case-sensitive).
 */
import type { HookMatch } from './types.js';

function globToRegExp(glob: string): RegExp {
  const alternatives = glob.split('|').map((alt) =>
    alt
      .trim()
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}]/g, '\\$&')))
      .join(''),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`, 's');
}

function compileList(list: string | string[] | undefined): ((name: string | undefined) => boolean) | null {
  if (list === undefined) return null;
  const regexps = (Array.isArray(list) ? list : [list]).map(globToRegExp);
  return (name) => name !== undefined && regexps.some((re) => re.test(name));
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
