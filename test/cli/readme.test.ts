/** The README's example commands run as written (those that need no model and no network). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../policies/package-root.js';

const ROOT = packageRoot();
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The README line starting with `npx icode WORDS`, without its trailing `# comment`. */
function readmeLine(start: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(`npx icode ${start}`));
  if (!line) throw new Error(`README has no line starting with "npx icode ${start}"`);
  return line.replace(/\s+#\s[^'"]*$/, '');
}

/** Runs the line with a shell, `npx icode` standing for the built binary (what npx resolves to). */
function runLine(line: string) {
  const cmd = line.replace(/^npx icode /, `"${process.execPath}" bin/icode.js `);
  return spawnSync('/bin/sh', ['-c', cmd], { cwd: ROOT, encoding: 'utf8' });
}

describe('README commands', () => {
  it('the hooks example file exists and `icode hooks test hooks/no-force-push.ts …` denies the force push', () => {
    const line = readmeLine('hooks test');
    expect(line).toContain('hooks/no-force-push.ts');
    const r = runLine(line);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"decision":"deny"');
    expect(r.stdout).toContain('force pushes are reviewed by a human');
  });

  it('the hook has no opinion on a plain push', () => {
    const r = runLine(`npx icode hooks test hooks/no-force-push.ts --point pre_tool --event '{"tool":"shell","input":{"command":"git push origin main"}}'`);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('deny');
  });
});
