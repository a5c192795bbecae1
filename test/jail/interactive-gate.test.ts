/**
 * Issue 17: the interactive shell (`icode shell`) is gated after every command line, not only when it
 * exits. A person types into the jailed bash (a real pty in the jail); what each line wrote reaches the
 * workspace — or is refused, with the refusal shown in the terminal — while the shell is still open, and
 * before the next prompt. A forged gate marker only causes an extra gate.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { packageRoot } from '../../policies/package-root.js';
import { ShellJail, type InteractiveShell } from '../../sandbox/jail/index.js';
import { GATE_MARKER } from '../../sandbox/jail/interactive.js';
import { eventually, fixture } from './helpers.js';

describe('interactive shell: gated after each command line', () => {
  const fx = fixture('icode-igate-');
  let jail: ShellJail;
  let sh: InteractiveShell;
  let seen = '';
  let exited = false;
  beforeAll(async () => {
    jail = await ShellJail.start({ workspace: fx.ws, network: false, maskedGlobs: ['**/.env'] });
    sh = await jail.interactive({ cols: 120, rows: 40 });
    sh.onData((d) => (seen += d));
    sh.onExit(() => (exited = true));
  }, 60_000);
  afterAll(async () => {
    await sh?.close();
    await jail?.close();
  }, 60_000);

  /** Types a line, then waits until it ran: `token-42` is its output, never the echo of what was typed. */
  async function type(line: string, token: string): Promise<void> {
    sh.write(`${line}; echo ${token}-$((40+2))\r`);
    expect(await eventually(() => seen.includes(`${token}-42`), 20_000)).toBe(true);
  }

  test("a file written by a command line is in the workspace before the shell's next line, with the shell still open", async () => {
    await type('echo one > one.txt', 'T1');
    // Gated before the next prompt: wait for the next line's own output, then look.
    await type('true', 'T2');
    expect(exited).toBe(false);
    expect(readFileSync(join(fx.ws, 'one.txt'), 'utf8')).toBe('one\n');
  });

  test('a refused change is shown in the terminal right after its line and never reaches the workspace', async () => {
    await type('echo "gitdir: /tmp/x" > .git', 'T3');
    await type('true', 'T4');
    expect(await eventually(() => seen.includes('[icode: change refused: .git:'), 10_000)).toBe(true);
    expect(existsSync(join(fx.ws, '.git'))).toBe(false);
    expect(exited).toBe(false);
  });

  test('the marker never reaches the terminal; a forged one only causes an extra gate', async () => {
    const printf = GATE_MARKER.replace('\x1b', '\\033').replace('\x07', '\\007');
    await type(`printf '${printf}'; echo two > two.txt`, 'T5');
    await type('true', 'T6');
    expect(readFileSync(join(fx.ws, 'two.txt'), 'utf8')).toBe('two\n');
    expect(seen).not.toContain(GATE_MARKER);
    expect(seen).toMatch(/T6-42/);
  });

  test('after a gate the shell works in the fresh overlay: masks that appeared meanwhile hold for it', async () => {
    await type('echo w > written.txt', 'T10'); // a used layer: the next gate mounts a fresh one
    mkdirSync(join(fx.ws, 'late'));
    writeFileSync(join(fx.ws, 'late', '.env'), 'LATE-SECRET\n');
    await type('true', 'T11'); // its prompt's gate finds the new denied file and remounts with its mask
    await type('cat late/.env; cat ./late/.env', 'T12');
    expect(seen).not.toContain('LATE-SECRET');
  });

  test('the gate hook cannot be removed from the shell', async () => {
    sh.write('PROMPT_COMMAND=\r');
    sh.write('__icode_gate() { :; }\r');
    await type('echo three > three.txt', 'T7');
    expect(seen).toMatch(/readonly/);
    await type('true', 'T8');
    expect(lstatSync(join(fx.ws, 'three.txt')).isFile()).toBe(true);
  });
});

test('icode shell in a real terminal: a typed line is applied while the shell is still open', async () => {
  const { dir, ws } = fixture('icode-igate-cli-');
  const term = pty.spawn(process.execPath, [join(packageRoot(), 'bin', 'icode.js'), 'shell', '--workspace', ws], {
    cols: 120,
    rows: 30,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TERM: 'xterm-256color' },
  });
  let out = '';
  let exited = false;
  term.onData((d) => (out += d));
  const done = new Promise<number>((r) => term.onExit((e) => ((exited = true), r(e.exitCode))));
  try {
    expect(await eventually(() => out.includes('Leave with exit'), 60_000)).toBe(true);
    term.write('echo typed > typed.txt; echo DONE-$?\r');
    expect(await eventually(() => out.includes('DONE-0'), 20_000)).toBe(true);
    term.write('echo NEXT-$?\r');
    expect(await eventually(() => out.includes('NEXT-0'), 20_000)).toBe(true);
    expect(exited).toBe(false);
    expect(readFileSync(join(ws, 'typed.txt'), 'utf8')).toBe('typed\n');
    expect(out).not.toContain('icode-gate');
    term.write('exit\r');
    expect(await done).toBe(0);
  } finally {
    if (!exited) term.kill('SIGKILL');
  }
}, 120_000);
