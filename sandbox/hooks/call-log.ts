/** Bounded log of one hook call (`api.log`), recorded in the call's outcome. */

const MAX_LOG_LINES = 50;
export const MAX_LOG_LINE_CHARS = 1000;

export class CallLog {
  readonly lines: string[] = [];
  private dropped = 0;

  add(line: string): void {
    if (this.lines.length >= MAX_LOG_LINES) {
      this.dropped++;
      return;
    }
    this.lines.push(line.length > MAX_LOG_LINE_CHARS ? line.slice(0, MAX_LOG_LINE_CHARS - 1) + '…' : line);
  }

  /** The lines, with a last line counting those dropped; undefined when empty. */
  result(): string[] | undefined {
    if (this.lines.length === 0) return undefined;
    return this.dropped > 0 ? [...this.lines, `… ${this.dropped} more lines dropped`] : [...this.lines];
  }
}

/** Formats `api.log` arguments of an in-process (builtin) hook like the isolate wrapper does. */
export function formatLogArgs(args: unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      try {
        return JSON.stringify(a) ?? String(a);
      } catch {
        return '[unprintable]';
      }
    })
    .join(' ');
}
