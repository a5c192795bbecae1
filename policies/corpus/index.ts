/**
 * The corpus of everyday agent commands (everyday.txt) and how a policy fares on it: the decision it
 * gives each command against the decision expected for its category, and the share allowed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledPolicy } from '../compiler/compiled.js';
import { packageRoot } from '../package-root.js';
import type { Decision } from '../types.js';

export const CORPUS_CATEGORIES = ['read', 'build', 'ask', 'secret', 'deny'] as const;
export type CorpusCategory = (typeof CORPUS_CATEGORIES)[number];

export interface CorpusEntry {
  category: CorpusCategory;
  command: string;
  /** 1-based line in everyday.txt. */
  line: number;
}

/** What each built-in policy must decide per category (jailed allows every command). */
export const EXPECTED: Readonly<Record<string, Readonly<Record<CorpusCategory, Decision>>>> = {
  readonly: { read: 'allow', build: 'ask', ask: 'ask', secret: 'ask', deny: 'deny' },
  'workspace-write': { read: 'allow', build: 'allow', ask: 'ask', secret: 'ask', deny: 'deny' },
  untrusted: { read: 'ask', build: 'ask', ask: 'ask', secret: 'ask', deny: 'deny' },
  jailed: { read: 'allow', build: 'allow', ask: 'allow', secret: 'allow', deny: 'allow' },
};

/** Parses a corpus text: `## CATEGORY` starts a section, `#` lines are comments; heredoc bodies follow their command. */
export function parseCorpus(text: string): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  let category: CorpusCategory | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const section = /^## (\S+)\s*$/.exec(line);
    if (section) {
      if (!(CORPUS_CATEGORIES as readonly string[]).includes(section[1])) throw new Error(`corpus line ${i + 1}: unknown category ${section[1]}`);
      category = section[1] as CorpusCategory;
      continue;
    }
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (!category) throw new Error(`corpus line ${i + 1}: command before any "## CATEGORY" line`);
    let command = line;
    const heredoc = /<<-?\s*'?"?([A-Za-z_]+)'?"?\s*$/.exec(line);
    if (heredoc) {
      while (++i < lines.length) {
        command += '\n' + lines[i];
        if (lines[i].trim() === heredoc[1]) break;
      }
      // `git commit -m "$(cat <<'EOF'` … `EOF` then `)"`: the line closing the substitution belongs to it.
      while (i + 1 < lines.length && lines[i + 1].startsWith(')')) command += '\n' + lines[++i];
    }
    out.push({ category, command, line: i + 1 });
  }
  return out;
}

export function loadEverydayCorpus(): CorpusEntry[] {
  return parseCorpus(readFileSync(join(packageRoot(), 'policies/corpus/everyday.txt'), 'utf8'));
}

export interface CorpusResult extends CorpusEntry {
  decision: Decision;
  expected: Decision | null;
  reason: string;
}

export interface CorpusReport {
  policy: string;
  results: CorpusResult[];
  /** Per category: commands, allowed, as expected. */
  categories: Record<string, { total: number; allowed: number; asExpected: number }>;
  /** Share of everyday read-only and build/test commands (read + build) allowed. */
  everydayAllowedShare: number;
  mismatches: CorpusResult[];
}

export const CORPUS_WORKSPACE = '/workspace/project';
export const CORPUS_HOME = '/home/user';

/** Decides every corpus command with `policy` in a fixed virtual workspace; `expectFor` is a built-in name. */
export function runCorpus(policy: CompiledPolicy, entries: CorpusEntry[], expectFor: string | null): CorpusReport {
  const expected = expectFor ? EXPECTED[expectFor] : undefined;
  const results: CorpusResult[] = entries.map((e) => {
    const v = policy.decide({ tool: 'shell', input: { command: e.command }, workspace: CORPUS_WORKSPACE, home: CORPUS_HOME });
    return { ...e, decision: v.decision, expected: expected ? expected[e.category] : null, reason: v.reason };
  });
  const categories: CorpusReport['categories'] = {};
  for (const r of results) {
    const c = (categories[r.category] ??= { total: 0, allowed: 0, asExpected: 0 });
    c.total++;
    if (r.decision === 'allow') c.allowed++;
    if (r.expected === null || r.decision === r.expected) c.asExpected++;
  }
  const everyday = results.filter((r) => r.category === 'read' || r.category === 'build');
  return {
    policy: policy.source,
    results,
    categories,
    everydayAllowedShare: everyday.length ? everyday.filter((r) => r.decision === 'allow').length / everyday.length : 0,
    mismatches: results.filter((r) => r.expected !== null && r.decision !== r.expected),
  };
}
