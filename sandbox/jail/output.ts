/**
 * Output cap of one command: keeps the first half and the last half of `maxBytes` of the raw pty
 * output, counts what was dropped between them, and renders head + marker + tail, each part sanitised
 * (sanitize.ts) separately so the marker itself survives.
 */
import { sanitizeTerminalOutput } from './sanitize.js';

export interface CollectedOutput {
  output: string;
  truncated: boolean;
  /** Raw bytes dropped between head and tail. */
  droppedBytes: number;
  totalBytes: number;
}

export class OutputCollector {
  private readonly headMax: number;
  private readonly tailMax: number;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(readonly maxBytes: number) {
    this.headMax = Math.ceil(maxBytes / 2);
    this.tailMax = maxBytes - this.headMax;
  }

  get totalBytes(): number {
    return this.total;
  }

  /** Raw bytes beyond the cap so far. */
  get droppedBytes(): number {
    return Math.max(0, this.total - this.maxBytes);
  }

  push(chunk: string): void {
    let buf = Buffer.from(chunk, 'utf8');
    this.total += buf.length;
    if (this.headBytes < this.headMax) {
      const take = Math.min(buf.length, this.headMax - this.headBytes);
      this.head.push(buf.subarray(0, take));
      this.headBytes += take;
      buf = buf.subarray(take);
      if (buf.length === 0) return;
    }
    if (this.tailMax === 0) return;
    this.tail.push(buf);
    this.tailBytes += buf.length;
    while (this.tailBytes - this.tail[0]!.length >= this.tailMax) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  }

  finish(): CollectedOutput {
    const head = Buffer.concat(this.head);
    let tail = Buffer.concat(this.tail);
    const dropped = this.droppedBytes;
    if (dropped === 0) {
      return { output: sanitizeTerminalOutput(Buffer.concat([head, tail]).toString('utf8')), truncated: false, droppedBytes: 0, totalBytes: this.total };
    }
    if (tail.length > this.tailMax) tail = tail.subarray(tail.length - this.tailMax);
    const marker = `\n[output truncated: ${dropped} bytes dropped]\n`;
    return {
      output: sanitizeTerminalOutput(head.toString('utf8')) + marker + sanitizeTerminalOutput(tail.toString('utf8')),
      truncated: true,
      droppedBytes: dropped,
      totalBytes: this.total,
    };
  }
}
