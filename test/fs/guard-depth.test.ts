/**
 * Issue 17, class 5 at any depth (fs-worker half): deny rules written as globs (`**\/.env`, `**\/*.pem`,
 * `**\/secrets/**`) hold for files deep in the tree, through every alias (a link to the root, a link to a
 * parent folder, `..` through a link, a hard link) and in every tree walk (grep, glob, list). Real
 * files; the tools run exactly as in the worker.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FsGuardRule } from '../../sandbox/fs/types.js';
import { call, makeFixture, out, type Fixture } from './fixture.js';

const SECRET = 'DEEP-SECRET-3e8b';
const GUARD: FsGuardRule[] = [{ decision: 'deny', read: true, write: true, patterns: ['**/.env', '**/*.pem', '**/secrets/**'] }];
const opts = { guard: GUARD };

let fx: Fixture;
beforeEach(() => {
  fx = makeFixture();
  fx.write('a/b/c/.env', `${SECRET}\n`);
  fx.write('node_modules/pkg/.env', `${SECRET}\n`);
  fx.write('x/y/server.pem', `${SECRET}\n`);
  fx.write('svc/secrets/token', `${SECRET}\n`);
  fx.write('a/b/c/app.ts', 'export const ok = 1;\n');
});
afterEach(() => fx.cleanup());

function noSecret(r: ReturnType<typeof call>): void {
  expect(r.ok ? r.output : r.error).not.toContain(SECRET);
}

describe('denied at any depth, whatever the name', () => {
  it('reads through aliases are refused on the resolved path', () => {
    fs.symlinkSync('.', fx.p('d'));
    fs.symlinkSync('a/b', fx.p('ab'));
    fs.symlinkSync('../x/y/server.pem', fx.p('a/pem'));
    fs.symlinkSync('svc/secrets', fx.p('s'));
    fs.symlinkSync('a/b/c/.env', fx.p('plain-name'));
    // (Spellings the policy itself denies, like d/a/b/c/.env, never reach the worker: the policy decides first.)
    for (const p of ['a/pem', 's/token', 'plain-name', 'ab/c/../../../s/token']) {
      const r = call(fx.ws, 'read', { path: p }, opts);
      expect(r.ok, p).toBe(false);
      noSecret(r);
    }
    expect(out(call(fx.ws, 'read', { path: 'ab/c/app.ts' }, opts))).toContain('ok = 1');
  });

  it('a hard link to a deep denied file is refused (hard links are refused by default)', () => {
    fs.linkSync(fx.p('a/b/c/.env'), fx.p('innocent.txt'));
    const r = call(fx.ws, 'read', { path: 'innocent.txt' }, opts);
    expect(r.ok).toBe(false);
    noSecret(r);
  });

  it('grep, glob and list over the root never show them', () => {
    fs.symlinkSync('.', fx.p('d'));
    fs.symlinkSync('svc/secrets', fx.p('s'));
    for (const mode of ['files_with_matches', 'content', 'count'] as const) {
      const r = call(fx.ws, 'grep', { pattern: 'SECRET', output_mode: mode }, opts);
      noSecret(r);
      if (r.ok) expect(r.output).not.toMatch(/\.env|\.pem|secrets/);
    }
    const all = out(call(fx.ws, 'glob', { pattern: '**/*' }, opts));
    expect(all).toContain('a/b/c/app.ts');
    expect(all).not.toMatch(/\.env|\.pem|secrets\//);
    for (const pattern of ['**/.env', '**/*.pem', 'd/**/.env', '**/secrets/*']) expect(out(call(fx.ws, 'glob', { pattern }, opts)), pattern).not.toMatch(/\.env|\.pem|token/);
    expect(out(call(fx.ws, 'list', { path: 'a/b/c' }, opts))).not.toMatch(/\.env/);
    expect(out(call(fx.ws, 'list', { path: 'svc' }, opts))).not.toMatch(/secrets/);
    expect(call(fx.ws, 'list', { path: 's' }, opts)).toMatchObject({ ok: false, code: 'DENIED' });
  });
});
