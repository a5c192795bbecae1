/**
 * Issue 17 (change gate): nothing the agent leaves behind runs later. Every case is checked by a side
 * effect on the HOST: a marker file the host's own git would create if it obeyed planted metadata, a
 * file changed, a set-id bit, a secret printed, the audit log rewritten. Commands run in the real jail
 * behind the change gate (overlay + freeze + gate); the pipeline cases use the real pipeline and SQLite.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { createPipeline } from '../../engine/pipeline.js';
import { ShellJail } from '../../sandbox/jail/index.js';
import { hostGit } from '../helpers/git.js';
import { fixture } from '../jail/helpers.js';

/** A config line that makes the host's git create `marker` (core.fsmonitor runs a program on `git status`). */
const fsmonitor = (marker: string) => `touch ${marker}`;

function gitInit(dir: string, home: string): void {
  hostGit(['init', '-q', '-b', 'main'], dir, home);
}

describe('class 1: host tools obeying planted repository metadata', () => {
  const fx = fixture('icode-r3-git-');
  const home = join(fx.dir, 'home');
  const marker = join(fx.dir, 'PWNED');
  let jail: ShellJail;
  beforeAll(async () => {
    mkdirSync(home);
    writeFileSync(join(fx.ws, 'a.txt'), 'a\n');
    gitInit(fx.ws, home);
    hostGit(['add', 'a.txt'], fx.ws, home);
    hostGit(['commit', '-qm', 'init'], fx.ws, home);
    jail = await ShellJail.start({ workspace: fx.ws, network: false });
  });
  afterAll(() => jail?.close(), 180_000);

  /** Runs host git in every folder an attack may have planted a repository in; the marker must not appear. */
  function hostGitEverywhere(dirs: string[]): void {
    for (const d of dirs) if (existsSync(join(fx.ws, d))) hostGit(['status'], join(fx.ws, d), home);
    hostGit(['status'], fx.ws, home);
    expect(existsSync(marker)).toBe(false);
  }

  test('nested repositories in every spelling git accepts, in ignored folders, with old timestamps', async () => {
    const m = fsmonitor(marker);
    const r = await jail.run(
      [
        // a nested repository whose config sets fsmonitor, inside node_modules (an ignored folder), old timestamps
        `mkdir -p node_modules/x && git init -q node_modules/x && git -C node_modules/x config core.fsmonitor '${m}' && touch -d 2001-01-01 node_modules/x/.git/config`,
        // key on the section line, and an include
        `mkdir -p s1/.git s2/.git && printf '[core] fsmonitor = ${m}\\n' > s1/.git/config && echo ref > s1/.git/HEAD`,
        `printf '[include]\\n\\tpath = /tmp/evil\\n' > s2/.git/config`,
        // a gitfile, a .git symlink, a separate-git-dir layout
        `mkdir -p g1 g2 && echo 'gitdir: ../sep' > g1/.git && ln -s ../sep g2/.git`,
        `git init -q --separate-git-dir=sepdir g3 2>&1 | tail -1`,
        // a bare-repository layout outside any .git
        `mkdir -p bare && git init -q --bare bare && git -C bare config core.fsmonitor '${m}'`,
        // the root repository's redirections
        `echo /tmp > .git/commondir; mkdir -p .git/worktrees/w && echo /tmp > .git/worktrees/w/gitdir`,
        'echo done',
      ].join('; '),
    );
    expect(r.output).toContain('done');
    const refused = (r.refusals ?? []).map((x) => x.path);
    for (const p of ['node_modules/x/.git/config', 's1/.git/config', 's2/.git/config', 'g1/.git', 'g2/.git', 'g3/.git', 'bare/config']) expect(refused).toContain(p);
    expect(existsSync(join(fx.ws, '.git/commondir'))).toBe(false);
    expect(existsSync(join(fx.ws, '.git/worktrees'))).toBe(false);
    expect(existsSync(join(fx.ws, 'g1/.git'))).toBe(false);
    expect(existsSync(join(fx.ws, 'g2/.git'))).toBe(false);
    hostGitEverywhere(['node_modules/x', 's1', 's2', 'g1', 'g2', 'g3', 'bare']);
  });

  test('a plain repository the session creates stays usable; its hooks never reach the host', async () => {
    const r = await jail.run(
      'git init -q sub && cd sub && echo x > f && git add f && git -c user.name=a -c user.email=a@b commit -qm one && git checkout -qb feature && git branch | wc -l && ' +
        `printf '#!/bin/sh\\ntouch ${marker}\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout`,
    );
    expect(r.output.trim().split('\n')[0]).toBe('2');
    expect(existsSync(join(fx.ws, 'sub/.git/HEAD'))).toBe(true);
    expect(existsSync(join(fx.ws, 'sub/.git/hooks/post-checkout'))).toBe(false);
    expect(hostGit(['log', '--oneline'], join(fx.ws, 'sub'), home).out.trim().split('\n')).toHaveLength(1);
    hostGit(['checkout', '-q', 'main'], join(fx.ws, 'sub'), home);
    hostGitEverywhere(['sub']);
  });

  test('a background process that writes after its command returned is caught by the next gate', async () => {
    const r = await jail.run(`(sleep 0.3; mkdir -p late/.git; printf '[core]\\n\\tfsmonitor = ${fsmonitor(marker)}\\n' > late/.git/config; echo ref: refs/heads/main > late/.git/HEAD) >/dev/null 2>&1 &`);
    expect(r.exitCode).toBe(0);
    // The next commands' gates (however many it takes for the writer to wake up) refuse what it wrote.
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) refused = (await jail.run('sleep 0.05')).refusals?.some((f) => f.path === 'late/.git/config') === true;
    expect(refused).toBe(true);
    expect(existsSync(join(fx.ws, 'late/.git/config'))).toBe(false);
    hostGitEverywhere(['late']);
  });

  test('a process that keeps writing: each gate applies a consistent state, the last one at close', async () => {
    const fx2 = fixture('icode-r3-bg-');
    const j = await ShellJail.start({ workspace: fx2.ws, network: false });
    await j.run('(for i in $(seq 1 100000); do echo $i >> log; sleep 0.01; done) >/dev/null 2>&1 &');
    for (let i = 0; i < 200 && !existsSync(join(fx2.ws, 'log')); i++) await j.run('sleep 0.05');
    expect(existsSync(join(fx2.ws, 'log'))).toBe(true);
    await j.close();
    const lines = readFileSync(join(fx2.ws, 'log'), 'utf8').trim().split('\n');
    expect(lines.every((l, i) => l === String(i + 1))).toBe(true);
    expect(j.lastGate).not.toBeNull();
  });

  test('a 20 000-folder tree: a repository at the bottom is still refused (no budget)', async () => {
    const r = await jail.run(
      `mkdir -p big && cd big && for i in $(seq 1 200); do for j in $(seq 1 100); do echo d$i/e$j; done; done | xargs mkdir -p && mkdir -p d200/e100/deep/.git && printf '[core]\\n\\tfsmonitor = ${fsmonitor(marker)}\\n' > d200/e100/deep/.git/config && echo done`,
      { timeoutMs: 120_000 },
    );
    expect(r.output).toContain('done');
    expect(r.refusals?.map((x) => x.path)).toContain('big/d200/e100/deep/.git/config');
    expect(statSync(join(fx.ws, 'big/d1/e1')).isDirectory()).toBe(true);
    hostGitEverywhere(['big/d200/e100/deep']);
    await rm(join(fx.ws, 'big'), { recursive: true, force: true }); // here, not in the 60 s cleanup hook
  }, 300_000);
});

