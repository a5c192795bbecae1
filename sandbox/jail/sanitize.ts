/**
 * Neutralises terminal output for the model and the audit log: escape sequences (CSI, OSC, DCS, SOS,
 * PM, APC, other ESC sequences, their 8-bit C1 forms) and control characters are removed, except \n
 * and \t, and \r directly before \n (the jail's pty runs with -onlcr, so a \r\n is one the command
 * wrote, a CRLF file's content: kept); any other \r is removed like the other controls. Bidirectional embedding/override/isolate characters (U+202A–U+202E, U+2066–U+2069) are
 * removed too, so text cannot be visually reordered in a log viewer.
 *
 * A string sequence (OSC, DCS, …) without its terminator is stripped only up to the end of its line, so
 * an unterminated OSC cannot hide the rest of the output.
 */

// String sequences: ESC ] / ESC P / ESC X / ESC ^ / ESC _ or C1 OSC/DCS/SOS/PM/APC, body up to BEL, ST, ESC or newline.
const STRING_SEQ = String.raw`(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?`;
// CSI: ESC [ or C1 CSI, parameter bytes, intermediate bytes, final byte (missing at the end of input).
const CSI = String.raw`(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?`;
// Any other escape sequence: ESC, intermediates, final byte.
const OTHER_ESC = String.raw`\x1b[ -/]*[0-~]?`;
const SEQUENCES = new RegExp(`${STRING_SEQ}|${CSI}|${OTHER_ESC}`, 'g');
// C0 except \t (0x09) and \n (0x0a), DEL, C1, bidi controls.
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

export function sanitizeTerminalOutput(text: string): string {
  return text.replace(SEQUENCES, '').replace(CONTROLS, '');
}
