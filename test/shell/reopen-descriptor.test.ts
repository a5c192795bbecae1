/**
 * Issue 17, class 4: redirect targets that reopen an existing descriptor (/dev/fd/N, /dev/stdin,
 * /dev/stdout, /dev/stderr, /proc/self/fd/N, /proc/PID/fd/N) write to whatever that descriptor is. Under
 * a read-only policy a command that can write through one is not allowed; everyday uses (stderr
 * messages, /dev/null) stay allowed.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { loadPolicy, type CompiledPolicy } from '../../policies/index.js';

let policy: CompiledPolicy;
const ws = '/work/project';
const decide = (command: string) => policy.decide({ tool: 'shell', input: { command }, workspace: ws }).decision;

beforeAll(async () => {
  policy = await loadPolicy('builtin:readonly');
});

describe('builtin:readonly and descriptors reopened for writing', () => {
  test.each([
    'exec 3<notes.txt; echo evil > /dev/fd/3',
    'cat < notes.txt > /dev/stdin',
    'exec 2<notes.txt; echo evil > /dev/stderr',
    'exec 1<notes.txt; echo evil >> /dev/stdout',
    'exec 5<notes.txt; echo evil > /proc/self/fd/5',
    'echo evil > /proc/1234/fd/3',
    'exec 3<notes.txt; tee /dev/fd/3 < /dev/null',
  ])('%s is not allowed', (cmd) => {
    expect(decide(cmd)).not.toBe('allow');
  });

  test.each(['echo oops > /dev/stderr', 'ls > /dev/null 2>&1', 'echo hi >&2', 'cat notes.txt > /dev/stdout', 'grep -r x . 2>/dev/null'])('%s stays allowed', (cmd) => {
    expect(decide(cmd)).toBe('allow');
  });
});
