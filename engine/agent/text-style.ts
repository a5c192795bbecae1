/**
 * Small text helpers for people reading icode's output: colour (only on a terminal, never with
 * NO_COLOR, forced by FORCE_COLOR), rounded durations, the first lines of a long text, and an edit as
 * a unified diff.
 */

export type Env = Record<string, string | undefined>;

/** Colour for a stream: FORCE_COLOR (not 0/false) forces it, NO_COLOR (any value) turns it off, else a TTY. */
export function useColor(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (force === '0' || force === 'false') return false;
  return stream.isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90, bold: 1, dim: 2 } as const;
export type Hue = keyof typeof CODES;

export type Painter = (hue: Hue, text: string) => string;

export function painter(color: boolean): Painter {
  return color ? (hue, text) => `\x1b[${CODES[hue]}m${text}\x1b[0m` : (_hue, text) => text;
}

/** allow / ask / deny and ok / error / denied, each in its colour. */
export function verdictHue(word: string): Hue {
  if (word === 'allow' || word === 'ok') return 'green';
  if (word === 'ask') return 'yellow';
  return 'red';
}

/** 0.4 ms, 12 ms, 1.4 s, 2 min 5 s. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The first `max` lines of a text, and a note of how many more there were. */
export function firstLines(text: string, max = 10): { lines: string[]; more: number } {
  const all = text.replace(/\n+$/, '').split('\n');
  return { lines: all.slice(0, max), more: Math.max(0, all.length - max) };
}

/**
 * An edit's old and new strings as a unified-diff hunk (no context lines: the strings are what the
 * edit replaced). Lines in common at the start and end are shown as context.
 */
export function editDiff(path: string, oldText: string, newText: string, maxLines = 20): string[] {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const lines = [
    `--- ${path}`,
    `+++ ${path}`,
    `@@ -${a.length} +${b.length} @@`,
    ...a.slice(0, head).map((l) => ` ${l}`),
    ...a.slice(head, a.length - tail).map((l) => `-${l}`),
    ...b.slice(head, b.length - tail).map((l) => `+${l}`),
    ...a.slice(a.length - tail).map((l) => ` ${l}`),
  ];
  if (lines.length <= maxLines + 3) return lines;
  return [...lines.slice(0, maxLines + 3), `… ${lines.length - maxLines - 3} more diff lines`];
}
