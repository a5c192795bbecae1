/**
 * Drives the real `icode` TUI in a real pty (node-pty) and reads the screen through a real terminal
 * emulator (@xterm/headless): tests assert on what a person would see, never on raw ANSI.
 */
import { spawn, type IPty } from 'node-pty';
import xterm from '@xterm/headless';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/icode.js', import.meta.url));

export interface DriverOptions {
  cwd: string;
  env: Record<string, string>;
  args?: string[];
  cols?: number;
  rows?: number;
}

export class TuiDriver {
  readonly term: InstanceType<typeof xterm.Terminal>;
  readonly pty: IPty;
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  raw = '';

  constructor(opts: DriverOptions) {
    const cols = opts.cols ?? 100;
    const rows = opts.rows ?? 30;
    this.term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
    this.pty = spawn(process.execPath, ['--no-node-snapshot', BIN, ...(opts.args ?? [])], {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TERM: 'xterm-256color', ...opts.env },
    });
    this.pty.onData((d) => {
      this.raw += d;
      this.term.write(d);
    });
    this.exited = new Promise<number>((resolve) => {
      this.pty.onExit(({ exitCode }) => {
        this.exitCode = exitCode;
        resolve(exitCode);
      });
    });
  }

  /** The screen as text, one line per row, trailing spaces trimmed. */
  screen(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < this.term.rows; i++) lines.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  /** Whether the terminal is on its normal screen (the TUI left the alternate screen). */
  get onNormalScreen(): boolean {
    return this.term.buffer.active.type === 'normal';
  }

  /** Waits until the screen matches; fails with the screen in the message. */
  async waitFor(what: string | RegExp, ms = 60_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      // Let xterm process what arrived before reading its buffer.
      await new Promise<void>((r) => this.term.write('', r));
      const s = this.screen();
      if (typeof what === 'string' ? s.includes(what) : what.test(s)) return s;
      if (Date.now() > end || this.exitCode !== null) {
        throw new Error(`screen never showed ${String(what)}${this.exitCode !== null ? ` (exited ${this.exitCode})` : ''}:\n${s}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  type(text: string): void {
    this.pty.write(text);
  }

  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
    this.term.resize(cols, rows);
  }

  kill(): void {
    if (this.exitCode === null) this.pty.kill('SIGKILL');
  }
}

export const KEY = { enter: '\r', esc: '\x1b', ctrlC: '\x03', ctrlP: '\x10', ctrlJ: '\n', f2: '\x1bOQ', f3: '\x1bOR', up: '\x1b[A' } as const;
