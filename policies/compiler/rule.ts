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
import { COMMAND_CLASSES, isCommandClass, matchesClass, type CommandClass } from './classes.js';
import { argsMatch, ArgsCompileError, compileArgs, type ArgCondition } from './args.js';
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
  /**
   * The command as ask/deny patterns see it, when it differs: globs that start with a literal character
   * other than `-` (`src/*.ts`) only ever expand to words starting with it, so they are never an option.
   */
  couldCmd?: SimpleCommand;
  /** A script part icode could not understand: never allowed by the default or by command rules. */
  opaque?: boolean;
  /** What the trace shows. */
  text: string;
  /** Where the call happens, for `class` conditions. */
  ctx?: SubjectContext;
  /** The call's input, for `args` conditions: set for tool calls, never for the parts of a shell command. */
  input?: Record<string, unknown>;
}

export interface SubjectContext {
  workspace: string;
  home: string;
  /** Basenames of the literal command names in the whole script (empty for fs tools). */
  names: ReadonlySet<string>;
  /** Where a path argument lands, from every directory the command may run in; null when unknown. */
  resolve(v: string): ResolvedPath[] | null;
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
  /** Command classes (any of them), see classes.ts. */
  classes: CommandClass[] | null;
  /** Conditions on the call's input (all of them), see args.ts. */
  args: ArgCondition[] | null;
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
    /** The list index, or the `args` key, of the offending value. */
    readonly index: number | string | null,
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
    classes: compileClasses(doc),
    args: compileRuleArgs(doc, toolPatterns, home),
    matchesHost: doc.host !== undefined ? compileNameMatcher(asList(doc.host).map((h) => h.toLowerCase())) : null,
    firstSegments: doc.paths !== undefined ? literalFirstSegments(asList(doc.paths)) : null,
    doc,
  };
}

function compileRuleArgs(doc: RuleDoc, toolPatterns: string[], home: string): ArgCondition[] | null {
  if (doc.args === undefined) return null;
  // A shell command is decided by its parsed parts (command patterns, classes, paths), not as one string.
  if (toolPatterns.some((t) => t === 'shell' || t === 'Bash' || t === 'bash')) {
    throw new RuleCompileError('args', null, 'args conditions do not apply to shell commands; use command patterns, class or paths');
  }
  if (doc.command !== undefined || doc.class !== undefined) throw new RuleCompileError('args', null, 'args cannot be combined with command or class (those are about shell commands)');
  try {
    return compileArgs(doc.args, home, doc.decision);
  } catch (e) {
    if (e instanceof ArgsCompileError) throw new RuleCompileError('args', e.key, e.message);
    throw e;
  }
}

function compileClasses(doc: RuleDoc): CommandClass[] | null {
  if (doc.class === undefined) return null;
  return asList(doc.class).map((c, i) => {
    if (!isCommandClass(c)) throw new RuleCompileError('class', Array.isArray(doc.class) ? i : null, `unknown class "${c}"; expected one of: ${COMMAND_CLASSES.join(', ')}`);
    return c;
  });
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

/** A glob's directory matches an allow rule only when the rule covers everything below it, at any depth. */
function globCovered(pm: PathMatcher, p: ResolvedPath): boolean {
  const below = (suffix: string): ResolvedPath => ({ abs: `${p.abs}/${suffix}`, rel: p.rel ? `${p.rel}/${suffix}` : suffix, inside: p.inside });
  return pm.test(below('x')) && pm.test(below('x/x')) && pm.test(below('.x/x'));
}

/** Does this rule apply to the subject? Tool and agent are checked by the caller's index and here. */
export function ruleMatches(rule: CompiledRule, s: Subject): boolean {
  if (!rule.matchesTool(s.tool)) return false;
  if (rule.matchesAgent && !rule.matchesAgent(s.agent)) return false;
  const must = rule.mode === 'must';
  if (rule.commands) {
    if (!s.cmd) return false;
    const cmd = !must && s.couldCmd ? s.couldCmd : s.cmd;
    if (!rule.commands.some((p) => p.match(cmd, rule.mode))) return false;
  } else if (s.opaque && must && (rule.paths || rule.outside !== undefined)) {
    return false;
  }
  if (rule.paths) {
    if (!s.pathAware) return false;
    const pm = rule.paths;
    if (must) {
      if (s.unknownPaths || s.paths.length === 0 || !s.paths.every((p) => (p.glob ? globCovered(pm, p) : pm.test(p)))) return false;
    } else if (!s.unknownPaths && !s.paths.some((p) => p.glob === true || pm.test(p))) {
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
  if (rule.classes) {
    const classes = rule.classes;
    if (!classes.some((c) => matchesClass(c, s))) return false;
  }
  if (rule.matchesHost) {
    if (s.host === null || !rule.matchesHost(s.host)) return false;
  }
  if (rule.args) {
    // Only tool calls have arguments: the parts of a shell command never match an args rule.
    if (s.input === undefined || s.ctx === undefined) return false;
    if (!argsMatch(rule.args, s.input, rule.mode, s.ctx)) return false;
  }
  return true;
}
