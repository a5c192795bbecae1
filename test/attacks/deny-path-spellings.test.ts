/**
 * Deny rules on paths under a policy that allows the rest (`default: allow`, deny `~/.ssh/**`,
 * `secrets/**`, `.env`): spellings of the same file the policy did not resolve.
 * - git names files inside a commit or the index as `REV:path`, `:path`, `:N:path`, takes pathspec magic
 *   (`:/x` is x from the top, `:(top)x`) and matches pathspecs as globs: `git show HEAD:secrets/api.key`
 *   and `git log -p -- 'secre?s'` print a denied file's committed contents (the jail's masks only hide
 *   the working tree).
 * - A `key=value` operand names a file by its value: `dd if=secrets/api.key` was decided on the path
 *   `if=secrets/api.key`.
 * - A value attached to a short option was taken from its first `/` (`awk -fsecrets/api.key` became
 *   `/api.key`, outside) or not at all without one (`awk -f.env`): awk and jq print the lines of a
 *   program file they cannot parse.
 * - After `HOME=…` or `export HOME=…` bash expands `~` to the new value: `HOME=$PWD/secrets; cat ~/api.key`
 *   read a denied file through a path the policy resolved against the real home.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy, type CompiledPolicy } from '../../policies/index.js';
import { denyPathsPolicy, HOME, shellDecision as shell, WS } from '../helpers/deny-paths-policy.js';

let open: CompiledPolicy;
let ro: CompiledPolicy;

beforeAll(async () => {
  open = await denyPathsPolicy(['secrets/**', '.env']);
  ro = await loadPolicy('builtin:readonly', { home: HOME });
});


describe('git: files in commits, pathspec magic and glob pathspecs', () => {
  it.each([
    'git show HEAD:secrets/api.key', 'git show :secrets/api.key', 'git show :0:.env', 'git cat-file -p main:secrets/api.key',
    'git show HEAD:./secrets/api.key', 'git log -p -- :/secrets/api.key', "git log -p -- ':(top)secrets/api.key'",
    "git log -p -- 'secre?s/api.key'", "git show HEAD -- 's*/api.key'", "git grep token -- '*'",
  ])('%s is denied', (cmd) => {
    expect(shell(open, cmd)).toBe('deny');
  });

  it('control: other files, revisions and formats are untouched', () => {
    for (const cmd of ['git show HEAD:src/a.ts', 'git log --format=%H:%s', 'git log origin/main..HEAD', 'git diff -- src/a.ts', "git log -- ':!src'"]) {
      expect([cmd, shell(open, cmd)]).toEqual([cmd, 'allow']);
    }
    for (const cmd of ["git diff -- '*.ts'", "git log -- 'src/*.ts'", 'git show HEAD~1:package.json', "git grep TODO -- '*.ts'"]) {
      expect([cmd, shell(ro, cmd)]).toEqual([cmd, 'allow']);
    }
    expect(shell(ro, "git diff -- '../*'")).not.toBe('allow');
  });
});

describe('HOME reassigned: ~ is no longer the home the policy knows', () => {
  it.each([
    `HOME=${WS}/secrets; cat ~/api.key`, `export HOME=${WS}/secrets; cat ~/api.key`, `declare HOME=${WS}/secrets; cat ~/api.key`,
    `for HOME in ${WS}/secrets; do cat ~/api.key; done`, `HOME=${WS}/secrets && cat ~/api.key`,
  ])('%s is denied', (cmd) => {
    expect(shell(open, cmd)).toBe('deny');
  });

  it('a credential read through ~ stays denied when HOME is set first (not downgraded to an ask)', async () => {
    const ww = await loadPolicy('builtin:workspace-write', { home: HOME });
    for (const cmd of ['HOME=$HOME; cat ~/.ssh/id_rsa', 'export HOME=/tmp; cat ~/.ssh/id_rsa']) expect([cmd, shell(ww, cmd)]).toEqual([cmd, 'deny']);
    expect(shell(ww, 'HOME=/x; cat ~/notes.txt')).toBe('ask');
  });

  it('control: a prefix assignment does not change the expansion; ~ alone is the home', () => {
    expect(shell(open, 'HOME=/x cat ~/notes.txt')).toBe('allow');
    expect(shell(open, 'cat ~/notes.txt')).toBe('allow');
    expect(shell(open, 'cat ~/.ssh/id_rsa')).toBe('deny');
  });
});

describe('key=value operands', () => {
  it.each(['dd if=secrets/api.key', 'dd if=.env', 'dd if=secrets/api.key of=/tmp/x bs=1'])('%s is denied', (cmd) => {
    expect(shell(open, cmd)).toBe('deny');
  });

  it('control: other files', () => {
    expect(shell(open, 'dd if=a.txt of=b.txt')).toBe('allow');
  });
});

describe('values attached to short options', () => {
  it.each(['awk -fsecrets/api.key', 'awk -f.env', 'awk -nfsecrets/api.key', 'jq -f.env', 'sed -fsecrets/api.key x'])('%s is denied', (cmd) => {
    expect(shell(open, cmd)).toBe('deny');
  });

  it('control: flag clusters and other values', () => {
    for (const cmd of ['cat -n a.txt', 'ls -la', 'gcc -O2 -Wall a.c', 'awk -fscripts/x.awk a.txt']) expect([cmd, shell(open, cmd)]).toEqual([cmd, 'allow']);
  });
});
