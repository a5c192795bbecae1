/** Low-level reads on an open file descriptor, and what the tools look at in the bytes they read. */
import fs from 'node:fs';

/** How much of a file's head is looked at for NUL bytes before it is called binary. */
export const BINARY_SNIFF_BYTES = 8192;

export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** Reads up to `len` bytes at `pos`. */
export function readAt(fd: number, len: number, pos: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

export function looksBinary(head: Uint8Array): boolean {
  return head.indexOf(0) !== -1;
}

/** Counts UTF-8 code points (bytes that are not continuation bytes). */
export function codePoints(b: Uint8Array, from = 0, to = b.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((b[i]! & 0xc0) !== 0x80) n++;
  return n;
}
