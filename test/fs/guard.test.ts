/**
 * Issue 17, class 5 (fs-worker half): deny and ask rules hold through aliases. A policy denies `.env`
 * and `secrets/**` and asks about `config/prod.yaml`; the agent reaches them by another name — a
 * symlink to the root (`ln -s . d`), a directory symlink, `..` through a link, a symlink to the file,
 * a hard link, a case variant — or by walking the tree (grep/glob/list over the root). Real files;
 * the tools run exactly as in the worker, and once end to end through the pipeline with a real policy
 * file and the real worker pool.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPipeline } from '../../engine/pipeline.js';
import type { FsGuardRule } from '../../sandbox/fs/types.js';
import { tempDir } from '../helpers/tmp.js';
import { call, makeFixture, out, type Fixture } from './fixture.js';

const ENV_SECRET = 'ENV-SECRET-5c1d';
const KEY_SECRET = 'KEY-SECRET-a9e0';
const PROD = 'PROD-CONFIG-77b1';

const GUARD: FsGuardRule[] = [
  { decision: 'deny', read: true, write: true, patterns: ['.env', 'secrets/**'] },
  { decision: 'ask', read: true, write: true, patterns: ['config/prod.yaml'] },
];
const opts = { guard: GUARD };

let fx: Fixture;
beforeEach(() => {
  fx = makeFixture();
  fx.write('.env', `TOKEN=${ENV_SECRET}\n`);
  fx.write('secrets/api.key', `${KEY_SECRET}\n`);
  fx.write('secrets/deep/more.key', `${KEY_SECRET}\n`);
  fx.write('config/prod.yaml', `db: ${PROD}\n`);
  fx.write('src/app.ts', 'export const ok = 1;\n');
});
afterEach(() => fx.cleanup());

/** No output of any result may contain a secret. */
function noSecret(r: ReturnType<typeof call>): void {
  const text = r.ok ? r.output : r.error;
  for (const s of [ENV_SECRET, KEY_SECRET, PROD]) expect(text).not.toContain(s);
}

describe('aliases of a denied path are refused on the resolved path', () => {
  it('ln -s . d; read d/.env — and every other spelling through a link', () => {
    fs.symlinkSync('.', fx.p('d'));
    fs.symlinkSync('secrets', fx.p('s'));
    fs.symlinkSync('.env', fx.p('env-link'));
    fs.symlinkSync('../secrets/api.key', fx.p('src/k'));
    fs.symlinkSync('src/../.env', fx.p('dotdot-link'));
    fs.mkdirSync(fx.p('nest'));
    fs.symlinkSync('..', fx.p('nest/up'));
    for (const p of ['d/.env', 'd/d/d/.env', 'd/secrets/api.key', 's/api.key', 's/deep/more.key', 'env-link', 'src/k', 'dotdot-link', 'nest/up/.env', 'nest/up/secrets/api.key', 'd/src/../.env']) {
      const r = call(fx.ws, 'read', { path: p }, opts);
      expect(r.ok, p).toBe(false);
      if (!r.ok && p !== 'd/src/../.env') expect(r.code, p).toBe('DENIED');
      noSecret(r);
    }
    const r = call(fx.ws, 'read', { path: 'd/.env' }, opts);
    expect(r.ok || r.error).toBe('"d/.env" resolves to ".env", a path the policy denies; refusing to reach it through another name');
  });

  it('an ask rule is not skipped through an alias either; the path as written is left to the policy', () => {
    fs.symlinkSync('config', fx.p('c'));
    const alias = call(fx.ws, 'read', { path: 'c/prod.yaml' }, opts);
    expect(alias).toMatchObject({ ok: false, code: 'DENIED' });
    noSecret(alias);
    // The policy saw `config/prod.yaml` itself (and asked): the worker does not second-guess it.
    expect(out(call(fx.ws, 'read', { path: 'config/prod.yaml' }, opts))).toContain(PROD);
    // Ordinary files, also through links, are untouched.
    fs.symlinkSync('.', fx.p('d'));
    expect(out(call(fx.ws, 'read', { path: 'd/src/app.ts' }, opts))).toContain('ok = 1');
  });

  it('writes and edits through an alias are refused, and the file is unchanged', () => {
    fs.symlinkSync('.', fx.p('d'));
    fs.symlinkSync('secrets', fx.p('s'));
    for (const [tool, input] of [
      ['write', { path: 'd/.env', content: 'TOKEN=attacker\n' }],
      ['write', { path: 's/new.key', content: 'planted' }],
      ['edit', { path: 'd/.env', old_string: ENV_SECRET, new_string: 'attacker' }],
    ] as const) {
      expect(call(fx.ws, tool, input, opts), `${tool} ${input.path}`).toMatchObject({ ok: false, code: 'DENIED' });
    }
    expect(fs.readFileSync(fx.p('.env'), 'utf8')).toBe(`TOKEN=${ENV_SECRET}\n`);
    expect(fs.existsSync(fx.p('secrets/new.key'))).toBe(false);
  });

  it('a case variant (a case-folding file system would open the same file) is refused', () => {
    fs.symlinkSync('.', fx.p('d'));
    for (const p of ['.ENV', '.Env', 'SECRETS/api.key', 'd/.ENV']) {
      const r = call(fx.ws, 'read', { path: p }, opts);
      expect(r.ok, p).toBe(false);
      noSecret(r);
    }
  });

  it('a hard link to a denied file is refused (hard links are refused unless allowHardlinks)', () => {
    fs.linkSync(fx.p('.env'), fx.p('src/innocent.txt'));
    const r = call(fx.ws, 'read', { path: 'src/innocent.txt' }, opts);
    expect(r).toMatchObject({ ok: false, code: 'HARDLINK' });
    noSecret(r);
    const g = call(fx.ws, 'grep', { pattern: 'SECRET', output_mode: 'content' }, opts);
    noSecret(g);
  });

  it('with allowHardlinks on, a hard link to a denied file is recognised by its inode', () => {
    fs.linkSync(fx.p('.env'), fx.p('src/innocent.txt'));
    fs.linkSync(fx.p('src/app.ts'), fx.p('src/app-copy.ts')); // an ordinary hard link stays usable
    const on = { ...opts, allowHardlinks: true };
    for (const [tool, input] of [
      ['read', { path: 'src/innocent.txt' }],
      ['grep', { pattern: 'SECRET', path: 'src/innocent.txt' }],
      ['edit', { path: 'src/innocent.txt', old_string: ENV_SECRET, new_string: 'attacker' }],
      ['write', { path: 'src/innocent.txt', content: 'x' }],
    ] as const) {
      const r = call(fx.ws, tool, input, on);
      expect(r, tool).toMatchObject({ ok: false, code: 'DENIED' });
      noSecret(r);
    }
    const g = call(fx.ws, 'grep', { pattern: 'SECRET|ok', output_mode: 'content' }, on);
    noSecret(g);
    expect(out(g)).toContain('src/app-copy.ts');
    expect(out(call(fx.ws, 'read', { path: 'src/app-copy.ts' }, on))).toContain('ok = 1');
    expect(fs.readFileSync(fx.p('.env'), 'utf8')).toBe(`TOKEN=${ENV_SECRET}\n`);
  });
});

