/**
 * The prompt editor's state: a multi-line buffer with a cursor and a history (up/down when the
 * buffer is a single line). Pure; the app draws it.
 */
export class PromptEditor {
  text = '';
  cursor = 0;
  private readonly history: string[] = [];
  private historyAt = -1;
  private draft = '';

  insert(s: string): void {
    // Pasted text may carry controls: only newlines and tabs (as spaces) survive.
    // eslint-disable-next-line no-control-regex
    const clean = s.replace(/\r\n?/g, '\n').replace(/\t/g, '  ').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
    this.text = this.text.slice(0, this.cursor) + clean + this.text.slice(this.cursor);
    this.cursor += clean.length;
  }

  backspace(): void {
    if (this.cursor === 0) return;
    this.text = this.text.slice(0, this.cursor - 1) + this.text.slice(this.cursor);
    this.cursor--;
  }

  delete(): void {
    this.text = this.text.slice(0, this.cursor) + this.text.slice(this.cursor + 1);
  }

  left(): void {
    this.cursor = Math.max(0, this.cursor - 1);
  }

  right(): void {
    this.cursor = Math.min(this.text.length, this.cursor + 1);
  }

  home(): void {
    this.cursor = this.text.lastIndexOf('\n', this.cursor - 1) + 1;
  }

  end(): void {
    const nl = this.text.indexOf('\n', this.cursor);
    this.cursor = nl < 0 ? this.text.length : nl;
  }

  /** Ctrl-U: clear the buffer. */
  clearLine(): void {
    this.text = '';
    this.cursor = 0;
  }

  get multiline(): boolean {
    return this.text.includes('\n');
  }

  /** Take the buffer (Enter): it goes into the history. */
  take(): string {
    const t = this.text;
    if (t.trim() && this.history[this.history.length - 1] !== t) this.history.push(t);
    this.historyAt = -1;
    this.clearLine();
    return t;
  }

  up(): void {
    if (!this.history.length) return;
    if (this.historyAt === -1) {
      this.draft = this.text;
      this.historyAt = this.history.length - 1;
    } else if (this.historyAt > 0) this.historyAt--;
    this.text = this.history[this.historyAt]!;
    this.cursor = this.text.length;
  }

  down(): void {
    if (this.historyAt === -1) return;
    if (this.historyAt < this.history.length - 1) {
      this.historyAt++;
      this.text = this.history[this.historyAt]!;
    } else {
      this.historyAt = -1;
      this.text = this.draft;
    }
    this.cursor = this.text.length;
  }

  /** The buffer with a visible cursor, for a tagged element (already escaped). */
  display(escape: (s: string) => string): string {
    const before = escape(this.text.slice(0, this.cursor));
    const at = this.text[this.cursor];
    const cur = at === undefined || at === '\n' ? ' ' : escape(at);
    const after = escape(this.text.slice(this.cursor + (at === undefined || at === '\n' ? 0 : 1)));
    return `${before}{inverse}${cur}{/inverse}${after}`;
  }
}
