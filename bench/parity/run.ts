/**
 * The parity harness: generates the corpus, runs every case through icode's real pipeline (policy
 * builtin:jailed: the fs worker pool, the bwrap shell jail, the audit log) and through its reference
 * program, and compares the two after the documented normalisation (docs/parity.md).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { createPipeline } from '../../engine/pipeline.js';
import { editCases } from './cases-edit.js';
import { globCases } from './cases-glob.js';
import { grepCases } from './cases-grep.js';
import { listCases } from './cases-list.js';
import { readCases } from './cases-read.js';
import { shellCases } from './cases-shell.js';
import { requireReferences } from './exec.js';
import { generateCorpus } from './fixtures.js';
import { icodeText } from './normalise.js';
import { propertyCases } from './property.js';
import { PARITY_TOOLS, type CaseEnv, type CaseFailure, type ParityCase, type ParityReport, type ParityTool } from './types.js';

/** The seed CI uses (npm test); `icode parity --seed N` reproduces any other run. */
export const DEFAULT_SEED = 1616;

export interface ParityOptions {
  tools?: readonly ParityTool[];
  seed?: number;
  /** Random trees/patterns of the property-based part (default 60; 0 turns it off). */
  propertyRuns?: number;
  onProgress?(done: number, total: number): void;
}

const REFERENCES: Record<ParityTool, string[]> = {
  read: ['cat', 'base64'],
  grep: ['rg'],
  glob: ['bash'],
  list: ['find'],
  edit: ['python3'],
  write: ['python3'],
  shell: ['bash'],
};

export function diffText(expected: string, actual: string): string {
  return createTwoFilesPatch('reference', 'icode', expected, actual, '', '', { context: 2 })
    .split('\n')
    .slice(2)
    .join('\n');
}

export async function runParity(opts: ParityOptions = {}): Promise<ParityReport> {
  const tools = opts.tools && opts.tools.length > 0 ? opts.tools : PARITY_TOOLS;
  const seed = opts.seed ?? DEFAULT_SEED;
  requireReferences([...new Set(tools.flatMap((t) => REFERENCES[t]))]);
  const root = mkdtempSync(join(tmpdir(), 'icode-parity-'));
  try {
    const corpus = generateCorpus(root);
    const refDir = join(root, 'ref');
    mkdirSync(refDir);
    const env: CaseEnv = { corpus, refDir };
    // Order matters: the read-only tools see the corpus before edit/write add their scratch files.
    const all: ParityCase[] = [
      ...readCases(env),
      ...grepCases(env),
      ...globCases(env),
      ...listCases(env),
      ...propertyCases(env, seed, opts.propertyRuns ?? 60),
      ...editCases(),
      ...shellCases(env),
    ].filter((c) => tools.includes(c.tool));
    const pipeline = await createPipeline({ workspace: corpus.ws, policy: 'builtin:jailed', audit: join(root, 'audit.db'), session: 'parity', ask: 'deny' });
    const failures: CaseFailure[] = [];
    const tally = new Map(tools.map((t) => [t, { tool: t, cases: 0, passed: 0, failed: 0, icodeMs: 0, referenceMs: 0 }]));
    try {
      let done = 0;
      for (const c of all) {
        c.setup?.(env);
        const t = tally.get(c.tool)!;
        const t0 = performance.now();
        const r = await pipeline.call({ tool: c.tool, input: c.input });
        const actual = c.actual ? c.actual(r, env) : icodeText(r);
        const t1 = performance.now();
        const expected = c.reference(env);
        t.icodeMs += t1 - t0;
        t.referenceMs += performance.now() - t1;
        t.cases++;
        if (actual === expected) t.passed++;
        else {
          t.failed++;
          failures.push({ tool: c.tool, name: c.name, input: c.input, expected, actual, diff: diffText(expected, actual) });
        }
        opts.onProgress?.(++done, all.length);
      }
    } finally {
      await pipeline.close();
    }
    const list = [...tally.values()];
    const passed = list.reduce((n, t) => n + t.passed, 0);
    return { seed, cases: all.length, passed, failed: all.length - passed, tools: list, failures };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
