/**
 * Rule examples (as in Codex's execpolicy): `match` examples must be matched by their rule and decided
 * as the rule says; `not_match` examples must not be matched by it. A policy documents and tests itself.
 */
import { FS_READ_TOOLS, FS_WRITE_TOOLS, canonicalToolName } from '../tools.js';
import type { ToolRequest } from '../types.js';
import type { CompiledPolicy } from './compiled.js';
import type { RuleExample } from './doc.js';
import type { PolicyProblem, PositionFinder } from './errors.js';
import type { CompiledRule } from './rule.js';

/** Examples are decided in a fixed virtual workspace so that they mean the same on every machine. */
export const EXAMPLE_WORKSPACE = '/workspace';

const FS_TOOLS: readonly string[] = [...FS_READ_TOOLS, ...FS_WRITE_TOOLS];

/** The request an example stands for, or an error message. */
function exampleRequest(rule: CompiledRule, ex: RuleExample, home: string): ToolRequest | string {
  if (typeof ex !== 'string') {
    return { tool: canonicalToolName(ex.tool), input: ex.input ?? {}, agent: ex.agent, workspace: EXAMPLE_WORKSPACE, home };
  }
  if (rule.commands || rule.classes || (rule.toolPatterns.length === 1 && rule.toolPatterns[0] === 'shell')) {
    return { tool: 'shell', input: { command: ex }, workspace: EXAMPLE_WORKSPACE, home };
  }
  const tools = rule.toolPatterns.map(canonicalToolName);
  const fsTool = tools.find((t) => FS_TOOLS.includes(t));
  if (fsTool && tools.every((t) => FS_TOOLS.includes(t))) {
    return { tool: fsTool, input: { path: ex }, workspace: EXAMPLE_WORKSPACE, home };
  }
  return 'a string example needs a rule about shell commands or fs tools; write {tool, input} instead';
}

export function checkExamples(policy: CompiledPolicy, rules: readonly CompiledRule[], finder: PositionFinder): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const [i, rule] of rules.entries()) {
    const ex = rule.doc.examples;
    if (!ex) continue;
    for (const kind of ['match', 'not_match'] as const) {
      (ex[kind] ?? []).forEach((example, j) => {
        const at = ['rules', i, 'examples', kind, j];
        const req = exampleRequest(rule, example, policy.home);
        if (typeof req === 'string') {
          problems.push(finder.problem(at, req));
          return;
        }
        const matched = policy.ruleMatchesRequest(rule, req);
        if (kind === 'not_match') {
          if (matched) problems.push(finder.problem(at, `example should not match rule "${rule.id}" but does`));
          return;
        }
        if (!matched) {
          problems.push(finder.problem(at, `example should match rule "${rule.id}" but does not`));
          return;
        }
        const v = policy.decide(req);
        if (v.decision !== rule.decision) {
          const by = v.rule ? `rule "${v.rule}"` : 'the default';
          problems.push(finder.problem(at, `example matches rule "${rule.id}" (${rule.decision}) but the policy decides ${v.decision} by ${by}: ${v.reason}`));
        }
      });
    }
  }
  return problems;
}
