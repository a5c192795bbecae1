/**
 * Holding the policy's deny/ask path rules (guard.ts) against what a tool's walk really reached: the
 * resolved path and, with hard links allowed, the inode behind it.
 */
import type fs from 'node:fs';
import { lexicalComponents, walk, type Opened, type RootCtx } from './confine.js';
import { closeQuietly } from './bytes.js';
import { guardWord, type Guard, type GuardLevel } from './guard.js';
import { FsError } from './types.js';

/**
 * Re-applies the policy's deny/ask path rules to what the walk really reached (guard.ts): refuses when
 * the resolved path `realRel` is under a stricter rule than the path the policy saw. Returns the level
 * of that path, the bar a tree walk's entries must not pass.
 */
export function enforceGuard(g: Guard | null, ctx: RootCtx, inputPath: string | undefined, realRel: string): GuardLevel {
  if (!g) return 0;
  const lexRel = lexicalComponents(ctx, inputPath === undefined || inputPath === '' ? '.' : inputPath).join('/');
  const seen = g.lexical(lexRel);
  const real = g.resolved(realRel);
  if (real > seen) {
    throw new FsError(
      'DENIED',
      `${JSON.stringify(inputPath ?? '.')} resolves to ${JSON.stringify(realRel || '.')}, a path the policy ${guardWord(real)}; refusing to reach it through another name`,
    );
  }
  return seen;
}

/**
 * With allowHardlinks on, a file with several links may be another name of a guarded file: its inode
 * is compared with those of the guarded literal paths (`.env`, `secrets/id_rsa`). Glob patterns cannot
 * be enumerated this way; hard links stay refused by default.
 */
export function hardlinkLevel(g: Guard | null, ctx: RootCtx, st: fs.Stats): GuardLevel {
  if (!g || !st.isFile() || st.nlink < 2) return 0;
  let worst: GuardLevel = 0;
  for (const [lv, lit] of g.literals) {
    if (lv <= worst) continue;
    let t: Opened;
    try {
      t = walk(ctx, lit, 'open', { allowHardlinks: true });
    } catch {
      continue; // absent, or a directory path
    }
    closeQuietly(t.fd);
    if (t.stat.ino === st.ino && t.stat.dev === st.dev) worst = lv;
  }
  return worst;
}

export function enforceHardlink(g: Guard | null, ctx: RootCtx, st: fs.Stats, bar: GuardLevel, shown: string): void {
  const lv = hardlinkLevel(g, ctx, st);
  if (lv > bar) throw new FsError('DENIED', `${shown} is a hard link to a path the policy ${guardWord(lv)}; refusing it`);
}
