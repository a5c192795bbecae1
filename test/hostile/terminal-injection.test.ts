/**
 * Terminal injection (issue 19): model text, tool names, tool input and output, stored rows and error
 * messages never reach the terminal raw in text output (OSC 0/52, CSI, C1, other C0, bidi overrides):
 * the escapes are shown as text. JSON output stays exact.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { exitCodeFor } from '../../cli/main.js';
import { terminalSafe, terminalSafeLine } from '../../engine/terminal-safe.js';
import { icodeInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const OSC52 = '\x1b]52;c;cm0gLXJmIH4=\x07';
const TITLE = '\x1b]0;pwned\x07';
const CSI = '\x1b[2J\x1b[1;1H';
const C1 = '\u009b31m\u009d0;t\u009c';
const EVIL = `${OSC52}${TITLE}${CSI}${C1}\r\b\u202e`;

/** No raw control that a terminal acts on (newline and tab are fine). */
function assertInert(text: string): void {
  expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
}

/** What cli/main.ts prints and returns for an error the command throws. */
async function cliError(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await icodeInProcess(args);
    return { code: r.code, stderr: r.stderr };
  } catch (e) {
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      return { code: exitCodeFor(e), stderr };
    } finally {
      spy.mockRestore();
    }
  }
}

describe('terminalSafe', () => {
  it('shows escapes visibly and keeps newline, tab and ordinary Unicode', () => {
    expect(terminalSafe(`a${OSC52}b`)).toBe('a\\x1b]52;c;cm0gLXJmIH4=\\x07b');
    expect(terminalSafe('\u009b2J')).toBe('\\x9b2J');
    expect(terminalSafe('x\r\ny\tz\u202e')).toBe('x\\x0d\ny\tz\\u{202e}');
    expect(terminalSafe('héllo 日本 \u{1F600}')).toBe('héllo 日本 \u{1F600}');
    expect(terminalSafe('lone \ud800 x')).toBe('lone \\u{d800} x');
    expect(terminalSafeLine('a\nb\tc')).toBe('a\\nb\\tc');
    assertInert(terminalSafe(EVIL + '\x00\x7f'));
  });
});

describe('every command shows escapes instead of sending them', () => {
  const root = tempDir('icode-term-');
  const ws = join(root, 'ws');
  mkdirSync(ws, { recursive: true });
  const audit = join(root, 'audit.db');
  const sessions = join(root, 'sessions.db');
  const script = join(root, 'evil.json');
  writeFileSync(
    script,
    JSON.stringify({
      model: 'evil',
      turns: [
        {
          text: `Hello ${EVIL} there`,
          tool_calls: [
            { id: 'c1', name: `read${TITLE}`, input: { path: `x${OSC52}` } },
            { id: 'c2', name: 'shell', input: { command: `printf '\\033]52;c;aGk=\\007\\233'; echo '${CSI}'` } },
          ],
        },
        { text: `Done ${OSC52}` },
      ],
    }),
  );
  let sessionId = '';

  it('run --output-format text', async () => {
    const r = await icodeInProcess([
      'run', '--provider', `script:${script}`, '--workspace', ws, '--audit', audit, '--sessions-db', sessions,
      '--policy', 'builtin:jailed', '--output-format', 'text', 'go',
    ]);
    assertInert(r.stdout);
    assertInert(r.stderr);
    expect(r.stdout).toContain('Hello \\x1b]52;c;cm0gLXJmIH4=\\x07');
    expect(r.stderr).toContain('read\\x1b]0;pwned\\x07');
    sessionId = /session ([0-9a-f-]{8,})/.exec(r.stderr)?.[1] ?? '';
    expect(sessionId).not.toBe('');
  });

  it('audit list, audit show', async () => {
    const list = await icodeInProcess(['audit', 'list', '--db', audit]);
    assertInert(list.stdout);
    expect(list.stdout).toContain('\\x1b');
    for (const id of ['c1', 'c2']) {
      const show = await icodeInProcess(['audit', 'show', id, '--db', audit]);
      assertInert(show.stdout + show.stderr);
    }
  });

  it('sessions list, sessions show; --json stays exact', async () => {
    const list = await icodeInProcess(['sessions', 'list', '--sessions-db', sessions]);
    assertInert(list.stdout);
    const show = await icodeInProcess(['sessions', 'show', sessionId, '--sessions-db', sessions]);
    assertInert(show.stdout);
    expect(show.stdout).toContain('\\x1b]52;');
    const json = await icodeInProcess(['sessions', 'show', sessionId, '--sessions-db', sessions, '--json']);
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain(JSON.stringify(`Hello ${EVIL} there`).slice(1, -1));
  });

  it('policy explain, and error messages', async () => {
    const ex = await icodeInProcess(['policy', 'explain', 'builtin:jailed', '--tool', 'shell', '--input', JSON.stringify({ command: `echo ${OSC52}` })]);
    assertInert(ex.stdout + ex.stderr);
    const bad = await cliError(['policy', 'explain', `missing${TITLE}.yaml`, '--tool', 'read', '--input', '{}']);
    expect(bad.code).toBe(2);
    assertInert(bad.stderr);
    expect(bad.stderr).toContain('\\x1b]0;pwned');
  });
});
