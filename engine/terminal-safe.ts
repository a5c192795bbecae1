/**
 * One sanitiser for everything untrusted that icode writes to a terminal: model text, tool names,
 * tool output, stored rows, error messages. A raw ESC lets a model set the window title (OSC 0),
 * write the user's clipboard (OSC 52), move the cursor and rewrite what the user sees (CSI), and C1
 * controls (0x80–0x9f) do the same on terminals that honour them. Escapes are SHOWN, not dropped, so
 * the user sees that something tried: `\x1b]52;c;…` is printed as those characters.
 *
 * Kept: `\n` and `\t`. Shown as `\xNN`: every other C0 control (including `\r` and backspace, which
 * can hide text), DEL, C1. Shown as `\u{…}`: bidi overrides and isolates (text that reads in one order
 * and runs in another), and lone surrogates. JSON output never goes through this: JSON escapes itself.
 * Used by cli/ and, later, tui/.
 */

const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function show(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** Text with every control sequence made visible; `\n` and `\t` kept. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, show);
}

/** Same, for a single-line field (table cell, name): newlines and tabs shown too. */
export function terminalSafeLine(text: string): string {
  return terminalSafe(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}
