/**
 * Policy unit tests: a YAML file of cases, each a tool call and the decision it must get.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { CompiledPolicy } from './compiler/compiled.js';
import { PolicyError } from './compiler/errors.js';
import { EXAMPLE_WORKSPACE } from './compiler/examples.js';
import { canonicalToolName } from './tools.js';
import type { Decision } from './types.js';

export interface PolicyTestResult {
  name: string;
  ok: boolean;
  expected: Decision;
  expectedRule?: string;
  decision: Decision;
  rule: string | null;
  reason: string;
}

export interface PolicyTestReport {
  passed: number;
  failed: number;
  results: PolicyTestResult[];
}

const DECISIONS = new Set(['allow', 'ask', 'deny']);

export function runPolicyTests(policy: CompiledPolicy, casesFile: string): PolicyTestReport {
  const problem = (message: string): PolicyError => new PolicyError([{ file: casesFile, line: 0, col: 0, key: '', message }]);
  let data: unknown;
  try {
    data = parse(readFileSync(casesFile, 'utf8'));
  } catch (e) {
    throw problem(`cannot read test cases: ${(e as Error).message}`);
  }
  const doc = (Array.isArray(data) ? { cases: data } : data) as { workspace?: unknown; cases?: unknown };
  if (!doc || !Array.isArray(doc.cases)) throw problem('expected a list of cases, or a mapping with "cases:"');
  const workspace = typeof doc.workspace === 'string' ? resolve(dirname(casesFile), doc.workspace) : EXAMPLE_WORKSPACE;
  const results: PolicyTestResult[] = doc.cases.map((raw: unknown, i: number) => {
    const c = raw as { name?: unknown; tool?: unknown; input?: unknown; agent?: unknown; expect?: unknown; rule?: unknown };
    const where = `cases[${i}]`;
    if (typeof c?.tool !== 'string') throw problem(`${where}: "tool" must be a string`);
    if (typeof c.expect !== 'string' || !DECISIONS.has(c.expect)) throw problem(`${where}: "expect" must be allow, ask or deny`);
    if (c.input !== undefined && (typeof c.input !== 'object' || c.input === null || Array.isArray(c.input))) throw problem(`${where}: "input" must be a mapping`);
    const input = (c.input ?? {}) as Record<string, unknown>;
    const v = policy.decide({ tool: canonicalToolName(c.tool), input, agent: typeof c.agent === 'string' ? c.agent : undefined, workspace });
    const expected = c.expect as Decision;
    const expectedRule = typeof c.rule === 'string' ? c.rule : undefined;
    const ok = v.decision === expected && (expectedRule === undefined || v.rule === expectedRule);
    const name = typeof c.name === 'string' ? c.name : `${c.tool} ${JSON.stringify(input)}`;
    return { name, ok, expected, expectedRule, decision: v.decision, rule: v.rule, reason: v.reason };
  });
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed, results };
}
