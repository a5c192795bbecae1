/** The read tool: numbered text lines (cat -n style) within the caps, or a binary file as base64. */
import { walk, type Opened, type RootCtx } from './confine.js';
import { BINARY_SNIFF_BYTES, closeQuietly, codePoints, looksBinary, readAt } from './bytes.js';
import { compileGuard } from './guard.js';
import { enforceGuard, enforceHardlink } from './guard-enforce.js';
import { cutLine, ok, plural } from './output.js';
import { FsError, type FsOptions, type FsResult, type ReadInput } from './types.js';

const DEFAULT_READ_LIMIT = 2000;
/** The read size: the first chunk serves both the binary sniff and the text reader. */
const CHUNK = 256 * 1024;

export function toolRead(ctx: RootCtx, input: ReadInput, o: FsOptions): FsResult {
  const f = walk(ctx, input.path, 'open', { allowHardlinks: o.allowHardlinks });
  try {
    const guard = compileGuard(o.guard, 'read', ctx);
    enforceHardlink(guard, ctx, f.stat, enforceGuard(guard, ctx, input.path, f.rel), JSON.stringify(input.path));
    if (f.stat.isDirectory()) throw new FsError('NOT_A_FILE', `${JSON.stringify(f.rel || '.')} is a directory; use list`);
    const size = f.stat.size;
    // The first chunk serves both the binary sniff and the text reader.
    const head = readAt(f.fd, Math.min(size, CHUNK, o.maxReadBytes), 0);
    if (looksBinary(head.subarray(0, BINARY_SNIFF_BYTES))) {
      if (input.binary !== true) {
        throw new FsError('BINARY', `${JSON.stringify(f.rel)} looks binary (NUL bytes in its first 8 KiB); pass binary: true to get it as base64`);
      }
      return readBinary(f, input, o);
    }
    return readText(f, input, o, head);
  } finally {
    closeQuietly(f.fd);
  }
}

function readBinary(f: Opened, input: ReadInput, o: FsOptions): FsResult {
  const size = f.stat.size;
  const start = input.offset ?? 0;
  if (start > size) throw new FsError('INVALID', `offset ${start} is past the end of the ${size}-byte file`);
  const room = Math.max(1, Math.floor((o.maxOutputBytes - 200) / 4) * 3);
  const want = Math.min(input.limit ?? size - start, size - start, room, o.maxReadBytes);
  const data = readAt(f.fd, want, start);
  const end = start + data.length;
  const header = `[binary file ${JSON.stringify(f.rel)}, ${size} bytes; base64 of bytes ${start}–${end} follows${end < size ? `; use offset=${end} to read on` : ''}]\n`;
  return { ok: true, output: header + data.toString('base64'), truncated: end < size, bytes: data.length };
}

/** readText for a file already read whole (the common case: one chunk). Same output as the streaming path. */
function readWholeText(f: Opened, input: ReadInput, o: FsOptions, buf: Buffer): FsResult {
  const first = Math.max(1, input.offset ?? 1);
  const limit = input.limit ?? DEFAULT_READ_LIMIT;
  const lines = buf.toString('utf8').split('\n');
  const endsWithNewline = lines[lines.length - 1] === '';
  if (endsWithNewline) lines.pop();
  const total = lines.length;
  if (first > total) return ok(`[offset ${first} is past the end of ${JSON.stringify(f.rel)}, which has ${plural(total, 'line')}]\n`, false, 0);
  let outStr = '';
  let outBytes = 0;
  let next = first; // first line not shown
  let stopped: 'limit' | 'output' | null = null;
  const last = Math.min(total, first - 1 + limit);
  for (let i = first - 1; i < last; i++) {
    const line = `${String(i + 1).padStart(6)}\t${cutLine(lines[i]!, o.maxLineLength)}\n`;
    const lb = Buffer.byteLength(line);
    if (next > first && outBytes + lb > o.maxOutputBytes) {
      stopped = 'output';
      break;
    }
    outStr += line;
    outBytes += lb;
    next = i + 2;
  }
  if (stopped === null && last < total) stopped = 'limit';
  const whole = first === 1 && next > total;
  let bytes = buf.length;
  if (!whole) {
    bytes = 0;
    for (let i = first - 1; i < next - 1; i++) bytes += Buffer.byteLength(lines[i]!) + (i < total - 1 || endsWithNewline ? 1 : 0);
  }
  let marker = '';
  if (stopped !== null) {
    const rest = `${plural(total - (next - 1), 'more line')} of ${total}`;
    marker =
      stopped === 'output'
        ? `[… output limit of ${o.maxOutputBytes} bytes reached; ${rest} not shown. Use offset=${next} to read on.]\n`
        : `[… ${rest} not shown. Use offset=${next} to read on.]\n`;
  }
  return { ok: true, output: outStr + marker, truncated: marker !== '', bytes };
}

