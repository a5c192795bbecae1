import { describe, expect, it } from 'vitest';
import { BaselineMissingError, importBaseline } from '../../bench/baseline.js';

describe('bench baselines from devDependencies', () => {
  it('loads the policy scenarios baseline in a clone installed with npm install', async () => {
    const cedar = (await importBaseline('@cedar-policy/cedar-wasm/nodejs', 'policy.file')) as { preparsePolicySet?: unknown };
    expect(typeof cedar.preparsePolicySet).toBe('function');
  });

  it('a missing baseline package is one clear error naming the package and the fix, not a crash', async () => {
    const err = await importBaseline('@icode-missing/baseline-pkg/nodejs', 'policy.file').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaselineMissingError);
    expect((err as Error).message).toBe(
      'bench policy.file: its baseline @icode-missing/baseline-pkg (a devDependency) is not installed; run `npm install` in the repository (not --omit=dev), or choose other scenarios',
    );
  });
});