describe('class 2: set-id and special files', () => {
  const fx = fixture('icode-r3-setid-');
  let jail: ShellJail;
  beforeAll(async () => {
    jail = await ShellJail.start({ workspace: fx.ws, network: false });
  });
  afterAll(() => jail?.close());

  test('no set-id bit, FIFO or socket reaches the workspace', async () => {
    const r = await jail.run('cp /bin/sh suid && chmod 6755 suid && mkfifo fifo; mkdir -p d && chmod 3777 d; ls -l suid | cut -c1-10');
    expect(r.output).toContain('rwsr-sr-x'); // inside the jail's overlay
    expect(statSync(join(fx.ws, 'suid')).mode & 0o7777).toBe(0o755);
    expect(existsSync(join(fx.ws, 'fifo'))).toBe(false);
    expect(statSync(join(fx.ws, 'd')).mode & 0o7000).toBe(0);
    expect(r.refusals?.map((x) => x.path)).toEqual(expect.arrayContaining(['fifo', 'suid']));
  });

  test('jailed processes run as the unprivileged uid 1000 of the jail, without capabilities', async () => {
    const r = await jail.run("id -u; grep CapEff /proc/self/status | awk '{print $2}'");
    expect(r.output.trim().split('\n')).toEqual(['1000', '0000000000000000']);
  });
});

