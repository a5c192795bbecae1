/**
 * Files and devices the user, or a planted file, points at (issue 19): policies, `extends` targets,
 * config files and hook scripts are read only when they are regular files under a size cap; YAML
 * alias expansion is bounded; hooks that cannot load fail `policy check` and stop run/exec from
 * starting; replay bounds its lines and refuses a directory. Every error is one clear line, exit 2.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigError } from '../../engine/agent/errors.js';
import { loadConfigFile } from '../../engine/agent/config.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-files-');
const ws = join(root, 'ws');
mkdirSync(ws, { recursive: true });

/** One clear line on stderr: no stack trace, no "internal error". */
function oneClearLine(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(stderr).not.toContain('internal error');
}

function fifo(name: string): string {
  const p = join(root, name);
  execFileSync('mkfifo', [p]);
  return p;
}

describe('policy files that are not regular, small files', () => {
  const big = join(root, 'big.yaml');
  writeFileSync(big, `version: 1\n# ${'x'.repeat(2 * 1024 * 1024)}\n`);
  const cases: Array<[string, string, RegExp]> = [
    ['a character device', '/dev/zero', /character device, not a regular file/],
    ['a FIFO', fifo('policy.fifo'), /FIFO, not a regular file/],
    ['a directory', root, /directory, not a regular file/],
    ['a 2 MB file', big, /bytes; the limit is 1048576/],
  ];
  for (const [what, path, msg] of cases) {
    it(`policy check on ${what}: exit 2, one clear line`, () => {
      const r = icode(['policy', 'check', path], { timeoutMs: 30_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      oneClearLine(r.stderr);
    });
  }

  it('an extends target that is a device', () => {
    const p = join(root, 'extends-dev.yaml');
    writeFileSync(p, 'version: 1\nextends: /dev/zero\n');
    const r = icode(['policy', 'check', p], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/character device/);
    oneClearLine(r.stderr);
  });

  it('a billion-laughs policy is a policy error, exit 2', () => {
    const p = join(root, 'lol.yaml');
    const lines = ['version: 1', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    writeFileSync(p, lines.join('\n') + '\n');
    const r = icode(['policy', 'check', p], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lol\.yaml:\d+:\d+: .*(alias|Excessive)/i);
    oneClearLine(r.stderr);
  });

  it('a config file that is a device or too large is a config error', () => {
    expect(() => loadConfigFile({ ICODE_CONFIG: '/dev/zero' })).toThrow(AgentConfigError);
    expect(() => loadConfigFile({ ICODE_CONFIG: '/dev/zero' })).toThrow(/character device/);
    const lol = join(root, 'config.yaml');
    writeFileSync(lol, 'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n');
    expect(() => loadConfigFile({ ICODE_CONFIG: lol })).toThrow(AgentConfigError);
  });
});

describe('hooks that cannot load', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['a missing script', '    - {script: hooks/missing.js}', /:4:\d+: hooks\.pre_tool\[0\]\.script: cannot read hook script .*ENOENT/],
    ['script and builtin both', '    - {script: hooks/x.js, builtin: doom_loop_guard}', /:4:7: hooks\.pre_tool\[0\]: give exactly one of script, builtin, command \(found script and builtin\)/],
    ['a script that is a device', '    - {script: /dev/zero.js}', /hooks\.pre_tool\[0\]\.script/],
    ['an unknown builtin', '    - {builtin: no_such_hook}', /a hook cannot load: .*no_such_hook/],
  ];
  for (const [what, decl, msg] of bad) {
    const file = join(root, `hook-${what.replace(/\W/g, '')}.yaml`);
    writeFileSync(file, `version: 1\nhooks:\n  pre_tool:\n${decl}\n`);

    it(`${what}: policy check exits 2 with where`, () => {
      const r = icode(['policy', 'check', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      oneClearLine(r.stderr);
    });

    it(`${what}: exec and run refuse to start (exit 2)`, () => {
      const e = icode(['exec', '--tool', 'read', '--input', '{"path":"a"}', '--workspace', ws, '--policy', file, '--audit', join(root, 'exec.db')]);
      expect(e.code).toBe(2);
      oneClearLine(e.stderr);
      const script = join(root, 'script.json');
      writeFileSync(script, JSON.stringify({ turns: [{ text: 'hi' }] }));
      const r = icode(['run', '--provider', `script:${script}`, '--workspace', ws, '--policy', file, '--audit', join(root, 'run.db'), '--sessions-db', join(root, 's.db'), 'go']);
      expect(r.code).toBe(2);
      oneClearLine(r.stderr);
    });
  }
});

describe('replay', () => {
  it('a directory is exit 2 with a clear line', () => {
    const r = icode(['replay', root, '--workspace', ws, '--policy', 'builtin:jailed', '--audit', join(root, 'replay.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a directory/);
    oneClearLine(r.stderr);
  });

  it('a line over the limit is a recorded refusal and the replay goes on', () => {
    const file = join(root, 'long.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ tool: 'list', input: { path: '.' } }),
        JSON.stringify({ tool: 'shell', input: { command: `echo ${'a'.repeat(17 * 1024 * 1024)}` } }),
        JSON.stringify({ tool: 'list', input: { path: '.' } }),
      ].join('\n') + '\n',
    );
    const r = icode(['replay', file, '--workspace', ws, '--policy', 'builtin:jailed', '--audit', join(root, 'replay.db')]);
    oneClearLine(r.stderr);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; status: string; error?: string });
    expect(results.map((x) => x.status)).toEqual(['ok', 'error', 'ok']);
    expect(results[1]!.error).toMatch(/line 2: the line is \d+ bytes; the limit is 16777216/);
    expect(r.code).toBe(1);
    const audit = icode(['audit', 'list', '--db', join(root, 'replay.db'), '--json']);
    expect(audit.stdout).toContain('the line is');
  });
});
