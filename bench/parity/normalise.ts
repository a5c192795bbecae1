/** The documented normalisations (docs/parity.md), shared by both sides of a comparison. */
import { sanitizeTerminalOutput } from '../../sandbox/jail/sanitize.js';
import type { ToolCallResult } from '../../engine/pipeline-types.js';
import { REFUSED } from './types.js';

/** Bytes a reference printed, as the text icode's tools return: UTF-8, invalid bytes as U+FFFD. */
export function utf8(b: Buffer): string {
  return b.toString('utf8');
}

/** icode's result as text: the output, or the refusal marker when the tool refused the call. */
export function icodeText(r: ToolCallResult): string {
  if (r.status !== 'ok') return REFUSED;
  return r.output ?? '';
}

/** Byte order (what `LC_ALL=C sort` does) for path lists; JS's default sort is UTF-16 code-unit order. */
export function byteSort(xs: string[]): string[] {
  return xs
    .map((x) => [Buffer.from(x), x] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]))
    .map((p) => p[1]);
}

/** A list of lines (each ending in \n) sorted by bytes. */
export function sortLines(text: string): string {
  if (text === '') return '';
  const ls = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return byteSort(ls).join('\n') + '\n';
}

/** The shell rule: escape sequences and controls other than \t, \n and a \r before \n are dropped. */
export function terminalText(s: string): string {
  return sanitizeTerminalOutput(s);
}

/** Cuts a line longer than `max` code points, with icode's marker (the read/grep contract). */
export function cut(text: string, max: number): string {
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  return cps.slice(0, max).join('') + `… [line truncated, ${cps.length - max} more chars]`;
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
