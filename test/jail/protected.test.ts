/**
 * Protected paths (.git/hooks, .git/config, .icode, the policy's own) never change on the host: existing
 * ones are read-only inside the jail (and their parents cannot be renamed away), missing ones may appear
 * in the jail's overlay but the change gate refuses them, so they never reach the workspace — and no
 * placeholder is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JailError, ShellJail } from '../../sandbox/jail/index.js';
import { fixture } from './helpers.js';

function gitInit(dir: string): void {
  execFileSync('git', ['init', '-q', dir], { env: { PATH: '/usr/bin:/bin', HOME: dir } });
}

describe('in a git repository', () => {
  const fx = fixture('icode-jailtest-prot-');
  let jail: ShellJail;
  let config: string;
  const hook = () => join(fx.ws, '.git/hooks/pre-commit');

  beforeAll(async () => {
    gitInit(fx.ws);
    writeFileSync(join(fx.ws, '.git/hooks/post-checkout'), '#!/bin/sh\necho original\n', { mode: 0o755 });
    mkdirSync(join(fx.ws, 'conf'));
    config = readFileSync(join(fx.ws, '.git/config'), 'utf8');
    jail = await ShellJail.start({ workspace: fx.ws, network: false, protectedPaths: ['secrets', 'conf/app.json'] });
  });
  afterAll(() => jail?.close());

  test('cannot add or change a hook', async () => {
    const r = await jail.run('echo evil > .git/hooks/pre-commit; echo evil >> .git/hooks/post-checkout; chmod 777 .git/hooks/post-checkout; echo done');
    expect(r.output).toMatch(/Read-only file system/);
    expect(existsSync(hook())).toBe(false);
    expect(readFileSync(join(fx.ws, '.git/hooks/post-checkout'), 'utf8')).toBe('#!/bin/sh\necho original\n');
  });

  test('cannot change .git/config, directly or through git', async () => {
    const r = await jail.run('echo "[core]\n\thooksPath = /tmp" >> .git/config; git config core.hooksPath evil; git config --get core.hooksPath; echo done');
    expect(r.output).toContain('done');
    expect(readFileSync(join(fx.ws, '.git/config'), 'utf8')).toBe(config);
  });

  test('cannot swap .git or its hooks directory for its own', async () => {
    const r = await jail.run(
      [
        'mv .git .git-old',
        'rm -rf .git/hooks',
        'mv .git/hooks .git/hooks-old',
        'rmdir .git/hooks',
        'ln -sfn /tmp .git/hooks',
        'mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit',
        'echo done',
      ].join('; '),
    );
    expect(r.output).toContain('done');
    expect(r.output).toMatch(/Device or resource busy|Read-only file system/);
    expect(existsSync(join(fx.ws, '.git-old'))).toBe(false);
    expect(existsSync(join(fx.ws, '.git/hooks-old'))).toBe(false);
    expect(lstatSync(join(fx.ws, '.git/hooks')).isDirectory()).toBe(true);
    expect(existsSync(hook())).toBe(false);
    expect(readFileSync(join(fx.ws, '.git/config'), 'utf8')).toBe(config);
  });

  test('the rest of .git stays writable (git works)', async () => {
    const r = await jail.run('echo x > file.txt && git -c user.name=a -c user.email=a@b add file.txt && git -c user.name=a -c user.email=a@b commit -qm one && git log --oneline | wc -l');
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('1');
  });

  test('cannot create .icode, which does not exist yet (and no placeholder is left)', async () => {
    expect(existsSync(join(fx.ws, '.icode'))).toBe(false);
    const r = await jail.run('mkdir -p .icode/x; echo "allow: all" > .icode/policy.yaml; echo done');
    expect(r.output).toContain('done');
    expect(r.refusals?.map((x) => x.path)).toContain('.icode');
    expect(existsSync(join(fx.ws, '.icode'))).toBe(false);
  });

  test("cannot create the policy's protected paths; their siblings stay writable", async () => {
    const r = await jail.run('mkdir secrets; echo x > secrets; echo "{}" > conf/app.json; echo ok > conf/other.json; echo done');
    expect(r.output).toContain('done');
    expect(existsSync(join(fx.ws, 'secrets'))).toBe(false);
    expect(existsSync(join(fx.ws, 'conf/app.json'))).toBe(false);
    expect(r.refusals?.map((x) => x.path).sort()).toEqual(['conf/app.json', 'secrets']);
    expect(readFileSync(join(fx.ws, 'conf/other.json'), 'utf8')).toBe('ok\n');
  });
});

describe('without a repository', () => {
  const fx = fixture('icode-jailtest-prot-');
  let jail: ShellJail;
  beforeAll(async () => {
    jail = await ShellJail.start({ workspace: fx.ws, network: false });
  });
  afterAll(() => jail?.close());

  test('git init works; no hook and no harmful config reaches the workspace', async () => {
    expect(existsSync(join(fx.ws, '.git'))).toBe(false); // no placeholder
    const r = await jail.run('git init -q . ; echo evil > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; echo done');
    expect(r.output).toContain('done');
    expect(readdirSync(join(fx.ws, '.git'))).toContain('HEAD');
    expect(existsSync(join(fx.ws, '.git/hooks/pre-commit'))).toBe(false);
    expect(r.refusals).toEqual([{ path: '.git/hooks/pre-commit', reason: expect.stringMatching(/hooks/) }]);
    // The repository the session made stays writable; its config is held to the allowlist.
    const r2 = await jail.run('git remote add origin https://example.invalid/x.git && echo done');
    expect(r2.output).toContain('done');
    expect(readFileSync(join(fx.ws, '.git/config'), 'utf8')).toMatch(/example\.invalid/);
    const r3 = await jail.run('git config core.fsmonitor "touch /tmp/x"; echo done');
    expect(r3.refusals?.map((x) => x.path)).toEqual(['.git/config']);
    expect(readFileSync(join(fx.ws, '.git/config'), 'utf8')).not.toMatch(/fsmonitor/);
  });
});

describe('refusals and extras', () => {
  test('a protected path that is a symbolic link refuses the jail', async () => {
    const fx = fixture('icode-jailtest-prot-');
    symlinkSync('/etc', join(fx.ws, '.icode'));
    await expect(ShellJail.start({ workspace: fx.ws, network: false })).rejects.toThrow(JailError);
    await expect(ShellJail.start({ workspace: fx.ws, network: false })).rejects.toThrow(/symbolic link/);
  });

  test('a protected path outside the workspace is refused', async () => {
    const fx = fixture('icode-jailtest-prot-');
    await expect(ShellJail.start({ workspace: fx.ws, network: false, protectedPaths: ['../x'] })).rejects.toThrow(/inside the workspace/);
    await expect(ShellJail.start({ workspace: fx.ws, network: false, protectedPaths: ['/etc'] })).rejects.toThrow(/relative/);
  });

  test("core.hooksPath of .git/config is protected too", async () => {
    const fx = fixture('icode-jailtest-prot-');
    gitInit(fx.ws);
    execFileSync('git', ['-C', fx.ws, 'config', 'core.hooksPath', '.husky'], { env: { PATH: '/usr/bin:/bin', HOME: fx.ws } });
    const jail = await ShellJail.start({ workspace: fx.ws, network: false });
    try {
      const r = await jail.run('mkdir -p .husky; echo evil > .husky/pre-commit; echo done');
      expect(r.output).toContain('done');
      expect(existsSync(join(fx.ws, '.husky/pre-commit'))).toBe(false);
    } finally {
      await jail.close();
    }
  });

  test('a .git file (worktree) is read-only', async () => {
    const fx = fixture('icode-jailtest-prot-');
    writeFileSync(join(fx.ws, '.git'), 'gitdir: /somewhere/else\n');
    const jail = await ShellJail.start({ workspace: fx.ws, network: false });
    try {
      const r = await jail.run('echo "gitdir: ./evil" > .git; rm -f .git; echo done');
      expect(r.output).toContain('done');
      expect(readFileSync(join(fx.ws, '.git'), 'utf8')).toBe('gitdir: /somewhere/else\n');
    } finally {
      await jail.close();
    }
  });
});
