/**
 * Every escape class as its own test, against real files. Tools run in-process through the very entry
 * the worker uses (runTool + toResult); pool.test.ts repeats a sample through real worker threads.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInside, lexicalComponents, prepareRoot, verifyFd } from '../../sandbox/fs/confine.js';
import { call, EVIL, failsWith, makeFixture, noSecret, out, SECRET, type Fixture } from './fixture.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
  fx.write('hello.txt', 'hello\nworld\n');
  fx.write('a/b/c/deep.txt', 'deep\n');
});
afterAll(() => fx.cleanup());

describe('lexical confinement', () => {
  it('isInside compares whole components', () => {
    expect(isInside('/ws', '/ws')).toBe(true);
    expect(isInside('/ws', '/ws/a')).toBe(true);
    expect(isInside('/ws', '/ws-evil')).toBe(false);
    expect(isInside('/ws', '/ws-evil/a')).toBe(false);
    expect(isInside('/ws', '/wsx')).toBe(false);
    expect(isInside('/ws', '/')).toBe(false);
  });

  it('reads a plain file (control: the fixture works)', () => {
    expect(out(call(fx.ws, 'read', { path: 'hello.txt' }))).toContain('hello');
    expect(out(call(fx.ws, 'read', { path: path.join(fx.ws, 'hello.txt') }))).toContain('hello'); // absolute inside: fine
  });

  it('refuses ../outside/secret', () => {
    failsWith(call(fx.ws, 'read', { path: '../outside/secret' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: 'a/b/../../../outside/secret' }), 'OUTSIDE_ROOT');
  });

  it('allows .. that stays inside', () => {
    expect(out(call(fx.ws, 'read', { path: 'a/b/../../hello.txt' }))).toContain('world');
  });

  it('refuses an absolute path outside the root', () => {
    failsWith(call(fx.ws, 'read', { path: path.join(fx.outside, 'secret') }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: '/etc/passwd' }), 'OUTSIDE_ROOT');
  });

  it('refuses the /ws vs /ws-evil prefix confusion', () => {
    failsWith(call(fx.ws, 'read', { path: fx.evil + '/secret.txt' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: '../ws-evil/secret.txt' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'list', { path: fx.evil }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'write', { path: fx.evil + '/x', content: 'x' }), 'OUTSIDE_ROOT');
    expect(fs.existsSync(fx.evil + '/x')).toBe(false);
  });

  it('refuses NUL bytes', () => {
    failsWith(call(fx.ws, 'read', { path: 'hello.txt\0../../outside/secret' }), 'INVALID');
  });

  it('refuses /proc, /dev, /sys directly', () => {
    failsWith(call(fx.ws, 'read', { path: '/proc/self/environ' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: '/dev/zero' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'list', { path: '/sys' }), 'OUTSIDE_ROOT');
  });

  it('refuses a workspace root of / or under /proc', () => {
    expect(() => prepareRoot('/')).toThrow(/refusing/);
    expect(() => prepareRoot('/proc/self')).toThrow(/refusing/);
    failsWith(call('relative/root', 'read', { path: 'x' }), 'INVALID');
  });

  it('verifyFd judges the opened descriptor by its real path', () => {
    const ctx = prepareRoot(fx.ws);
    const inside = fs.openSync(fx.p('hello.txt'), 'r');
    const outsideFd = fs.openSync(path.join(fx.outside, 'secret'), 'r');
    const evilFd = fs.openSync(path.join(fx.evil, 'secret.txt'), 'r');
    try {
      expect(verifyFd(ctx, inside, 'x')).toBe(fs.realpathSync(fx.p('hello.txt')));
      expect(() => verifyFd(ctx, outsideFd, 'x')).toThrow(/outside the workspace/);
      expect(() => verifyFd(ctx, evilFd, 'x')).toThrow(/outside the workspace/);
    } finally {
      [inside, outsideFd, evilFd].forEach((fd) => fs.closeSync(fd));
    }
  });

  it('normalises spellings to components under the root', () => {
    const ctx = prepareRoot(fx.ws);
    expect(lexicalComponents(ctx, './.git//hooks/../hooks/x')).toEqual(['.git', 'hooks', 'x']);
    expect(lexicalComponents(ctx, fx.ws + '/')).toEqual([]);
  });
});

describe('symlinks', () => {
  beforeAll(() => {
    fs.symlinkSync(path.join(fx.outside, 'secret'), fx.p('file-out'));
    fs.symlinkSync('../outside/secret', fx.p('file-out-rel'));
    fs.mkdirSync(fx.p('d1/d2/d3'), { recursive: true });
    fs.symlinkSync(fx.outside, fx.p('d1/d2/d3/dir-out'));
    fs.symlinkSync('loop-b', fx.p('loop-a'));
    fs.symlinkSync('loop-a', fx.p('loop-b'));
    fs.symlinkSync('hello.txt', fx.p('link-in'));
    fs.symlinkSync('a/b', fx.p('dirlink-in'));
    fs.symlinkSync('/proc/self/root', fx.p('procroot'));
    fs.symlinkSync('/proc/self/root/etc/passwd', fx.p('passwd'));
    fs.symlinkSync('/proc/self/environ', fx.p('environ'));
    fs.symlinkSync('/dev/zero', fx.p('zero'));
    fs.symlinkSync(fx.evil, fx.p('evil-link'));
  });

  it('refuses a file symlink pointing outside (absolute and relative)', () => {
    failsWith(call(fx.ws, 'read', { path: 'file-out' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: 'file-out-rel' }), 'OUTSIDE_ROOT');
  });

  it('refuses a directory symlink out at depth 3', () => {
    failsWith(call(fx.ws, 'read', { path: 'd1/d2/d3/dir-out/secret' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: 'd1/d2/d3/dir-out/sub/secret.txt' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'list', { path: 'd1/d2/d3/dir-out' }), 'OUTSIDE_ROOT');
  });

  it('refuses a symlink to the sibling ws-evil', () => {
    failsWith(call(fx.ws, 'read', { path: 'evil-link/secret.txt' }), 'OUTSIDE_ROOT');
  });

  it('stops a symlink loop', () => {
    failsWith(call(fx.ws, 'read', { path: 'loop-a' }), 'SYMLINK_LOOP');
    failsWith(call(fx.ws, 'read', { path: 'loop-a/x' }), 'SYMLINK_LOOP');
  });

  it('follows symlinks that stay inside', () => {
    expect(out(call(fx.ws, 'read', { path: 'link-in' }))).toContain('hello');
    expect(out(call(fx.ws, 'read', { path: 'dirlink-in/c/deep.txt' }))).toContain('deep');
  });

  it('refuses /proc/self/environ through a symlink', () => {
    failsWith(call(fx.ws, 'read', { path: 'environ' }), 'OUTSIDE_ROOT');
  });

  it('refuses /proc/self/root/etc/passwd through a symlink (directory or file link)', () => {
    failsWith(call(fx.ws, 'read', { path: 'procroot/etc/passwd' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'read', { path: 'passwd' }), 'OUTSIDE_ROOT');
  });

  it('refuses /dev/zero through a symlink', () => {
    failsWith(call(fx.ws, 'read', { path: 'zero' }), 'OUTSIDE_ROOT');
  });

  it('lists symlinks without following them', () => {
    const listing = out(call(fx.ws, 'list', { path: 'd1/d2/d3' }));
    expect(listing).toBe(`dir-out -> ${fx.outside}\n`);
    expect(out(call(fx.ws, 'list', {}))).toContain('a/\n');
  });

  it('works when the root itself is given through a symlink', () => {
    const alias = path.join(fx.base, 'ws-alias');
    fs.symlinkSync(fx.ws, alias);
    expect(out(call(alias, 'read', { path: 'hello.txt' }))).toContain('hello');
    expect(out(call(alias, 'read', { path: alias + '/hello.txt' }))).toContain('hello');
    failsWith(call(alias, 'read', { path: '../outside/secret' }), 'OUTSIDE_ROOT');
  });
});

describe('special files', () => {
  it('refuses a FIFO without hanging', () => {
    execFileSync('mkfifo', [fx.p('fifo')]);
    failsWith(call(fx.ws, 'read', { path: 'fifo' }), 'SPECIAL_FILE');
    failsWith(call(fx.ws, 'write', { path: 'fifo', content: 'x' }), 'SPECIAL_FILE');
    failsWith(call(fx.ws, 'edit', { path: 'fifo', old_string: 'a', new_string: 'b' }), 'SPECIAL_FILE');
  });

  it('refuses a unix socket', async () => {
    const sock = fx.p('sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      expect(fs.lstatSync(sock).isSocket()).toBe(true);
      failsWith(call(fx.ws, 'read', { path: 'sock' }), 'SPECIAL_FILE');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a device node inside the workspace', (t) => {
    try {
      execFileSync('mknod', [fx.p('null-dev'), 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      t.skip(); // needs CAP_MKNOD
      return;
    }
    failsWith(call(fx.ws, 'read', { path: 'null-dev' }), 'SPECIAL_FILE');
  });

  it('refuses reading a directory as a file', () => {
    failsWith(call(fx.ws, 'read', { path: 'a' }), 'NOT_A_FILE');
    failsWith(call(fx.ws, 'read', { path: '.' }), 'NOT_A_FILE');
  });
});

describe('hard links', () => {
  beforeAll(() => {
    fs.linkSync(path.join(fx.outside, 'secret'), fx.p('hardlink'));
  });

  it('refuses a hard link to an outside file by default (read, grep, write, edit)', () => {
    failsWith(call(fx.ws, 'read', { path: 'hardlink' }), 'HARDLINK');
    failsWith(call(fx.ws, 'write', { path: 'hardlink', content: 'x' }), 'HARDLINK');
    failsWith(call(fx.ws, 'edit', { path: 'hardlink', old_string: 'OUTSIDE', new_string: 'x' }), 'HARDLINK');
    const g = call(fx.ws, 'grep', { pattern: 'OUTSIDE', output_mode: 'content' });
    noSecret(g);
    expect(fs.readFileSync(path.join(fx.outside, 'secret'), 'utf8')).toBe(SECRET + '\n');
  });

  it('reads it when allowHardlinks is on', () => {
    expect(out(call(fx.ws, 'read', { path: 'hardlink' }, { allowHardlinks: true }))).toContain(SECRET);
  });

  it('writing a hard-linked file with allowHardlinks replaces the name, never the shared inode', () => {
    const r = call(fx.ws, 'write', { path: 'hardlink', content: 'mine\n' }, { allowHardlinks: true });
    expect(out(r)).toMatch(/^Overwrote hardlink/);
    expect(fs.readFileSync(path.join(fx.outside, 'secret'), 'utf8')).toBe(SECRET + '\n');
    expect(fs.readFileSync(fx.p('hardlink'), 'utf8')).toBe('mine\n');
  });
});

describe('protected paths', () => {
  beforeAll(() => {
    fx.write('.git/config', '[core]\n');
    fx.write('.git/hooks/README', 'hooks\n');
    fs.symlinkSync('.git', fx.p('link'));
    fs.symlinkSync('.git/hooks', fx.p('hooks-link'));
    fs.symlinkSync('.git/hooks/pre-commit', fx.p('precommit-link'));
  });
  const refused = (p: string): void => {
    failsWith(call(fx.ws, 'write', { path: p, content: '#!/bin/sh\nevil\n' }), 'PROTECTED');
  };

  it('never writes .git/hooks/pre-commit', () => {
    refused('.git/hooks/pre-commit');
    expect(fs.existsSync(fx.p('.git/hooks/pre-commit'))).toBe(false);
  });
  it('never writes .git/config (write or edit)', () => {
    refused('.git/config');
    failsWith(call(fx.ws, 'edit', { path: '.git/config', old_string: '[core]', new_string: '[core]\nfsmonitor=evil' }), 'PROTECTED');
    expect(fs.readFileSync(fx.p('.git/config'), 'utf8')).toBe('[core]\n');
  });
  it('never writes .icode/x, nor creates .icode', () => {
    refused('.icode/x');
    refused('.icode');
    expect(fs.existsSync(fx.p('.icode'))).toBe(false);
  });
  it('refuses other spellings: a/../.git/hooks/x, ./.git//hooks/../hooks/x, absolute, case', () => {
    refused('a/../.git/hooks/x');
    refused('./.git//hooks/../hooks/x');
    refused(fx.p('.git/hooks/x'));
    refused('.GIT/Hooks/x');
    refused('.git/hooks/sub/dir/x');
    expect(fs.existsSync(fx.p('.git/hooks/x'))).toBe(false);
    expect(fs.existsSync(fx.p('.git/hooks/sub'))).toBe(false);
  });
  it('refuses writes through a symlink: link -> .git, hooks-link, a file link', () => {
    refused('link/hooks/pre-commit');
    refused('link/config');
    refused('hooks-link/pre-commit');
    // a final link is refused before its target is looked at (edit and write never follow one)
    failsWith(call(fx.ws, 'write', { path: 'precommit-link', content: '#!/bin/sh\nevil\n' }), 'SYMLINK');
    expect(fs.existsSync(fx.p('.git/hooks/pre-commit'))).toBe(false);
    expect(fs.readFileSync(fx.p('.git/config'), 'utf8')).toBe('[core]\n');
  });
  it('refuses replacing the hooks directory itself', () => {
    refused('.git/hooks');
  });
  it('honours extra protected globs from the options', () => {
    failsWith(call(fx.ws, 'write', { path: 'secrets/k.pem', content: 'x' }, { protectedPaths: ['secrets/**'] }), 'PROTECTED');
    // and the defaults stay even when the option omits them
    failsWith(call(fx.ws, 'write', { path: '.icode/y', content: 'x' }, { protectedPaths: [] }), 'PROTECTED');
  });
  it('still reads protected paths', () => {
    expect(out(call(fx.ws, 'read', { path: '.git/config' }))).toContain('[core]');
  });
});

describe('writes and symlinks', () => {
  it('refuses edit and write of a symlink, even one whose target is inside (the link and target are untouched)', () => {
    fx.write('target.txt', 'old\n');
    fs.symlinkSync('target.txt', fx.p('to-target'));
    failsWith(call(fx.ws, 'write', { path: 'to-target', content: 'new\n' }), 'SYMLINK');
    failsWith(call(fx.ws, 'edit', { path: 'to-target', old_string: 'old', new_string: 'new' }), 'SYMLINK');
    expect(fs.readFileSync(fx.p('target.txt'), 'utf8')).toBe('old\n');
    expect(fs.lstatSync(fx.p('to-target')).isSymbolicLink()).toBe(true);
  });

  it('refuses writing through a symlink to outside (file and directory links)', () => {
    fs.symlinkSync(path.join(fx.outside, 'secret'), fx.p('w-out'));
    fs.symlinkSync(fx.outside, fx.p('w-dir-out'));
    fs.symlinkSync(path.join(fx.outside, 'new-file'), fx.p('w-dangling-out'));
    failsWith(call(fx.ws, 'write', { path: 'w-out', content: 'pwned' }), 'SYMLINK');
    failsWith(call(fx.ws, 'write', { path: 'w-dir-out/secret', content: 'pwned' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'write', { path: 'w-dir-out/newdir/x', content: 'pwned' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'write', { path: 'w-dangling-out', content: 'pwned' }), 'SYMLINK');
    failsWith(call(fx.ws, 'edit', { path: 'w-out', old_string: 'OUTSIDE', new_string: 'x' }), 'SYMLINK');
    expect(fs.readFileSync(path.join(fx.outside, 'secret'), 'utf8')).toBe(SECRET + '\n');
    expect(fs.existsSync(path.join(fx.outside, 'new-file'))).toBe(false);
    expect(fs.existsSync(path.join(fx.outside, 'newdir'))).toBe(false);
  });

  it('creates parent directories inside the root', () => {
    const r = call(fx.ws, 'write', { path: 'new/dir/tree/file.txt', content: 'x' });
    expect(out(r)).toBe('Created new/dir/tree/file.txt (1 byte)');
    expect(fs.readFileSync(fx.p('new/dir/tree/file.txt'), 'utf8')).toBe('x');
  });

  it('creates parents below a directory link that stays inside, refuses one planted outside', () => {
    fs.mkdirSync(fx.p('real-dir'));
    fs.symlinkSync('real-dir', fx.p('dir-alias'));
    out(call(fx.ws, 'write', { path: 'dir-alias/p/q.txt', content: 'q' }));
    expect(fs.readFileSync(fx.p('real-dir/p/q.txt'), 'utf8')).toBe('q');
    fs.mkdirSync(fx.p('mk'));
    fs.symlinkSync(fx.outside, fx.p('mk/planted'));
    failsWith(call(fx.ws, 'write', { path: 'mk/planted/deeper/x', content: 'x' }), 'OUTSIDE_ROOT');
    expect(fs.existsSync(path.join(fx.outside, 'deeper'))).toBe(false);
  });

  it('never follows a symlink planted at a temp-file name, and leaves no temp file', () => {
    fx.write('t/file.txt', 'a');
    const before = fs.readdirSync(fx.p('t'));
    out(call(fx.ws, 'write', { path: 't/file.txt', content: 'b' }));
    expect(fs.readdirSync(fx.p('t'))).toEqual(before);
    expect(fs.readFileSync(fx.p('t/file.txt'), 'utf8')).toBe('b');
  });

  it('writes are atomic: the target is replaced by rename (new inode), mode kept', () => {
    const f = fx.write('atomic.sh', '#!/bin/sh\n');
    fs.chmodSync(f, 0o755);
    const ino = fs.statSync(f).ino;
    out(call(fx.ws, 'write', { path: 'atomic.sh', content: '#!/bin/sh\necho\n' }));
    const st = fs.statSync(f);
    expect(st.ino).not.toBe(ino);
    expect(st.mode & 0o777).toBe(0o755);
  });

  it('refuses writing over a directory or at the root', () => {
    failsWith(call(fx.ws, 'write', { path: 'a', content: 'x' }), 'NOT_A_FILE');
    failsWith(call(fx.ws, 'write', { path: '.', content: 'x' }), 'NOT_A_FILE');
  });
});

describe('no tool ever reports outside content', () => {
  it('glob and grep with ** and symlinked dirs stay inside', () => {
    fs.mkdirSync(fx.p('g'), { recursive: true });
    fs.symlinkSync(fx.outside, fx.p('g/out-dir'));
    fs.symlinkSync(fx.evil, fx.p('g/evil-dir'));
    const g = call(fx.ws, 'glob', { pattern: '**/*' });
    noSecret(g);
    const globOut = out(g);
    expect(globOut).not.toMatch(/secret\.txt|sub\//);
    expect(globOut).toContain('g/out-dir\n'); // the link itself is an entry, never entered
    const gr = call(fx.ws, 'grep', { pattern: 'SECRET', output_mode: 'content' });
    noSecret(gr);
    expect(out(gr)).not.toContain('out-dir');
    const gr2 = call(fx.ws, 'grep', { pattern: '.', path: 'g/out-dir' });
    failsWith(gr2, 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'glob', { pattern: '*', path: 'g/out-dir' }), 'OUTSIDE_ROOT');
    expect(EVIL).not.toBe(SECRET);
  });

  it('glob follows a literal base link that stays inside, refuses one that leads out', () => {
    expect(out(call(fx.ws, 'glob', { pattern: 'dirlink-in/**/*.txt' }))).toBe('dirlink-in/c/deep.txt\n');
    failsWith(call(fx.ws, 'glob', { pattern: 'g/out-dir/**' }), 'OUTSIDE_ROOT');
    failsWith(call(fx.ws, 'glob', { pattern: 'd1/d2/d3/dir-out/*' }), 'OUTSIDE_ROOT');
  });

  it('glob refuses absolute patterns and .. segments', () => {
    failsWith(call(fx.ws, 'glob', { pattern: '/etc/*' }), 'INVALID');
    failsWith(call(fx.ws, 'glob', { pattern: '../outside/*' }), 'INVALID');
    failsWith(call(fx.ws, 'glob', { pattern: 'a/../../outside/**' }), 'INVALID');
    failsWith(call(fx.ws, 'glob', { pattern: '{..,a}/*' }), 'INVALID');
    failsWith(call(fx.ws, 'grep', { pattern: 'x', glob: '../**' }), 'INVALID');
  });
});
