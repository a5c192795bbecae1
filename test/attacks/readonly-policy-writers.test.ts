/**
 * Writes that builtin:readonly must not allow (red-team round 2): policy decisions under builtin:readonly. Every case asserts the SAFE outcome (not
 * `allow`); a failing case is a real bypass. Checked against the real tools on Debian 12 (file 5.44,
 * GNU coreutils 9.1, findutils 4.9.0) unless the comment says otherwise.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { loadPolicy, type CompiledPolicy } from '../../policies/index.js';
import { tempDir } from '../helpers/tmp.js';

const WS = '/tmp/icode-attack-ws';
let ro: Promise<CompiledPolicy> | null = null;
async function decide(command: string): Promise<string> {
  ro ??= loadPolicy('builtin:readonly');
  return (await ro).decide({ tool: 'shell', input: { command }, workspace: WS }).decision;
}

describe('readonly: writer options the ask rules miss', () => {
  // readonly.yaml asks for `file ** -C **`, but `-C` is also spelled `--compile` (a different long
  // option, not an abbreviation, so optionSpelling cannot relate them). `file --compile -m foo` writes
  // foo.mgc next to foo. Responsible: policies/builtin/readonly.yaml `readonly.reader-turned-writer`.
  it.each([['file --compile -m magic'], ['file --compile -m magic a.txt'], ['file --comp -m magic']])('%s is not allowed', async (cmd) => {
    expect(await decide(cmd)).not.toBe('allow');
  });

  // tree(1): "-R  … at each of them execute tree again adding `-o 00Tree.html` as a new option" — with
  // -H and -L it writes 00Tree.html into every directory at the depth limit (tree < 2.1 builds that
  // command line with the directory names and hands it to system()). Only `-o` is listed.
  // (tree is not installed on the test machine: from the man page / source, not run here.)
  it.each([['tree -R -H . -L 1'], ['tree -RH . -L 1'], ['tree -L 1 -H x -R']])('%s is not allowed', async (cmd) => {
    expect(await decide(cmd)).not.toBe('allow');
  });

  it('control: the listed spellings ask', async () => {
    expect(await decide('file -C -m magic')).not.toBe('allow');
    expect(await decide('tree -o out.txt')).not.toBe('allow');
  });
});

describe('readonly: file names read from stdin or a list file are paths the policy never sees', () => {
  // `readonly.shell-outside` only looks at argv. GNU tools that take their operands from a NUL-separated
  // list (`--files0-from=F`, `-` = stdin) read whatever the list names. printf turns octal escapes into
  // `/`, so no argument looks like a path: `sort --files0-from=-` prints /etc/passwd.
  it.each([
    // prints the content of /etc/passwd
    ["printf '\\057etc\\057passwd\\0' | sort --files0-from=-"],
    ["printf '\\057etc\\057passwd\\0' | sort --files0-from -"],
    // a list file in the workspace (a hostile repository ships it)
    ['sort --files0-from=names.lst'],
    // lists /etc
    ["printf '\\057etc\\0' | find -files0-from - -maxdepth 1"],
    // size / line counts of outside files
    ["printf '\\057etc\\057passwd\\0' | wc --files0-from=-"],
    ["printf '\\057etc\\0' | du --files0-from=-"],
    // file reads names from stdin (-f -)
    ["printf '\\057etc\\057passwd\\n' | file -f -"],
  ])('%s is not allowed', async (cmd) => {
    expect(await decide(cmd)).not.toBe('allow');
  });

  it('control: the same path as an argument asks', async () => {
    expect(await decide('sort /etc/passwd')).not.toBe('allow');
    expect(await decide("printf '\\057etc\\057passwd\\0'")).toBe('allow');
    expect(await decide('sort a.txt')).toBe('allow');
  });
});

describe('readonly: options that make a listed reader launch a program or write a file', () => {
  // rg -z/--search-zip runs a decompression program (gzip, xz, zstd…) on every compressed file it meets
  // (Codex CLI lists it as unsafe for the same reason). BSD/macOS base64 writes its -o/--output file.
  // pip's and npm's global options write a log or a cache wherever they are told, from a command that
  // otherwise only lists (checked: pip 23.2 `pip list --log x` writes x, npm 11 `npm ls --logs-dir=d`
  // writes d/…-debug-0.log). optparse and nopt accept abbreviations (`--lo x`): could-mode covers them.
  it.each([
    ['rg -z secret'], ['rg -iz secret'], ['rg --search-zip secret'], ['rg --sea secret'],
    ['base64 -o out.txt in.txt'], ['base64 -oout.txt in.txt'], ['base64 --output out.txt in.txt'],
    ['pip list --log x'], ['pip freeze --log=x'], ['pip list --lo x'], ['pip show --log-file x requests'],
    ['pip3 list --log x'], ['pip list --cache-dir x'],
    ['npm ls --logs-dir=x'], ['npm config get --logs-dir x registry'], ['npm ls --cache x'],
  ])('%s is not allowed', async (cmd) => {
    expect(await decide(cmd)).not.toBe('allow');
  });

  it('control: the plain listings stay allowed', async () => {
    for (const cmd of ['rg -n TODO src', 'base64 a.txt', 'base64 -d a.b64', 'pip list', 'pip freeze', 'pip show requests', 'npm ls', 'npm ls --all', 'npm config get registry']) {
      expect(await decide(cmd), cmd).toBe('allow');
    }
  });
});

describe('end to end under builtin:readonly (asks settled deny)', () => {
  const root = tempDir('icode-attack-r2-');
  const ws = join(root, 'ws');
  let p: Pipeline;
  beforeAll(async () => {
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'magic'), '0 string PWN pwn file\n');
    writeFileSync(join(ws, 'a.txt'), 'hello\n');
    p = await createPipeline({ workspace: ws, policy: 'builtin:readonly', audit: join(root, 'audit.db'), session: 'r2', ask: 'deny' });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('file --compile writes no magic.mgc into the workspace', async () => {
    await p.call({ tool: 'shell', input: { command: 'file --compile -m magic', timeout_ms: 15_000 } });
    expect(existsSync(join(ws, 'magic.mgc'))).toBe(false);
  });

  it('sort --files0-from=- does not print a file outside the workspace', async () => {
    const r = await p.call({ tool: 'shell', input: { command: "printf '\\057etc\\057passwd\\0' | sort --files0-from=-", timeout_ms: 15_000 } });
    expect(r.output ?? '').not.toMatch(/^[a-z_][a-z0-9_-]*:x:\d+:\d+:/m);
  });

  it('control: a refused command runs nothing, an allowed one runs', async () => {
    await p.call({ tool: 'shell', input: { command: 'touch PWN-control' } });
    expect(existsSync(join(ws, 'PWN-control'))).toBe(false);
    const r = await p.call({ tool: 'shell', input: { command: 'cat a.txt' } });
    expect(r.output).toContain('hello');
  });
});
