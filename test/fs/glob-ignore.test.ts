/** glob honours .gitignore as grep does (nested and ancestor files, negations); include_ignored lists everything. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeFixture, out } from './fixture.js';

const fx = makeFixture();
afterAll(() => fx.cleanup());

beforeAll(() => {
  fx.write('.gitignore', 'node_modules/\ndist\n');
  fx.write('p/.gitignore', '*.log\n!keep.log\ngenerated/\n');
  fx.write('p/src/a.ts', '');
  fx.write('p/src/generated/g.ts', '');
  fx.write('p/debug.log', '');
  fx.write('p/keep.log', '');
  fx.write('p/dist/out.ts', '');
  fx.write('p/node_modules/lib/index.ts', '');
  fx.write('p/sub/.gitignore', 'local.ts\n');
  fx.write('p/sub/local.ts', '');
  fx.write('p/sub/shared.ts', '');
});

describe('glob and .gitignore', () => {
  it('skips ignored files and directories (root, nested, negated)', () => {
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.ts' }))).toBe('p/src/a.ts\np/sub/shared.ts\n');
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.log' }))).toBe('p/keep.log\n');
  });

  it("applies the ancestors' .gitignore files when globbing below a path", () => {
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.ts', path: 'p' }))).toBe('p/src/a.ts\np/sub/shared.ts\n');
    expect(out(call(fx.ws, 'glob', { pattern: '*.ts', path: 'p/sub' }))).toBe('p/sub/shared.ts\n');
  });

  it('a pattern whose literal base is ignored finds nothing, and says how to include it', () => {
    expect(out(call(fx.ws, 'glob', { pattern: 'p/node_modules/**/*.ts' }))).toContain('include_ignored: true');
  });

  it('include_ignored: true lists ignored files too', () => {
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.ts', include_ignored: true }))).toBe(
      'p/dist/out.ts\np/node_modules/lib/index.ts\np/src/a.ts\np/src/generated/g.ts\np/sub/local.ts\np/sub/shared.ts\n',
    );
    expect(out(call(fx.ws, 'glob', { pattern: 'p/node_modules/**/*.ts', include_ignored: true }))).toBe('p/node_modules/lib/index.ts\n');
  });

  it('a non-boolean include_ignored is refused', () => {
    const r = call(fx.ws, 'glob', { pattern: '**/*.ts', include_ignored: 'yes' });
    expect(r.ok).toBe(false);
  });
});
