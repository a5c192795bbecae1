import { afterEach, describe, expect, it, vi } from 'vitest';
import { icodeInProcess } from '../helpers/cli.js';
import { TempDir } from './helpers.js';

const dirs: TempDir[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function icode(...args: string[]): Promise<{ out: string; exitCode: number }> {
  const r = await icodeInProcess(args);
  return { out: r.stdout, exitCode: r.code };
}

describe('icode hooks test', () => {
  it('runs a user hook in the sandbox and prints its result and log', async () => {
    const dir = new TempDir();
    dirs.push(dir);
    const file = dir.write(
      'guard.ts',
      `export default function (event: { input: { command: string } }, api: { log(...a: unknown[]): void }) {
  api.log('checking', event.input.command);
  return event.input.command.includes('--force') ? { decision: 'deny' as const, reason: 'no force' } : {};
}`,
    );
    const { out, exitCode } = await icode('hooks', 'test', file, '--event', '{"tool":"shell","input":{"command":"git push --force"}}', '--json');
    const report = JSON.parse(out) as { result: { decision: string }; outcomes: { status: string; logs: string[] }[] };
    expect(exitCode).toBe(0);
    expect(report.result.decision).toBe('deny');
    expect(report.outcomes[0].logs).toEqual(['checking git push --force']);
    const human = await icode('hooks', 'test', file, '--event', '{"input":{"command":"ls"}}');
    expect(human.out).toMatch(/status: {3}ok/);
    expect(human.out).toMatch(/log: {6}checking ls/);
  });

  it('exits 1 when the hook fails, showing the failure mode applied', async () => {
    const dir = new TempDir();
    dirs.push(dir);
    const file = dir.write('loop.js', 'export default () => { for (;;) {} }');
    const { out, exitCode } = await icode('hooks', 'test', file, '--timeout-ms', '50');
    expect(exitCode).toBe(1);
    expect(out).toMatch(/failed — timeout/);
    expect(out).toMatch(/on_error deny/);
  });

  it('runs builtins and rejects bad input as usage errors', async () => {
    const { out } = await icode('hooks', 'test', 'builtin:todo_continuation_enforcer', '--point', 'stop', '--event', '{"todos":[{"content":"a","status":"pending"}]}', '--json');
    expect((JSON.parse(out) as { result: { block: boolean } }).result.block).toBe(true);
    await expect(icode('hooks', 'test', 'builtin:nope')).rejects.toThrow(/unknown builtin hook/);
    await expect(icode('hooks', 'test', 'x.js', '--event', '[1]')).rejects.toThrow(/expected a JSON object/);
  });
});
