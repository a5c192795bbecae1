/**
 * Red-team: the shell tool in the bubblewrap jail, through the whole pipeline. Policies that allow
 * the command (builtin:jailed, builtin:workspace-write) are used on purpose: the jail must hold.
 * Each case asserts the SAFE outcome; a failing case is a real escape.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';
import { hostGit } from '../helpers/git.js';

const root = tempDir('icode-attack-jail-');
const ws = join(root, 'ws');
const home = join(root, 'home');
const SECRET = 'OUTSIDE-SECRET-91c2';
const PARENT = 'parent-secret-5d1e';
const pipelines: Pipeline[] = [];
let server: Server;
let port = 0;
let connections = 0;

function git(args: string[], cwd: string): { status: number | null; out: string } {
  return hostGit(args, cwd, home);
}

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(root, 'outside.txt'), `${SECRET}\n`);
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  git(['init', '-q', '-b', 'main'], ws);
  git(['add', 'a.txt'], ws);
  git(['commit', '-qm', 'init'], ws);
  process.env.ICODE_ATTACK_PARENT_SECRET = PARENT;
  server = createServer((s) => {
    connections++;
    s.end('HOST-LOOPBACK-SERVICE\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
  delete process.env.ICODE_ATTACK_PARENT_SECRET;
  await new Promise<void>((r) => server.close(() => r()));
});

async function open(name: string, policy = 'builtin:jailed'): Promise<Pipeline> {
  const p = await createPipeline({ workspace: ws, policy, audit: join(root, `${name}.db`), session: name });
  pipelines.push(p);
  return p;
}

async function sh(p: Pipeline, command: string, timeout_ms?: number) {
  return p.call({ tool: 'shell', input: timeout_ms ? { command, timeout_ms } : { command } });
}

describe('host-trusted git metadata stays out of reach', () => {
  // .git/config and .git/hooks are read-only in the jail so that the person's next `git` on the host
  // runs nothing the agent planted. `.git/commondir` is writable, and git then reads the repository
  // config from the directory it names: core.fsmonitor runs on the next `git status` on the host.
  // Responsible: sandbox/jail/types.ts ALWAYS_PROTECTED (and sandbox/jail/protected.ts).
  it('a jailed command cannot make the host git run code', async () => {
    const p = await open('commondir');
    const marker = join(root, 'HOST-CODE-RAN-jail');
    const r = await sh(
      p,
      `mkdir -p evil/objects evil/refs && printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = "touch ${marker}; false"\\n' > evil/config && echo ../evil > .git/commondir; echo done`,
    );
    // The policy sees the redirect to a protected path and denies the whole command…
    expect(r.status).toBe('denied');
    // …and when the write is hidden from the parser, the change gate refuses the planted commondir.
    const hidden = await sh(p, `f=.git/commondir; eval "echo ../evil > $f"; echo done`);
    expect(hidden.status).toBe('error');
    expect(hidden.output).toContain('change refused: .git/commondir');
    expect(existsSync(join(ws, '.git/commondir'))).toBe(false);
    git(['status'], ws);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('held: confinement of jailed commands', () => {
  it('cannot read outside the workspace or see the parent environment', async () => {
    const p = await open('read');
    const r = await sh(p, `cat ${join(root, 'outside.txt')} ../outside.txt /proc/self/root${join(root, 'outside.txt')} 2>&1; env; tr '\\0' '\\n' < /proc/1/environ; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo end`);
    expect(r.output).toContain('end');
    expect(r.output).not.toContain(SECRET);
    expect(r.output).not.toContain(PARENT);
  });

  it('cannot write outside the workspace', async () => {
    const p = await open('write');
    await sh(p, `echo x > ${join(root, 'planted1')}; echo x > ../planted2; ln -s ${root} up 2>/dev/null; echo x > up/planted3; cd /proc/self/root${root} 2>/dev/null && echo x > planted4; echo end`);
    for (const f of ['planted1', 'planted2', 'planted3', 'planted4']) expect(existsSync(join(root, f))).toBe(false);
  });

  it('cannot write protected paths even when the policy allows the command (workspace-write allows cp/mv/sed)', async () => {
    const p = await open('protected', 'builtin:workspace-write');
    const cfg = readFileSync(join(ws, '.git/config'), 'utf8');
    await sh(p, 'echo "#!/bin/sh" > h.sh; cp h.sh .git/hooks/pre-commit; mv h.sh .git/hooks/post-checkout; sed -i s/bare/evil/ .git/config; touch .icode/x');
    await sh(p, 'mv .git .git-old; mkdir -p .git/hooks; echo x > .git/hooks/pre-commit');
    expect(existsSync(join(ws, '.git/hooks/pre-commit'))).toBe(false);
    expect(existsSync(join(ws, '.git/hooks/post-checkout'))).toBe(false);
    expect(existsSync(join(ws, '.git-old'))).toBe(false);
    expect(readFileSync(join(ws, '.git/config'), 'utf8')).toBe(cfg);
  });

  it('cannot reach a service on the host loopback', async () => {
    const p = await open('net');
    const before = connections;
    const r = await sh(p, `(exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3) 2>&1; python3 -c "import socket; s=socket.create_connection(('127.0.0.1', ${port}), 2); print(s.recv(100))" 2>&1; echo end`, 20_000);
    expect(r.output).not.toContain('HOST-LOOPBACK-SERVICE');
    expect(connections).toBe(before);
  });

  it('leaves no process behind after the session closes', async () => {
    const p = await createPipeline({ workspace: ws, policy: 'builtin:jailed', audit: join(root, 'daemon.db'), session: 'daemon' });
    const tag = `9${Math.floor(Math.random() * 1e8)}`;
    await sh(p, `(setsid nohup sleep ${tag} >/dev/null 2>&1 &); (nohup sleep ${tag} >/dev/null 2>&1 &); echo started`);
    await p.close();
    const ps = () => spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    expect(await eventually(() => !ps().includes(`sleep ${tag}`))).toBe(true);
    expect(ps()).not.toContain(`sleep ${tag}`);
  });

  it('cannot write kernel knobs through /proc', async () => {
    const p = await open('proc');
    const r = await sh(p, 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern 2>&1; echo rc=$?');
    expect(r.output).not.toContain('rc=0');
  });
});
