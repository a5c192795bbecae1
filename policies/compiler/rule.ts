/**
 * A rule compiled once into predicates, and how it matches a subject.
 *
 * Matching is asymmetric on purpose: an `allow` rule must match for certain (`must` mode: an unknown
 * value never satisfies it), an `ask`/`deny` rule matches whenever it might (`could` mode: an unknown
 * value satisfies it). What icode cannot see at decision time can only make a verdict stricter.
 */
import { compileCommandPattern } from '../shell/patterns.js';
import type { CommandPattern, } from '../shell/patterns.js';
import type { MatchMode, SimpleCommand } from '../shell/types.js';
import type { Decision } from '../types.js';
import { asList, type RuleDoc } from './doc.js';
import { compileNameMatcher, compilePathMatcher, type PathMatcher, type ResolvedPath } from './paths.js';

/** What one rule is matched against: a tool call, or one part of a shell script. */
export interface Subject {
  /** Canonical tool name: the call's tool; `shell` for a sub-command; `write`/`read` for a redirect. */
  tool: string;
  agent: string;
  /** Whether path conditions apply to this subject at all (fs tools, shell parts). */
  pathAware: boolean;
  paths: ResolvedPath[];
  /** Some path is only known at run time (a dynamic argument or redirect target). */
  unknownPaths: boolean;
  host: string | null;
  /** The simple command, for shell sub-commands. */
  cmd?: SimpleCommand;
  /** A script part icode could not understand: never allowed by the default or by command rules. */
  opaque?: boolean;
  /** What the trace shows. */
  text: string;
}

export interface CompiledRule {
  id: string;
  /** Policy the rule came from (file path or builtin:NAME). */
  layer: string;
  decision: Decision;
  reason: string;
  mode: MatchMode;
  toolPatterns: string[];
  matchesTool: (tool: string) => boolean;
  matchesAgent: ((agent: string) => boolean) | null;
  paths: PathMatcher | null;
  outside: boolean | undefined;
  commands: CommandPattern[] | null;
  matchesHost: ((host: string) => boolean) | null;
  /**
   * First path segments a workspace path must start with for this rule to possibly match, when every
   * path pattern is workspace-relative with a literal first segment; null when the rule may match any
   * path. Lets the policy skip most path rules with one map lookup.
   */
  firstSegments: ReadonlySet<string> | null;
  doc: RuleDoc;
}

/** Which part of a rule failed to compile, for error positions. */
export class RuleCompileError extends Error {
  constructor(
    readonly field: keyof RuleDoc,
    readonly index: number | null,
    message: string,
  ) {
    super(message);
  }
}

export function compileRule(doc: RuleDoc, layer: string, home: string): CompiledRule {
  const commandDocs = doc.command === undefined ? [] : typeof doc.command === 'string' ? [doc.command] : doc.command;
  const toolPatterns = doc.tool !== undefined ? asList(doc.tool) : commandDocs.length ? ['shell'] : ['*'];
  let paths: PathMatcher | null = null;
  if (doc.paths !== undefined) {
    try {
      paths = compilePathMatcher(asList(doc.paths), home);
    } catch (e) {
      throw new RuleCompileError('paths', null, (e as Error).message);
    }
  }
  const commands = commandDocs.length
    ? commandDocs.map((c, i) => {
        try {
          return compileCommandPattern(c);
        } catch (e) {
          throw new RuleCompileError('command', typeof doc.command === 'string' ? null : i, (e as Error).message);
        }
      })
    : null;
  const decision = doc.decision;
  return {
    id: doc.id,
    layer,
    decision,
    reason: doc.reason ?? `rule ${doc.id}`,
    mode: decision === 'allow' ? 'must' : 'could',
    toolPatterns,
    matchesTool: compileNameMatcher(toolPatterns),
    matchesAgent: doc.agent !== undefined ? compileNameMatcher(asList(doc.agent)) : null,
    paths,
    outside: doc.outside_workspace,
    commands,
    matchesHost: doc.host !== undefined ? compileNameMatcher(asList(doc.host).map((h) => h.toLowerCase())) : null,
    firstSegments: doc.paths !== undefined ? literalFirstSegments(asList(doc.paths)) : null,
    doc,
  };
}

function literalFirstSegments(patterns: string[]): Set<string> | null {
  const out = new Set<string>();
  for (const raw of patterns) {
    if (raw.startsWith('/') || raw.startsWith('~')) return null;
    const first = raw.replace(/^(\.\/)+/, '').split('/')[0];
    if (first === '' || first === '.' || /[*?[\]{}()!+@]/.test(first)) return null;
    out.add(first);
  }
  return out;
}

/** Does this rule apply to the subject? Tool and agent are checked by the caller's index and here. */
export function ruleMatches(rule: CompiledRule, s: Subject): boolean {
  if (!rule.matchesTool(s.tool)) return false;
  if (rule.matchesAgent && !rule.matchesAgent(s.agent)) return false;
  const must = rule.mode === 'must';
  if (rule.commands) {
    if (!s.cmd) return false;
    const cmd = s.cmd;
    if (!rule.commands.some((p) => p.match(cmd, rule.mode))) return false;
  } else if (s.opaque && must && (rule.paths || rule.outside !== undefined)) {
    return false;
  }
  if (rule.paths) {
    if (!s.pathAware) return false;
    const pm = rule.paths;
    if (must) {
      if (s.unknownPaths || s.paths.length === 0 || !s.paths.every((p) => pm.test(p))) return false;
    } else if (!s.unknownPaths && !s.paths.some((p) => pm.test(p))) {
      return false;
    }
  }
  if (rule.outside !== undefined) {
    if (!s.pathAware) return false;
    const anyOutside = s.paths.some((p) => !p.inside);
    if (rule.outside) {
      if (!(anyOutside || (!must && s.unknownPaths))) return false;
    } else if (anyOutside || (must && s.unknownPaths)) {
      return false;
    }
  }
  if (rule.matchesHost) {
    if (s.host === null || !rule.matchesHost(s.host)) return false;
  }
  return true;
}
