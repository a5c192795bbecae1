/**
 * Issue 17, class 2: as root, no jailed process runs as host root. The jail's user maps to an
 * unprivileged host uid (userns.ts), the workspace reaches it through an idmapped mount, and ordinary
 * development (editing root-owned files, git, npm) still works. Checked by side effects on the host: the
 * host's view of a jailed process, ownership of files the jail made, the workspace's files after the gate.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ShellJail, stdioJailCommand } from '../../sandbox/jail/index.js';
import { descendants } from '../../sandbox/jail/procs.js';
import { JAIL_HOST_ID } from '../../sandbox/jail/userns.js';
import { eventually, fixture, processesInNamespace } from './helpers.js';

const isRoot = process.getuid?.() === 0;

function hostUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'latin1').split('\n').find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}

/** Every file under `dir` with a set-id bit. */
function setIdFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = lstatSync(join(dir, e));
    if (st.mode & 0o6000) out.push(e);
  }
  return out;
}

describe.skipIf(!isRoot)('as root, the jail runs as an unprivileged host uid', () => {
  const fx = fixture('icode-hostuid-');
  let jail: ShellJail;
  beforeAll(async () => {
    chmodSync(fx.dir, 0o700); // a workspace bwrap could not reach as that uid without the launcher
    writeFileSync(join(fx.ws, 'root.txt'), 'hello\n', { mode: 0o644 });
    chmodSync(join(fx.ws, 'root.txt'), 0o644);
    mkdirSync(join(fx.ws, 'sub'));
    writeFileSync(join(fx.ws, 'sub', 'secret-ish.txt'), 'only root reads this on the host\n', { mode: 0o600 });
    jail = await ShellJail.start({ workspace: fx.ws, network: false });
  }, 60_000);
  afterAll(() => jail?.close(), 60_000);

  test('jailed processes are not host root: /proc/PID/status seen from the host', async () => {
    const r = await jail.run('sleep 30 >/dev/null 2>&1 & echo started');
    expect(r.output).toContain('started');
    const { pidNamespace, supervisor } = jail.hostPids;
    await eventually(() => expect(processesInNamespace(pidNamespace!).some((p) => p.cmd.startsWith('sleep'))).toBe(true));
    const sleeper = processesInNamespace(pidNamespace!).find((p) => p.cmd.startsWith('sleep'))!;
    expect(hostUid(sleeper.pid)).toBe(JAIL_HOST_ID);
    expect(hostUid(supervisor)).toBe(JAIL_HOST_ID);
    expect((await jail.run('id -u')).output.trim()).toBe('1000');
  });

  test('a file the jail creates is owned by that uid where it lands unchecked (/tmp), by the workspace owner once gated', async () => {
    const r = await jail.run('echo made > made.txt && echo t > /tmp/probe && stat -c %u made.txt');
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('1000');
    // The jail's /tmp, seen from the host: the creating process was the unprivileged uid, not root.
    expect(statSync(`/proc/${jail.hostPids.root}/root/tmp/probe`).uid).toBe(JAIL_HOST_ID);
    const st = statSync(join(fx.ws, 'made.txt'));
    expect(readFileSync(join(fx.ws, 'made.txt'), 'utf8')).toBe('made\n');
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test('root-owned workspace files are the jail user\'s to edit: sed -i on a 0644 file, reading a 0600 one', async () => {
    const r = await jail.run('sed -i s/hello/HELLO/ root.txt && cat sub/secret-ish.txt && echo more >> sub/secret-ish.txt && echo ok');
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('only root reads this');
    expect(readFileSync(join(fx.ws, 'root.txt'), 'utf8')).toBe('HELLO\n');
    const st = statSync(join(fx.ws, 'root.txt'));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o644]);
    expect(statSync(join(fx.ws, 'sub', 'secret-ish.txt')).mode & 0o7777).toBe(0o600);
  });

  test('a set-id binary never reaches the workspace', async () => {
    const r = await jail.run('cp /bin/true suid && chmod 6755 suid && chmod u+s root.txt; ls -l suid');
    expect(r.output).toMatch(/rws/); // the jail's own view
    expect(existsSync(join(fx.ws, 'suid'))).toBe(true);
    expect(setIdFiles(fx.ws)).toEqual([]);
    expect(r.refusals?.some((x) => x.path === 'suid' && /set-id/.test(x.reason))).toBe(true);
  });

  test('git init, commit and branch work in the jail; the host sees the commit', async () => {
    const r = await jail.run('git init -q -b main repo && cd repo && echo x > f && git add f && git -c user.email=a@b -c user.name=a commit -qm first && git branch topic && git log --oneline | wc -l');
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('1');
    const log = execFileSync('git', ['-C', join(fx.ws, 'repo'), 'log', '--format=%s'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: fx.dir, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(log.trim()).toBe('first');
    expect(statSync(join(fx.ws, 'repo', '.git', 'HEAD')).uid).toBe(0);
  });

  test('npm install of a local package works', async () => {
    mkdirSync(join(fx.ws, 'pkg'));
    writeFileSync(join(fx.ws, 'pkg', 'package.json'), JSON.stringify({ name: 'localpkg', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(fx.ws, 'pkg', 'index.js'), 'module.exports = 42;\n');
    writeFileSync(join(fx.ws, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const r = await jail.run('cd pkg && npm pack --silent >/dev/null && cd .. && npm install --offline --no-audit --no-fund ./pkg/localpkg-1.0.0.tgz >/dev/null && node -e "console.log(require(\'localpkg\'))"', { timeoutMs: 120_000 });
    expect(r.output).toContain('42');
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(fx.ws, 'node_modules', 'localpkg', 'index.js'), 'utf8')).toContain('42');
    expect(statSync(join(fx.ws, 'node_modules', 'localpkg', 'index.js')).uid).toBe(0);
  }, 150_000);
});

describe.skipIf(!isRoot)('as root, an MCP stdio jail', () => {
  test('runs as the unprivileged uid and reads the root-owned workspace through the idmapped mount', async () => {
    const fx = fixture('icode-hostuid-stdio-');
    writeFileSync(join(fx.ws, 'root-only.txt'), 'ROOT-ONLY-CONTENT\n', { mode: 0o600 });
    const cmd = stdioJailCommand({ workspace: fx.ws, writable: false, network: false, command: '/bin/sh', args: ['-c', 'cat root-only.txt; id -u; echo x > w 2>/dev/null || echo read-only; exec sleep 30'] });
    const fds = cmd.files.map((f) => openSync(f, 'r'));
    const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe', ...fds] });
    fds.forEach((fd) => closeSync(fd));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      expect(await eventually(() => out.includes('read-only'), 20_000)).toBe(true);
      expect(out).toContain('ROOT-ONLY-CONTENT');
      expect(out).toContain('1000');
      let sleeper: number | undefined;
      expect(await eventually(() => (sleeper = descendants(child.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'latin1').startsWith('sleep'))) !== undefined)).toBe(true);
      expect(hostUid(sleeper!)).toBe(JAIL_HOST_ID);
      expect(hostUid(child.pid!)).toBe(JAIL_HOST_ID); // bwrap itself
    } finally {
      child.kill('SIGKILL');
      cmd.cleanup();
    }
  });
});

describe.skipIf(!isRoot)('as root, a workspace owned by another user', () => {
  const fx = fixture('icode-hostuid-other-');
  let jail: ShellJail;
  beforeAll(async () => {
    writeFileSync(join(fx.ws, 'theirs.txt'), 'v1\n', { mode: 0o644 });
    chownSync(fx.ws, 4321, 4321);
    chownSync(join(fx.ws, 'theirs.txt'), 4321, 4321);
    jail = await ShellJail.start({ workspace: fx.ws, network: false });
  }, 60_000);
  afterAll(() => jail?.close(), 60_000);

  test("the owner's files are the jail user's; what the gate applies stays the owner's", async () => {
    const r = await jail.run('echo v2 > theirs.txt && echo new > new.txt && stat -c %u theirs.txt');
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('1000');
    expect(readFileSync(join(fx.ws, 'theirs.txt'), 'utf8')).toBe('v2\n');
    for (const f of ['theirs.txt', 'new.txt']) expect([statSync(join(fx.ws, f)).uid, statSync(join(fx.ws, f)).gid]).toEqual([4321, 4321]);
  });
});
