/**
 * `/proc/self/root` (and `/proc/thread-self/root`) is the process's own root directory, so
 * `/proc/self/root/home/u/.ssh/id_rsa` IS ~/.ssh/id_rsa. Paths were resolved lexically without knowing
 * that: a deny rule on `~/.ssh` or on a workspace folder was dodged by spelling the same file through
 * /proc/self/root (allowed by a `default: allow` policy; only asked, never denied, by the built-ins).
 * Another process's root (`/proc/PID/root`) may differ from ours: it stays an outside path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy, type CompiledPolicy } from '../../policies/index.js';
import { denyPathsPolicy, HOME, shellDecision as shell, WS } from '../helpers/deny-paths-policy.js';

let open: CompiledPolicy;
let ww: CompiledPolicy;
let ro: CompiledPolicy;

beforeAll(async () => {
  open = await denyPathsPolicy(['secrets/**']);
  ww = await loadPolicy('builtin:workspace-write', { home: HOME });
  ro = await loadPolicy('builtin:readonly', { home: HOME });
});

const read = (p: CompiledPolicy, path: string): string => p.decide({ tool: 'read', input: { path }, workspace: WS, home: HOME }).decision;

describe('/proc/self/root is the root directory', () => {
  it.each([
    'cat /proc/self/root/home/u/.ssh/id_rsa',
    'cat /proc/thread-self/root/home/u/.ssh/id_rsa',
    'cat /proc/self/root/proc/self/root/home/u/.ssh/id_rsa',
    'cat /proc/self/root//home/u/.ssh/./id_rsa',
    `cat /proc/self/root${WS}/secrets/api.key`,
    `echo x > /proc/self/root${WS}/secrets/api.key`,
  ])('a deny rule on the real path holds: %s', (cmd) => {
    expect(shell(open, cmd)).toBe('deny');
  });

  it('fs tools too', () => {
    expect(read(open, '/proc/self/root/home/u/.ssh/id_rsa')).toBe('deny');
    expect(read(open, `/proc/self/root${WS}/secrets/api.key`)).toBe('deny');
  });

  it('the built-in deny classes see through it', () => {
    expect(shell(ww, 'cat /proc/self/root/home/u/.ssh/id_rsa')).toBe('deny');
    expect(shell(ww, 'rm -rf /proc/self/root/home/u')).toBe('deny');
    expect(read(ro, '/proc/self/root/home/u/.aws/credentials')).toBe('deny');
  });

  it('control: the same file in the workspace is decided as itself; another process root stays outside', () => {
    expect(shell(ro, `cat /proc/self/root${WS}/src/a.ts`)).toBe('allow');
    expect(shell(ro, 'cat /proc/1/root/home/u/.ssh/id_rsa')).not.toBe('allow');
    expect(shell(ro, 'cat /proc/self/rootx/etc/passwd')).not.toBe('allow');
  });
});