/**
 * cat -n style numbered lines from 1-based line `offset`, at most `limit` lines, each cut at
 * maxLineLength; stops before the output passes maxOutputBytes; never looks past maxReadBytes.
 */
function readText(f: Opened, input: ReadInput, o: FsOptions, firstChunk: Buffer): FsResult {
  const size = f.stat.size;
  if (size === 0) return ok('[empty file]\n', false, 0);
  if (firstChunk.length === size) return readWholeText(f, input, o, firstChunk);
  const first = Math.max(1, input.offset ?? 1);
  const limit = input.limit ?? DEFAULT_READ_LIMIT;
  const scanLimit = Math.min(size, o.maxReadBytes);
  const keepBytes = o.maxLineLength * 4 + 4; // enough bytes for maxLineLength code points

  const out: string[] = [];
  let outBytes = 0;
  let windowBytes = 0; // file bytes of the lines shown
  let stopped: 'limit' | 'output' | null = null;
  let nextLine = first; // first line not shown
  let lineNo = 1; // the line being assembled
  // the line being assembled: kept bytes (inside the window only), code points beyond them, its size
  let parts: Buffer[] = [];
  let kept = 0;
  let overflowCp = 0;
  let lineBytes = 0;

  const collecting = (): boolean => stopped === null && lineNo >= first;
  const addBytes = (b: Buffer): void => {
    lineBytes += b.length;
    if (!collecting()) return;
    if (kept < keepBytes) {
      const take = Math.min(b.length, keepBytes - kept);
      parts.push(take === b.length ? b : b.subarray(0, take));
      kept += take;
      if (take < b.length) overflowCp += codePoints(b, take);
    } else {
      overflowCp += codePoints(b);
    }
  };
  const finishLine = (newline: boolean): void => {
    if (collecting()) {
      let text = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8');
      if (overflowCp > 0) {
        const cps = Array.from(text);
        text = cps.slice(0, o.maxLineLength).join('') + `… [line truncated, ${cps.length - o.maxLineLength + overflowCp} more chars]`;
      } else {
        text = cutLine(text, o.maxLineLength);
      }
      const line = `${String(lineNo).padStart(6)}\t${text}\n`;
      const lb = Buffer.byteLength(line);
      if (out.length > 0 && outBytes + lb > o.maxOutputBytes) {
        stopped = 'output';
      } else {
        out.push(line);
        outBytes += lb;
        windowBytes += lineBytes + (newline ? 1 : 0);
        nextLine = lineNo + 1;
        if (out.length >= limit) stopped = 'limit';
      }
    }
    lineNo++;
    parts = [];
    kept = 0;
    overflowCp = 0;
    lineBytes = 0;
  };

  let pos = 0;
  while (pos < scanLimit) {
    const chunk = pos === 0 && firstChunk.length > 0 ? firstChunk : readAt(f.fd, Math.min(CHUNK, scanLimit - pos), pos);
    if (chunk.length === 0) break;
    pos += chunk.length;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        addBytes(chunk.subarray(start));
        break;
      }
      addBytes(chunk.subarray(start, nl));
      finishLine(true);
      start = nl + 1;
    }
  }
  const complete = pos >= size; // the whole file was scanned (it may have shrunk: pos < size then)
  if (complete && lineBytes > 0) finishLine(false); // last line without a newline
  const totalLines = lineNo - 1; // complete lines scanned (all of them when `complete`)
  const shown = JSON.stringify(f.rel);

  if (out.length === 0) {
    if (!complete) {
      throw new FsError('TOO_LARGE', `${shown} is ${size} bytes; only its first ${o.maxReadBytes} bytes (${plural(totalLines, 'line')}) can be read, and line ${first} is past them`);
    }
    return ok(`[offset ${first} is past the end of ${shown}, which has ${plural(totalLines, 'line')}]\n`, false, 0);
  }
  let marker = '';
  const remaining = totalLines - (nextLine - 1);
  const rest = complete ? `${plural(remaining, 'more line')} of ${totalLines}` : `more lines (the file is ${size} bytes)`;
  if (stopped === 'output') {
    marker = `[… output limit of ${o.maxOutputBytes} bytes reached; ${rest} not shown. Use offset=${nextLine} to read on.]\n`;
  } else if (stopped === 'limit' && (remaining > 0 || !complete)) {
    marker = `[… ${rest} not shown. Use offset=${nextLine} to read on.]\n`;
  } else if (!complete) {
    marker = `[… ${shown} is ${size} bytes; only its first ${o.maxReadBytes} bytes can be read (size cap); ${size - pos} bytes not read.]\n`;
  }
  return { ok: true, output: out.join('') + marker, truncated: marker !== '', bytes: windowBytes };
}
