/**
 * Deny and ask rules of the policy, applied by the fs worker to RESOLVED paths.
 *
 * The policy decides on the path string the agent wrote. An alias — a symlink (`ln -s . d`, then
 * `read d/.env`), a directory symlink, `..` through a link, a case variant on a case-insensitive file
 * system — makes that string differ from the file actually opened, and a tree walk (grep, glob, list
 * over the root) reaches files no path string named. So the worker, which resolves every component
 * itself, asks again on what it really opens: an access whose resolved workspace-relative path is
 * under a STRICTER rule than the path the policy saw is refused (`DENIED`), and tree walks leave out
 * every entry stricter than their start, so denied paths are invisible to them.
 *
 * Matching follows the policy's path patterns (policies/compiler/paths.ts): workspace-relative globs
 * (picomatch, dot files included), a pattern without glob characters also covering what lies below it;
 * absolute patterns match the absolute path. The resolved path is matched case-insensitively (a file
 * system may fold case), the path the policy saw exactly as the policy did.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { RootCtx } from './confine.js';
import type { FsGuardRule, FsTool } from './types.js';

/** 0: no rule, 1: ask, 2: deny. */
export type GuardLevel = 0 | 1 | 2;

export interface Guard {
  /** Level of the path the policy decided on (matched as the policy matches). */
  lexical(rel: string): GuardLevel;
  /** Level of a resolved path (matched case-insensitively). */
  resolved(rel: string): GuardLevel;
  /** Level of a directory a walk would enter: its own, or that of everything below it. */
  resolvedDir(rel: string): GuardLevel;
  /** Workspace-relative literal (glob-free) guarded paths: what a hard link could be another name of. */
  literals: ReadonlyArray<readonly [GuardLevel, string]>;
}

const GLOB_CHARS = /[*?[\]{}()!+@]/;
const READ_TOOLS: readonly FsTool[] = ['read', 'glob', 'grep', 'list'];

type Test = (rel: string) => boolean;

function compilePatterns(patterns: readonly string[], ctx: RootCtx, nocase: boolean): Test {
  const rel: string[] = [];
  const abs: string[] = [];
  for (const raw of patterns) {
    if (typeof raw !== 'string' || raw.includes('\0')) continue;
    let p = raw;
    const target = path.isAbsolute(p) ? abs : rel;
    if (!path.isAbsolute(p)) {
      p = p.replace(/^(\.\/)+/, '');
      if (p === '.' || p === '') p = '**';
      if (p.split('/').includes('..')) continue; // refused by the policy compiler
    }
    const dirLike = p.endsWith('/');
    p = p.replace(/\/+$/, '') || '/';
    target.push(p);
    if (dirLike || !GLOB_CHARS.test(p)) target.push(p === '/' ? '/**' : `${p}/**`);
  }
  const opts = { dot: true, nocase };
  const relTest = rel.length ? picomatch(rel, opts) : null;
  const matchesRoot = rel.includes('**'); // only an "everything" pattern covers the root itself
  const absTest = abs.length ? picomatch(abs, opts) : null;
  const roots = [...new Set([ctx.real, ctx.given])];
  return (r: string): boolean => {
    if (relTest && (r === '' ? matchesRoot : relTest(r))) return true;
    return absTest !== null && roots.some((root) => absTest(r === '' ? root : `${root}/${r}`));
  };
}

const cache = new Map<string, Guard | null>();

/** The guard for one tool, or null when no rule can make a resolved path stricter. */
export function compileGuard(rules: readonly FsGuardRule[] | undefined, tool: FsTool, ctx: RootCtx): Guard | null {
  if (!Array.isArray(rules) || rules.length === 0) return null;
  const isRead = READ_TOOLS.includes(tool);
  const namesOnly = tool === 'glob' || tool === 'list';
  const relevant = rules.filter(
    (r) =>
      r &&
      (r.decision === 'deny' || r.decision === 'ask') &&
      Array.isArray(r.patterns) &&
      (isRead ? r.read === true : r.write === true) &&
      !(namesOnly && r.contentOnly === true),
  );
  if (relevant.length === 0) return null;
  const key = JSON.stringify([relevant, isRead, ctx.real, ctx.given]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const levels = (nocase: boolean): Array<[GuardLevel, Test]> => {
    const deny = relevant.filter((r) => r.decision === 'deny').flatMap((r) => r.patterns);
    const ask = relevant.filter((r) => r.decision === 'ask').flatMap((r) => r.patterns);
    const out: Array<[GuardLevel, Test]> = [];
    if (deny.length) out.push([2, compilePatterns(deny, ctx, nocase)]);
    if (ask.length) out.push([1, compilePatterns(ask, ctx, nocase)]);
    return out;
  };
  const exact = levels(false);
  const folded = levels(true);
  const level = (tests: Array<[GuardLevel, Test]>, rel: string): GuardLevel => {
    for (const [lv, t] of tests) if (t(rel)) return lv;
    return 0;
  };
  const literals: Array<readonly [GuardLevel, string]> = [];
  for (const r of relevant) {
    for (const p of r.patterns) {
      const lit = typeof p === 'string' ? p.replace(/^(\.\/)+/, '').replace(/\/+$/, '') : '';
      if (lit && !path.isAbsolute(lit) && !GLOB_CHARS.test(lit) && !lit.split('/').includes('..')) literals.push([r.decision === 'deny' ? 2 : 1, lit]);
    }
  }
  const guard: Guard = {
    literals,
    lexical: (rel) => level(exact, rel),
    resolved: (rel) => level(folded, rel),
    resolvedDir: (rel) => Math.max(level(folded, rel), level(folded, rel ? `${rel}/x` : 'x')) as GuardLevel,
  };
  if (cache.size > 32) cache.clear();
  cache.set(key, guard);
  return guard;
}

export function guardWord(level: GuardLevel): string {
  return level === 2 ? 'denies' : 'asks about';
}