describe('tree walks do not see denied paths', () => {
  it('grep over the root, in every mode, through links, with a glob that names them', () => {
    fs.symlinkSync('.', fx.p('d'));
    for (const mode of ['files_with_matches', 'content', 'count'] as const) {
      for (const input of [
        { pattern: 'SECRET|PROD', output_mode: mode },
        { pattern: 'SECRET', output_mode: mode, glob: '.env' },
        { pattern: 'SECRET', output_mode: mode, glob: '**/*.key' },
        { pattern: 'SECRET', output_mode: mode, path: 'd' },
        { pattern: '.', output_mode: mode, case_insensitive: true },
      ]) {
        const r = call(fx.ws, 'grep', input, opts);
        noSecret(r);
        if (r.ok) expect(r.output, JSON.stringify(input)).not.toMatch(/\.env|secrets\/|prod\.yaml/);
      }
    }
    // What is not denied is still found.
    expect(out(call(fx.ws, 'grep', { pattern: 'ok = 1' }, opts))).toContain('src/app.ts');
    // grep started on the denied directory through a link: refused.
    fs.symlinkSync('secrets', fx.p('s'));
    expect(call(fx.ws, 'grep', { pattern: 'SECRET', path: 's' }, opts)).toMatchObject({ ok: false, code: 'DENIED' });
  });

  it('glob and list leave them out; the rest of the tree is listed as before', () => {
    fs.symlinkSync('secrets', fx.p('s'));
    const all = out(call(fx.ws, 'glob', { pattern: '**/*' }, opts));
    expect(all).toContain('src/app.ts');
    expect(all).not.toMatch(/secrets|prod\.yaml/);
    for (const pattern of ['.env', '*env*', 'secrets/**', 'secrets/*', 's/*', 's/**/*.key', 'config/*', '**/.env']) {
      const r = out(call(fx.ws, 'glob', { pattern }, opts));
      expect(r, pattern).not.toMatch(/\.env|api\.key|more\.key|prod\.yaml/);
    }
    const root = out(call(fx.ws, 'list', {}, opts));
    expect(root).toContain('src/');
    expect(root).not.toMatch(/^\.env$|^secrets\//m);
    expect(out(call(fx.ws, 'list', { path: 'config' }, opts))).toBe('[empty directory]\n');
    expect(call(fx.ws, 'list', { path: 's' }, opts)).toMatchObject({ ok: false, code: 'DENIED' });
  });

  it('without guard rules nothing changes (the same calls see everything)', () => {
    expect(out(call(fx.ws, 'grep', { pattern: 'SECRET' }))).toContain('.env');
    expect(out(call(fx.ws, 'list', {}))).toContain('.env');
  });
});

describe('end to end: a real policy file, the pipeline and the worker pool', () => {
  const tmp = tempDir('icode-guard-');

  it('ln -s . d is allowed, read d/.env and grep over the root do not reveal .env', async () => {
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(path.join(ws, 'secrets'), { recursive: true });
    fs.writeFileSync(path.join(ws, '.env'), `TOKEN=${ENV_SECRET}\n`);
    fs.writeFileSync(path.join(ws, 'secrets', 'api.key'), `${KEY_SECRET}\n`);
    fs.symlinkSync('.', path.join(ws, 'd'));
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(
      policy,
      [
        'version: 1',
        'name: guard-e2e',
        'default: allow',
        'rules:',
        '  - id: no-secrets',
        '    decision: deny',
        '    reason: secrets stay secret',
        '    tool: [read, grep, glob, list, write, edit]',
        '    paths: [.env, secrets/**]',
        '',
      ].join('\n'),
    );
    const pipeline = await createPipeline({ workspace: ws, policy, audit: path.join(tmp, 'audit.db'), ask: 'deny' });
    try {
      const direct = await pipeline.call({ tool: 'read', input: { path: '.env' } });
      expect(direct.status).toBe('denied');
      const alias = await pipeline.call({ tool: 'read', input: { path: 'd/.env' } });
      expect(alias.status).toBe('error');
      expect(JSON.stringify(alias)).not.toContain(ENV_SECRET);
      expect(JSON.stringify(alias)).toContain('DENIED');
      const grep = await pipeline.call({ tool: 'grep', input: { pattern: 'SECRET', output_mode: 'content' } });
      expect(grep.status).toBe('ok');
      expect(JSON.stringify(grep)).not.toMatch(new RegExp(`${ENV_SECRET}|${KEY_SECRET}`));
    } finally {
      await pipeline.close();
    }
  });
});

describe('end to end: builtin:readonly, whose secret files are a class (safety.secret-file), not paths', () => {
  const tmp = tempDir('icode-guard-class-');

  // The class decides on the name the call gives: `read notes.txt` (a symlink a repository ships,
  // `notes.txt -> .env`) and `grep` over the root were allowed and printed .env. The class is handed to
  // the worker as guard globs, so resolved paths and walked entries are held to it too.
  it('a symlink to .env and a grep over the root do not reveal it; templates and approved reads still work', async () => {
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(ws, '.env'), `TOKEN_PLAIN ${ENV_SECRET}\n`);
    fs.writeFileSync(path.join(ws, 'sub', 'server.key'), `${KEY_SECRET}\n`);
    fs.writeFileSync(path.join(ws, '.env.example'), 'TOKEN_PLAIN example\n');
    fs.writeFileSync(path.join(ws, 'a.txt'), 'TOKEN_PLAIN ordinary\n');
    fs.symlinkSync('.env', path.join(ws, 'notes.txt'));
    fs.symlinkSync('sub/server.key', path.join(ws, 'readme-key.txt'));
    const deny = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: path.join(tmp, 'audit.db'), ask: 'deny' });
    try {
      for (const p of ['notes.txt', 'readme-key.txt']) {
        const r = await deny.call({ tool: 'read', input: { path: p } });
        expect(JSON.stringify(r), p).not.toMatch(new RegExp(`${ENV_SECRET}|${KEY_SECRET}`));
        expect(JSON.stringify(r), p).toContain('DENIED');
      }
      const grep = await deny.call({ tool: 'grep', input: { pattern: 'TOKEN_PLAIN|SECRET', output_mode: 'content' } });
      expect(grep.status).toBe('ok');
      expect(JSON.stringify(grep)).not.toMatch(new RegExp(`${ENV_SECRET}|${KEY_SECRET}`));
      expect(grep.output).toContain('.env.example');
      expect(grep.output).toContain('ordinary');
      expect((await deny.call({ tool: 'read', input: { path: '.env.example' } })).output).toContain('example');
      // Names are not secrets: list and glob still show that .env exists (an agent that could not see it
      // might write a new one over it), without its contents.
      expect((await deny.call({ tool: 'list', input: { path: '.' } })).output).toMatch(/^\.env$/m);
      expect((await deny.call({ tool: 'glob', input: { pattern: '**/*.key' } })).output).toContain('sub/server.key');
    } finally {
      await deny.close();
    }
    // A person who says yes to reading .env itself gets it: the guard holds aliases, not the approved name.
    const yes = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: path.join(tmp, 'audit2.db'), ask: 'allow' });
    try {
      expect((await yes.call({ tool: 'read', input: { path: '.env' } })).output).toContain(ENV_SECRET);
    } finally {
      await yes.close();
    }
  });
});
