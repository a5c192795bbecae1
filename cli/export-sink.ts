/**
 * Where `audit export` writes: a file (opened before anything is read, so a path that cannot be
 * written fails at once), or stdout. Writes to files and devices are synchronous, so a full disk
 * (ENOSPC, /dev/full) is an error at the write that failed, never an unhandled stream event; an
 * export that fails removes the partial file it created. Pipes keep a stream with back-pressure.
 */
import fs from 'node:fs';
import { UsageError } from './output.js';

export interface ExportSink {
  /** What the messages call it: the file path, or "stdout". */
  name: string;
  write(chunk: string): void | Promise<void>;
  /** Flush to disk (files) or drain (pipes); throws what went wrong. */
  finish(): Promise<void>;
  /** Cleans up after a failure (removes a partial file) and returns the reason in words. */
  abort(e: unknown): string;
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no space left on the device (the disk is full)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOENT') return 'its directory does not exist';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  if (code === 'EPIPE') return 'the reader went away';
  return (e as Error).message ?? String(e);
}

function writeAllSync(fd: number, chunk: string): void {
  const buf = Buffer.from(chunk, 'utf8');
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

export function exportSink(path: string | null): ExportSink {
  if (path !== null) {
    let fd: number;
    let created = false;
    try {
      created = !fs.existsSync(path);
      fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOCTTY, 0o600);
    } catch (e) {
      throw new UsageError(`cannot write the export to ${path}: ${reason(e)}`);
    }
    let open = true;
    const regular = fs.fstatSync(fd).isFile();
    const close = (): void => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    return {
      name: path,
      write: (chunk) => writeAllSync(fd, chunk),
      finish: async () => {
        if (regular) fs.fsyncSync(fd); // ENOSPC can surface only here on some file systems
        close();
      },
      abort: (e) => {
        try {
          close();
        } catch {
          /* already failed */
        }
        if (created && regular) {
          try {
            fs.unlinkSync(path);
          } catch {
            /* gone */
          }
        }
        return `${reason(e)}${created && regular ? '; the partial file was removed' : ''}`;
      },
    };
  }
  let st: fs.Stats | null = null;
  try {
    st = fs.fstatSync(1);
  } catch {
    /* no stdout: the stream reports it */
  }
  if (st && (st.isFile() || st.isCharacterDevice())) {
    return { name: 'stdout', write: (chunk) => writeAllSync(1, chunk), finish: async () => {}, abort: reason };
  }
  // A pipe or socket: the stream, with back-pressure and its errors turned into rejections.
  const out = process.stdout;
  let failed: Error | null = null;
  const onError = (e: Error): void => {
    failed ??= e;
  };
  out.on('error', onError);
  const check = (): void => {
    if (failed) throw failed;
  };
  return {
    name: 'stdout',
    write: (chunk) => {
      check();
      if (out.write(chunk)) return;
      return new Promise<void>((res, rej) => {
        const done = (e?: Error): void => {
          out.off('drain', done);
          out.off('error', done);
          if (e) rej(e);
          else res();
        };
        out.once('drain', done);
        out.once('error', done);
      });
    },
    finish: async () => check(),
    abort: reason,
  };
}
