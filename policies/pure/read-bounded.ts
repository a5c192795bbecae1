/**
 * Reading a file the user, or a planted file, points at: a policy, an `extends` target, a config
 * file, a hook script. `/dev/zero` reads forever, a FIFO blocks forever, a directory is not text and
 * a 50 MB "policy" costs minutes and gigabytes. Only a regular file is read (checked with fstat on
 * the opened descriptor, so a swap after a stat cannot fool it; opened O_NONBLOCK so a FIFO cannot
 * block the open), and no more than a cap.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Cap of policies, `extends` targets and config files. */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;
/** Cap of hook scripts. */
export const MAX_HOOK_FILE_BYTES = 4 * 1024 * 1024;

/** The file exists but is not something icode reads (not regular, or too large). */
export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';
}

/** What a non-regular file is, in words ("a directory", "a FIFO"…), for error messages. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The file's text (UTF-8). Throws UnreadableFileError for a non-regular file or one over `maxBytes`,
 * and the system error (ENOENT, EACCES…) when it cannot be opened.
 */
export function readRegularFileSync(path: string, maxBytes: number, what = 'file'): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableFileError(`${what} ${path} is ${fileKind(st)}, not a regular file`);
    if (st.size > maxBytes) throw new UnreadableFileError(`${what} ${path} is ${st.size} bytes; the limit is ${maxBytes}`);
    // Read at most maxBytes + 1: a file that grows after the fstat is still bounded.
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(st.size, 0) + 65_536));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > maxBytes) throw new UnreadableFileError(`${what} ${path} is larger than the limit of ${maxBytes} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
