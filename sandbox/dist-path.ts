import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../policies/package-root.js';

export { packageRoot };

/**
 * Absolute path of a compiled file under dist/, e.g. distPath('sandbox/fs/worker.js').
 * Workers and child processes must run compiled JS even when the caller runs from TS sources (vitest).
 */
export function distPath(relative: string): string {
  const p = join(packageRoot(), 'dist', relative);
  if (!existsSync(p)) throw new Error(`icode: ${p} is missing; run "npm run build" first`);
  return p;
}
