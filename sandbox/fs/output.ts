/** How the tools word and bound what they return: results, plurals, cut lines, a capped line buffer. */
import type { FsResult } from './types.js';

/** Cuts a line longer than `max` code points, with a marker telling how much was cut. */
export function cutLine(text: string, max: number): string {
  if (text.length <= max) return text;
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  return cps.slice(0, max).join('') + `… [line truncated, ${cps.length - max} more chars]`;
}

export function ok(output: string, truncated: boolean, bytes?: number): FsResult {
  return { ok: true, output, truncated, bytes: bytes ?? Buffer.byteLength(output) };
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Accumulates output lines up to maxOutputBytes (and an optional count), then refuses more. */
export class Output {
  private lines: string[] = [];
  private bytes = 0;
  cut = false;
  constructor(
    private readonly maxBytes: number,
    private readonly maxLines = Number.POSITIVE_INFINITY,
  ) {}
  get count(): number {
    return this.lines.length;
  }
  /** Adds a line; false (and `cut`) when it does not fit. */
  push(line: string): boolean {
    if (this.cut) return false;
    const b = Buffer.byteLength(line) + 1;
    if (this.lines.length >= this.maxLines || this.bytes + b > this.maxBytes) {
      this.cut = true;
      return false;
    }
    this.lines.push(line);
    this.bytes += b;
    return true;
  }
  text(): string {
    return this.lines.length ? this.lines.join('\n') + '\n' : '';
  }
}
