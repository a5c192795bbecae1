/**
 * "Allow and save to the project's policy" (`p` in the approval dialog): the person, never the agent,
 * adds one narrow allow rule to `.icode/policy.yaml` in the workspace. The file is created extending the
 * session's policy when it does not exist. The dialog shows the YAML diff before anything is written.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';
import type { SessionRule } from './approver.js';

export const PROJECT_POLICY = join('.icode', 'policy.yaml');

/** Characters that would make a pattern mean more than the one command or path the person saw. */
const PATTERN_CHARS = /[*?[\]{}\\"'`$]/;

export interface ProjectPolicyChange {
  file: string;
  before: string;
  after: string;
  /** Unified-style diff of the change, for the dialog. */
  diff: string;
}

/** Why a rule cannot be saved as a pattern, or null when it can. */
export function unsavable(rule: SessionRule): string | null {
  const text = rule.command ?? rule.path;
  if (text === undefined) return 'only commands and paths can be saved as project rules';
  if (PATTERN_CHARS.test(text) || text.includes('\n')) return 'it contains pattern or quoting characters; allow it for this session instead';
  return null;
}

export function planProjectRule(workspace: string, rule: SessionRule, sessionPolicy: string, now = new Date()): ProjectPolicyChange {
  const file = join(workspace, PROJECT_POLICY);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const doc = before
    ? parseDocument(before)
    : parseDocument(`version: 1\nname: project\nextends: ${JSON.stringify(sessionPolicy)}\n`);
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${file}: not a policy (expected a mapping)`);
  let rules = doc.get('rules');
  if (!isSeq(rules)) {
    rules = new YAMLSeq();
    doc.set('rules', rules);
  }
  const seq = rules as YAMLSeq;
  // Block style, as people write policies (an empty `rules: []` would otherwise stay a flow list).
  if (seq.items.length === 0) seq.flow = false;
  const entry: Record<string, unknown> = {
    id: `tui-${rule.tool}-${seq.items.length + 1}`,
    decision: 'allow',
    reason: `allowed by a person in the TUI on ${now.toISOString().slice(0, 10)}`,
    tool: rule.tool,
  };
  if (rule.command !== undefined) entry.command = [rule.command];
  else if (rule.path !== undefined) entry.paths = [rule.path];
  seq.add(doc.createNode(entry));
  const after = doc.toString();
  return { file, before, after, diff: lineDiff(PROJECT_POLICY, before, after) };
}

export function applyProjectRule(change: ProjectPolicyChange): void {
  mkdirSync(dirname(change.file), { recursive: true });
  const tmp = `${change.file}.tmp-${process.pid}`;
  writeFileSync(tmp, change.after, { mode: 0o644 });
  renameSync(tmp, change.file);
}

/** A simple line diff: common prefix and suffix kept as context, the middle as -/+. */
function lineDiff(name: string, a: string, b: string): string {
  const x = a ? a.split('\n') : [];
  const y = b.split('\n');
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const out = [`--- ${a ? name : '/dev/null'}`, `+++ ${name}`, `@@ -${start + 1} +${start + 1} @@`];
  for (const l of x.slice(Math.max(0, start - 2), start)) out.push(` ${l}`);
  for (const l of x.slice(start, endX)) out.push(`-${l}`);
  for (const l of y.slice(start, endY)) out.push(`+${l}`);
  return out.join('\n');
}