describe('class 3 and 5 through the pipeline: controls inside the workspace, deny rules through aliases', () => {
  const fx = fixture('icode-r3-ctl-');
  const audit = join(fx.ws, 'audit.db');
  const policyFile = join(fx.ws, 'policy.yaml');
  const policyText = [
    'version: 1',
    'name: r3',
    'default: allow',
    'settings: {jail: bwrap, network: false}',
    'rules:',
    '  - id: r3.secrets',
    '    decision: deny',
    '    reason: secrets',
    '    tool: [read, grep, glob, list]',
    '    paths: [".env", "secrets/**"]',
    '  - id: r3.all',
    '    decision: allow',
    '    reason: all',
    '    tool: "*"',
    '',
  ].join('\n');

  test('the audit database, the policy file and denied secrets stay out of reach of the shell', async () => {
    writeFileSync(policyFile, policyText);
    writeFileSync(join(fx.ws, '.env'), 'TOKEN=hunter2-secret\n');
    mkdirSync(join(fx.ws, 'secrets'));
    writeFileSync(join(fx.ws, 'secrets/key'), 'sk-very-secret\n');
    const p = await createPipeline({ workspace: fx.ws, policy: policyFile, audit, session: 'r3' });
    try {
      const sh = (command: string) => p.call({ tool: 'shell', input: { command } });
      const leak = await sh('ln -s . d; cat d/.env; cat d/secrets/key; cat .env; grep -r secret . ; echo done');
      expect(leak.output).toContain('done');
      expect(leak.output).not.toMatch(/hunter2|sk-very-secret/);
      const tamper = await sh('echo "default: allow" > policy.yaml; rm -f audit.db; mv audit.db x.db; echo > audit.db-wal; echo done');
      expect(tamper.output).toContain('done');
      expect(readFileSync(policyFile, 'utf8')).toBe(policyText);
      expect(existsSync(join(fx.ws, 'x.db'))).toBe(false);
      const viaLink = await sh('mkdir -p o && mv policy.yaml o/ ; ln -sf /tmp/x policy.yaml; echo done');
      expect(viaLink.output).toContain('done');
      expect(lstatSync(policyFile).isFile()).toBe(true);
      expect(readFileSync(policyFile, 'utf8')).toBe(policyText);
      const write = await p.call({ tool: 'write', input: { path: policyFile, content: 'default: allow\n' } });
      expect(write.status).not.toBe('ok');
    } finally {
      await p.close();
    }
    const log = AuditLog.open(audit);
    try {
      expect(log.verify().ok).toBe(true);
      const gateRows = log.list({}).filter((r) => (r as unknown as { name?: string }).name === 'change-gate');
      expect(gateRows.length).toBeGreaterThan(0);
    } finally {
      log.close();
    }
  });
});

describe('controls: ordinary development still works behind the gate', () => {
  test('npm install of a local package (offline)', async () => {
    const fx = fixture('icode-r3-npm-');
    mkdirSync(join(fx.ws, 'pkg'));
    writeFileSync(join(fx.ws, 'pkg/package.json'), JSON.stringify({ name: 'localpkg', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(fx.ws, 'pkg/index.js'), 'module.exports = 42;\n');
    writeFileSync(join(fx.ws, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { localpkg: 'file:./pkg' } }));
    const jail = await ShellJail.start({ workspace: fx.ws, network: false });
    try {
      const r = await jail.run('npm install --offline --no-audit --no-fund >/dev/null 2>&1; node -e "console.log(require(\'localpkg\'))"', { timeoutMs: 120_000 });
      expect(r.output.trim()).toBe('42');
      expect(existsSync(join(fx.ws, 'node_modules/localpkg'))).toBe(true);
      expect(existsSync(join(fx.ws, 'package-lock.json'))).toBe(true);
    } finally {
      await jail.close();
    }
  }, 180_000);

  test('a workspace inside a repository: git status works, the repository above stays read-only', async () => {
    const fx = fixture('icode-r3-sub-');
    const home = join(fx.dir, 'home');
    mkdirSync(home);
    const repo = join(fx.dir, 'repo');
    mkdirSync(join(repo, 'app'), { recursive: true });
    writeFileSync(join(repo, 'app/x.txt'), 'x\n');
    gitInit(repo, home);
    hostGit(['add', '.'], repo, home);
    hostGit(['commit', '-qm', 'init'], repo, home);
    const before = readFileSync(join(repo, '.git/config'), 'utf8');
    const jail = await ShellJail.start({ workspace: join(repo, 'app'), network: false });
    try {
      const r = await jail.run('git -c safe.directory=* status --short; echo y > x.txt; git -c safe.directory=* config core.fsmonitor evil; echo done');
      expect(r.output).toContain('done');
      expect(r.output).not.toMatch(/not a git repository/);
      expect(readFileSync(join(repo, 'app/x.txt'), 'utf8')).toBe('y\n');
      expect(readFileSync(join(repo, '.git/config'), 'utf8')).toBe(before);
    } finally {
      await jail.close();
    }
  });

  test('a shell call leaves no .git or .icode folder behind in a workspace that had none', async () => {
    const fx = fixture('icode-r3-clean-');
    const jail = await ShellJail.start({ workspace: fx.ws, network: false });
    try {
      await jail.run('ls');
      expect(existsSync(join(fx.ws, '.git'))).toBe(false);
      expect(existsSync(join(fx.ws, '.icode'))).toBe(false);
    } finally {
      await jail.close();
    }
  });

  test('a read-only workspace: touch cannot write', async () => {
    const fx = fixture('icode-r3-ro-');
    const jail = await ShellJail.start({ workspace: fx.ws, network: false, readOnly: true });
    try {
      const r = await jail.run('touch newfile; echo done');
      expect(r.output).toMatch(/Read-only file system/);
      expect(existsSync(join(fx.ws, 'newfile'))).toBe(false);
    } finally {
      await jail.close();
    }
    void execFileSync;
  });
});
