/**
 * Issue 17, class 5 in the jail: a path the policy denies reading is masked at any depth — existing
 * ones deep in the tree, ones the person creates between commands, ones the jail itself creates — and no
 * alias (a link to `.`, a renamed parent, grep over the root) reaches the content. Checked by what the
 * jail prints: the secret never appears, and the host's file is never changed by the mask.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gateOptionsFor, jailOptionsFor } from '../../engine/executors/jail-options.js';
import { loadPolicy } from '../../policies/index.js';
import { ShellJail } from '../../sandbox/jail/index.js';
import { MaskIndex } from '../../sandbox/jail/masks.js';
import { fixture } from './helpers.js';

const POLICY = 'version: 1\nname: t\ndefault: allow\nrules:\n  - {id: t.s, decision: deny, reason: s, tool: [read], paths: ["**/.env", "secrets/**", "**/*.pem"]}\n';

function put(ws: string, rel: string, content: string): void {
  mkdirSync(join(ws, rel, '..'), { recursive: true });
  writeFileSync(join(ws, rel), content);
}

async function jailFor(dir: string, ws: string, readOnly: boolean): Promise<ShellJail> {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, POLICY);
  const policy = await loadPolicy(file);
  const gate = gateOptionsFor(ws, policy, { inside: [], hiddenInside: [] });
  expect(gate.maskedGlobs?.sort()).toEqual(['**/*.pem', '**/.env', 'secrets/**']);
  return ShellJail.start({ ...jailOptionsFor(ws, policy.settings), ...gate, readOnly });
}

for (const readOnly of [false, true]) {
  describe(`denied paths at any depth are masked (${readOnly ? 'read-only workspace' : 'change gate'})`, () => {
    const fx = fixture('icode-masks-');
    let jail: ShellJail;
    beforeAll(async () => {
      put(fx.ws, 'a/b/c/.env', 'SECRET_DEEP\n');
      put(fx.ws, 'node_modules/pkg/.env', 'SECRET_NM\n');
      put(fx.ws, 'secrets/id', 'SECRET_DIR\n');
      put(fx.ws, 'x/y/server.pem', 'SECRET_PEM\n');
      put(fx.ws, 'a/b/c/.env.example', 'PUBLIC=1\n');
      jail = await jailFor(fx.dir, fx.ws, readOnly);
    }, 60_000);
    afterAll(() => jail?.close(), 60_000);

    test('existing deep ones: not through the path, an alias, or a walk of the root', async () => {
      const r = await jail.run('cat a/b/c/.env node_modules/pkg/.env secrets/id x/y/server.pem; ls -A secrets; cat a/b/c/.env.example; ' + (readOnly ? '' : 'ln -s . d && cat d/a/b/c/.env d/x/y/server.pem; ') + 'grep -r SECRET . ; cat $(find . -name .env) ; tar cf - . 2>/dev/null | grep -a -c SECRET');
      expect(r.output).not.toContain('SECRET');
      expect(r.output).toContain('PUBLIC=1');
    });

    test('ones the person creates or moves between commands', async () => {
      put(fx.ws, 'later/deeper/.env', 'SECRET_LATER\n');
      put(fx.ws, 'later/k.pem', 'SECRET_LATER_PEM\n');
      renameSync(join(fx.ws, 'a'), join(fx.ws, 'renamed'));
      const r = await jail.run('cat later/deeper/.env later/k.pem renamed/b/c/.env; grep -r SECRET . ; echo done');
      expect(r.output).toContain('done');
      expect(r.output).not.toContain('SECRET');
    });

    test('a masked file cannot be overwritten through the jail; the host keeps its content', async () => {
      const r = await jail.run('echo pwned > renamed/b/c/.env; echo pwned > secrets/id; echo rc=$?');
      expect(r.output).toMatch(/rc=[1-9]/);
      expect(readFileSync(join(fx.ws, 'renamed/b/c/.env'), 'utf8')).toBe('SECRET_DEEP\n');
      expect(readFileSync(join(fx.ws, 'secrets/id'), 'utf8')).toBe('SECRET_DIR\n');
    });

    if (!readOnly) {
      test('one the jail creates is applied, and masked from the next command on', async () => {
        const r = await jail.run('mkdir -p made && echo MINE_SECRET > made/.env && cat made/.env');
        expect(r.output).toContain('MINE_SECRET'); // its own write, in its own layer
        expect(readFileSync(join(fx.ws, 'made/.env'), 'utf8')).toBe('MINE_SECRET\n');
        put(fx.ws, 'made/.env', 'SECRET_REPLACED_BY_PERSON\n');
        const next = await jail.run('cat made/.env; echo done');
        expect(next.output).toContain('done');
        expect(next.output).not.toContain('SECRET');
      });
    }
  });
}

test('the mask index: a walk at start, then only folders that changed; renames and removals followed', () => {
  const { ws } = fixture('icode-maskidx-');
  put(ws, 'a/.env', 's');
  put(ws, 'a/b/keep.txt', 'k');
  put(ws, 'secrets/x', 's');
  const idx = new MaskIndex(ws, ['**/.env', 'secrets/**']);
  expect(idx.list()).toEqual(['a/.env', 'secrets']);
  expect(idx.update()).toBe(false);
  put(ws, 'a/b/c/d/.env', 's');
  expect(idx.update()).toBe(true);
  expect(idx.list()).toEqual(['a/.env', 'a/b/c/d/.env', 'secrets']);
  renameSync(join(ws, 'a'), join(ws, 'z'));
  expect(idx.update()).toBe(true);
  expect(idx.list()).toEqual(['secrets', 'z/.env', 'z/b/c/d/.env']);
  // The policy's own decision is final: a candidate it does not deny stays visible.
  expect(new MaskIndex(ws, ['**/.env'], (rel) => rel !== 'z/.env').list()).toEqual(['z/b/c/d/.env']);
});
