import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forbiddenImports, isAllowed, parseLayerTable } from './boundaries.js';

const ROOT = join(import.meta.dirname, '..', '..');
const rules = parseLayerTable(readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8'));

describe('layers: every import follows the table in docs/ARCHITECTURE.md', () => {
  it('the table reads as the layering the project states', () => {
    expect(rules.get('policies')).toEqual([]);
    expect(rules.get('tui')).toEqual(['engine/']);
    for (const layer of ['engine', 'policies', 'sandbox', 'tui', 'bench'] as const) {
      expect(isAllowed(layer, 'cli/main.ts', rules), `${layer} → cli`).toBe(false);
    }
    expect(isAllowed('sandbox', 'policies/shell/analyze.ts', rules)).toBe(true);
    expect(isAllowed('sandbox', 'policies/compiler/load.ts', rules)).toBe(false);
    expect(isAllowed('engine', 'tui/app.ts', rules)).toBe(false);
    expect(isAllowed('bench', 'cli/main.ts', rules)).toBe(false);
  });

  it('no file in engine/, cli/, policies/, sandbox/, tui/ or bench/ imports across a forbidden arrow', () => {
    expect(forbiddenImports(ROOT, rules)).toEqual([]);
  });

  it('the same check fails on a fixture tree with forbidden imports', () => {
    const found = forbiddenImports(join(import.meta.dirname, 'fixtures', 'forbidden'), rules)
      .map((v) => `${v.file} → ${v.target}`)
      .sort();
    expect(found).toEqual([
      'engine/thing.ts → cli/main.ts',
      'policies/leak.ts → engine/thing.ts',
      'sandbox/fs.ts → policies/compiler/load.ts',
      'tui/view.ts → sandbox/fs.ts',
    ]);
  });
});
