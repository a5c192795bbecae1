/** Units: terminal output sanitising and the head/tail output cap. */
import { describe, expect, test } from 'vitest';
import { OutputCollector } from '../../sandbox/jail/output.js';
import { sanitizeTerminalOutput as clean } from '../../sandbox/jail/sanitize.js';

describe('sanitizeTerminalOutput', () => {
  test.each([
    ['\x1b[1;31mred\x1b[0m', 'red'],
    ['a\r\nb\r\r\nc', 'a\r\nb\r\nc'],
    ['50%\r100%\n', '50%100%\n'],
    ['\x1b]0;evil title\x07text', 'text'],
    ['\x1b]52;c;ZXZpbA==\x1b\\after', 'after'],
    ['\x1bP1$r0m\x1b\\x', 'x'],
    ['\x1b_apc\x1b\\y\x1b^pm\x1b\\z', 'yz'],
    ['\x1b(B\x1b=\x1b7z', 'z'],
    ['\u009b31mc1\u009d0;t\u009c', 'c1'],
    ['bell\x07 back\bspace\x00nul\x7f', 'bell backspacenul'],
    ['tab\tkept\n', 'tab\tkept\n'],
    ['\u202eevil\u202c \u2066iso\u2069', 'evil iso'],
    ['\x1b]0;unterminated\nvisible', '\nvisible'],
    ['trailing \x1b[', 'trailing '],
    ['ünïcödé ✓', 'ünïcödé ✓'],
  ])('%j → %j', (input, expected) => {
    expect(clean(input)).toBe(expected);
  });
});

describe('OutputCollector', () => {
  test('keeps everything up to the cap', () => {
    const c = new OutputCollector(10);
    c.push('0123');
    c.push('456789');
    expect(c.finish()).toEqual({ output: '0123456789', truncated: false, droppedBytes: 0, totalBytes: 10 });
  });

  test('keeps head and tail, counts what it dropped', () => {
    const c = new OutputCollector(10);
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') c.push(ch);
    const r = c.finish();
    expect(r.output).toBe('abcde\n[output truncated: 16 bytes dropped]\nvwxyz');
    expect(r.truncated).toBe(true);
    expect(r.droppedBytes).toBe(16);
  });

  test('a single large chunk', () => {
    const c = new OutputCollector(4);
    c.push('0123456789');
    expect(c.finish().output).toBe('01\n[output truncated: 6 bytes dropped]\n89');
  });
});
