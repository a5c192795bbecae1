/**
 * Red-team: the fs tools (read, write, edit, glob, grep, list) through the whole pipeline under
 * builtin:jailed (every call allowed: the fs workers are the only protection). Each case asserts the
 * SAFE outcome; a failing case is a real escape.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';
import { hostGit } from '../helpers/git.js';

const root = tempDir('icode-attack-fs-');
const ws = join(root, 'ws');
const outside = join(root, 'outside');
const SECRET = 'OUTSIDE-SECRET-7f3a';
let p: Pipeline;

function git(args: string[], cwd: string, home: string): { status: number | null; out: string } {
  return hostGit(args, cwd, home);
}

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(outside, { recursive: true });
  mkdirSync(join(root, 'home'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), `${SECRET}\n`);
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  git(['init', '-q', '-b', 'main'], ws, join(root, 'home'));
  git(['add', 'a.txt'], ws, join(root, 'home'));
  git(['commit', '-qm', 'init'], ws, join(root, 'home'));
  // A hostile repository's content: links pointing out of the workspace and into protected places.
  symlinkSync(outside, join(ws, 'out-dir'));
  symlinkSync(join(outside, 'secret.txt'), join(ws, 'out-file'));
  symlinkSync('/proc/self/root/etc', join(ws, 'proc-root'));
  symlinkSync('.git/hooks', join(ws, 'hooks-link'));
  symlinkSync('.git', join(ws, 'git-link'));
  try {
    linkSync(join(outside, 'secret.txt'), join(ws, 'hardlink.txt'));
  } catch {
    /* other file system: the hard-link case is then vacuous */
  }
  p = await createPipeline({ workspace: ws, policy: 'builtin:jailed', audit: join(root, 'audit.db'), session: 'fs-attack' });
});
afterAll(async () => {
  await p?.close();
});

async function call(tool: string, input: Record<string, unknown>) {
  return p.call({ tool, input });
}

describe('git metadata outside the protected list gives the host code execution', () => {
  // .git/config and .git/hooks are protected so that the agent cannot make the person's next `git`
  // on the host run code. But git reads `$GIT_DIR/commondir` and then takes its config (and
  // core.fsmonitor, core.pager, diff.external, …) from that directory instead. `.git/commondir` is not
  // protected (sandbox/fs/types.ts DEFAULT_PROTECTED_PATHS, sandbox/jail/types.ts ALWAYS_PROTECTED,
  // policies' builtin:protected-paths), so two fs `write` calls redirect the repo's config to a file
  // the agent controls.
  it('the write tool cannot redirect git to an agent-controlled config (host `git status` runs nothing)', async () => {
    const marker = join(root, 'HOST-CODE-RAN-fs');
    await call('write', { path: 'evil/config', content: `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "touch ${marker}; false"\n` });
    await call('write', { path: 'evil/objects/keep', content: 'k\n' });
    await call('write', { path: 'evil/refs/keep', content: 'k\n' });
    await call('write', { path: '.git/commondir', content: '../evil\n' });
    // Later, the person runs git in their workspace on the host.
    git(['status'], ws, join(root, 'home'));
    expect(existsSync(marker)).toBe(false);
  });
});

describe('held: reads stay inside the workspace', () => {
  it.each([
    ['../outside/secret.txt'],
    [join(outside, 'secret.txt')],
    ['out-file'],
    ['out-dir/secret.txt'],
    ['proc-root/passwd'],
    ['/proc/self/root/etc/passwd'],
    ['/proc/self/cwd/../outside/secret.txt'],
    [`${ws}/../outside/secret.txt`],
    ['hardlink.txt'],
    ['a.txt\u0000/../../outside/secret.txt'],
  ])('read %s does not reveal the outside secret', async (path) => {
    const r = await call('read', { path });
    expect(`${r.output ?? ''}${r.error ?? ''}`).not.toContain(SECRET);
  });

  it.each([
    [{ tool: 'glob', input: { pattern: '**/*', path: 'out-dir' } }],
    [{ tool: 'glob', input: { pattern: '../outside/*' } }],
    [{ tool: 'glob', input: { pattern: '{..,x}/outside/*' } }],
    [{ tool: 'grep', input: { pattern: 'SECRET', output_mode: 'content' } }],
    [{ tool: 'grep', input: { pattern: 'SECRET', output_mode: 'content', path: 'out-dir' } }],
    [{ tool: 'grep', input: { pattern: 'SECRET', output_mode: 'content', glob: '../**' } }],
    [{ tool: 'list', input: { path: 'out-dir' } }],
    [{ tool: 'list', input: { path: '..' } }],
  ])('%j does not reveal outside content or names', async (c) => {
    const r = await call(c.tool, c.input);
    const text = `${r.output ?? ''}${r.error ?? ''}`;
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('secret.txt');
  });
});

describe('held: writes stay inside the workspace and off protected paths', () => {
  it.each([
    ['out-dir/planted.txt', join(outside, 'planted.txt')],
    ['../outside/planted2.txt', join(outside, 'planted2.txt')],
    ['out-file', join(outside, 'secret.txt')],
    ['hardlink.txt', join(outside, 'secret.txt')],
  ])('write %s does not touch %s', async (path, target) => {
    const before = existsSync(target) ? readFileSync(target, 'utf8') : null;
    await call('write', { path, content: 'PWNED\n' });
    const after = existsSync(target) ? readFileSync(target, 'utf8') : null;
    expect(after).toBe(before);
  });

  it.each([['.git/hooks/pre-commit'], ['hooks-link/pre-commit'], ['git-link/hooks/post-checkout'], ['.GIT/HOOKS/pre-push'], ['.git/config'], ['git-link/config'], ['.icode/policy.yaml'], ['./.git//hooks/../hooks/pre-commit']])(
    'write %s is refused and creates no hook',
    async (path) => {
      const r = await call('write', { path, content: '#!/bin/sh\ntouch /tmp/pwned\n' });
      expect(r.status).not.toBe('ok');
      expect(existsSync(join(ws, '.git/hooks/pre-commit'))).toBe(false);
      expect(existsSync(join(ws, '.git/hooks/post-checkout'))).toBe(false);
      expect(readFileSync(join(ws, '.git/config'), 'utf8')).not.toContain('pwned');
    },
  );

  it('grep on a link to an outside file does not reveal its content', async () => {
    const r = await call('grep', { pattern: 'SECRET', output_mode: 'content', path: 'out-file' });
    expect(`${r.output ?? ''}${r.error ?? ''}`).not.toContain(SECRET);
  });

  it('edit cannot reach through a link to the outside file', async () => {
    await call('edit', { path: 'out-file', old_string: SECRET, new_string: 'CHANGED' });
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toContain(SECRET);
  });
});
