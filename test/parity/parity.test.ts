/**
 * The parity harness's fixed-seed run (bench/parity): every case through icode's real pipeline
 * (builtin:jailed: fs worker pool, bwrap jail, SQLite audit log) and through its reference program
 * (cat -n, rg, bash, find, python3), zero divergences expected. `icode parity` is the full run.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED, runParity } from '../../bench/parity/run.js';
import { PARITY_TOOLS } from '../../bench/parity/types.js';

describe('parity with the reference implementations', () => {
  it(
    'every tool matches its reference on the corpus and the fixed-seed property run',
    async () => {
      const report = await runParity({ seed: DEFAULT_SEED, propertyRuns: 30 });
      const shown = report.failures.slice(0, 8).map((f) => `${f.name}\n${f.diff}`).join('\n');
      expect(shown).toBe('');
      expect(report.failed).toBe(0);
      expect(report.cases).toBeGreaterThanOrEqual(300);
      expect(report.tools.map((t) => t.tool).sort()).toEqual([...PARITY_TOOLS].sort());
      for (const t of report.tools) expect(t.cases, t.tool).toBeGreaterThan(0);
    },
    240_000,
  );
});
