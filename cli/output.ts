/** Shared output helpers for CLI commands: tables on a terminal, JSON for scripts, exit codes. */
import Table from 'cli-table3';
import { InputError } from '../engine/errors.js';
import { useColor } from '../engine/agent/text-style.js';
import { terminalSafe, terminalSafeLine } from '../engine/terminal-safe.js';

export const EXIT = Object.freeze({
  OK: 0,
  /** The thing checked failed: a test case, an audit verify, a policy example. */
  FAILED: 1,
  /** Bad input: usage, unreadable file, invalid policy. */
  USAGE: 2,
  /** The tool call was denied. */
  DENIED: 3,
  /** icode itself failed. */
  INTERNAL: 4,
});

/**
 * Human-readable text to stdout/stderr: stored rows, model text, tool output and names are untrusted,
 * so control sequences are shown, never sent raw (engine/terminal-safe.ts). JSON goes through printJson.
 */
export function writeOut(text: string): void {
  process.stdout.write(terminalSafe(text));
}
export function writeErr(text: string): void {
  process.stderr.write(terminalSafe(text));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A table with a header row; cells are stringified and long cells are cut. */
export function printTable(head: string[], rows: unknown[][], maxCell = 80): void {
  process.stdout.write(renderTable(head, rows, maxCell, useColor(process.stdout), process.stdout.isTTY ? process.stdout.columns : undefined) + '\n');
}

/**
 * A compact table (no rule between rows), coloured header and borders only when `color`. With `width`
 * (a terminal's columns), the widest column is cut further until the table fits: a wrapped table is
 * unreadable.
 */
export function renderTable(head: string[], rows: unknown[][], maxCell = 80, color = false, width?: number): string {
  const cells = rows.map((row) => row.map((c) => cut(c === null || c === undefined ? '' : String(c), maxCell)));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  // Each cell is padded by one space on either side, and there is one border more than columns.
  const total = (): number => widths.reduce((a, w) => a + w + 3, 1);
  while (width !== undefined && width > 0 && total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 8) break;
    widths[widest] = widths[widest]! - 1;
  }
  const table = new Table({ head: head.map(terminalSafeLine), style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [], compact: true } });
  for (const row of cells) table.push(row.map((c, i) => cut(c, Math.max(widths[i]!, head[i]!.length))));
  return table.toString();
}

function cut(s: string, max: number): string {
  const oneLine = terminalSafeLine(s.replace(/\s+/g, ' '));
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}

/** Error raised for bad user input; the CLI prints its message and exits 2. */
export class UsageError extends InputError {}

/** Parse a JSON command-line argument with a clear error. */
export function parseJsonArg(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${flag}: not valid JSON (${(e as Error).message})`);
  }
}
