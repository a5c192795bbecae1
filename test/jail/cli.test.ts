/** `icode shell -c` (in process, through commander) and the interactive API behind `icode shell`. */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ShellJail } from '../../sandbox/jail/index.js';
import { icodeInProcess } from '../helpers/cli.js';
import { fixture } from './helpers.js';

const cli = (args: string[]) => icodeInProcess(['shell', ...args]);

afterEach(() => vi.restoreAllMocks());

describe('icode shell -c', () => {
  test('--json prints the ShellResult', async () => {
    const { ws } = fixture();
    const r = await cli(['--workspace', ws, '-c', 'echo hi; exit 3', '--json']);
    const parsed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ exitCode: 3, signal: null, output: 'hi\n', truncated: false, timedOut: false });
    expect(r.code).toBe(1);
  });

  test('text mode prints the output; a bad workspace is a usage error', async () => {
    const { ws } = fixture();
    const r = await cli(['--workspace', ws, '-c', 'pwd']);
    expect(r.stdout).toBe(`${ws}\n`);
    expect(r.code ?? 0).toBe(0);
    await expect(cli(['--workspace', '/', '-c', 'true'])).rejects.toThrow(/workspace/);
  });
});

describe('interactive shell', () => {
  test('a person types into the jailed bash and sees its output', async () => {
    const { ws } = fixture();
    const jail = await ShellJail.start({ workspace: ws, network: false });
    try {
      const sh = await jail.interactive({ cols: 100, rows: 30 });
      let seen = '';
      sh.onData((d) => (seen += d));
      const exited = new Promise<{ exitCode: number | null }>((r) => sh.onExit(r));
      sh.resize(120, 40);
      sh.write('echo "cols=$(tput cols) in $PWD"; cat /etc/shadow; exit 5\r');
      const e = await exited;
      expect(e.exitCode).toBe(5);
      expect(seen).toContain(`cols=120 in ${ws}`);
      expect(seen).toContain('/etc/shadow: No such file or directory');
    } finally {
      await jail.close();
    }
  });
});
