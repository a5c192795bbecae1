/**
 * The file tools. Synchronous on purpose: they run inside a dedicated piscina worker thread, where sync
 * system calls are the fastest path and a runaway call (a catastrophic regex) is stopped by terminating
 * the thread. Every path goes through confine.ts; every tree walk opens each directory relative to its
 * verified parent with O_NOFOLLOW and never follows a symlink.
 */
import fs from 'node:fs';
import picomatch from 'picomatch';
import ignore, { type Ignore } from 'ignore';
import { compileGuard, guardWord, type Guard, type GuardLevel } from './guard.js';
import {
  atomicWrite,
  fdPath,
  kindOf,
  lexicalComponents,
  O_FILE_READ,
  openEntry,
  prepareRoot,
  protectedMatcher,
  toFsError,
  walk,
  type Opened,
  type ParentRef,
  type RootCtx,
} from './confine.js';
import { checkInput } from './check-input.js';
import { RegexDialectError, translateRustRegex } from './regex.js';
import { FS_INPUT_SCHEMAS, type FsInputs } from './schemas.js';
import {
  DEFAULT_FS_OPTIONS,
  FS_TOOLS,
  FsError,
  type EditInput,
  type FsGuardRule,
  type FsOptions,
  type FsResult,
  type FsTool,
  type GlobInput,
  type GrepInput,
  type ListInput,
  type ReadInput,
  type WriteInput,
} from './types.js';

export const DEFAULT_READ_LIMIT = 2000;
const BINARY_SNIFF_BYTES = 8192;
const CHUNK = 256 * 1024;
const MAX_WALK_ENTRIES = 500_000;
const MAX_WALK_DEPTH = 128;
const MAX_GLOB_RESULTS = 10_000;
const MAX_GITIGNORE_BYTES = 1024 * 1024;
const MAX_PATTERN_LENGTH = 10_000;

// ---------------------------------------------------------------------------------------------------
// Entry point

/** Runs one request. Throws FsError (or an errno error) on failure; the worker turns that into a result. */
export function runTool(req: unknown): FsResult {
  if (typeof req !== 'object' || req === null) throw new FsError('INVALID', 'request must be an object');
  const r = req as { tool?: unknown; input?: unknown; root?: unknown; options?: unknown };
  if (typeof r.tool !== 'string' || !(FS_TOOLS as readonly string[]).includes(r.tool)) {
    throw new FsError('INVALID', `unknown file tool ${JSON.stringify(r.tool)}`);
  }
  const tool = r.tool as FsTool;
  if (typeof r.input !== 'object' || r.input === null || Array.isArray(r.input)) throw new FsError('INVALID', 'input must be an object');
  const ctx = prepareRoot(r.root);
  const options = normalizeOptions(r.options);
  const input = r.input as Record<string, unknown>;
  switch (tool) {
    case 'read':
      return toolRead(ctx, checked('read', input), options);
    case 'write':
      return toolWrite(ctx, checked('write', input), options);
    case 'edit':
      return toolEdit(ctx, checked('edit', input), options);
    case 'glob':
      return toolGlob(ctx, checked('glob', input), options);
    case 'grep':
      return toolGrep(ctx, checked('grep', input), options);
    case 'list':
      return toolList(ctx, checked('list', input), options);
  }
}

/** Fills missing or ill-typed options with defaults: the worker never trusts what it was sent. */
export function normalizeOptions(o: unknown): FsOptions {
  const src = (typeof o === 'object' && o !== null ? o : {}) as Partial<Record<keyof FsOptions, unknown>>;
  const posInt = (v: unknown, d: number): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : d);
  return {
    allowHardlinks: src.allowHardlinks === true,
    protectedPaths: Array.isArray(src.protectedPaths) ? src.protectedPaths.filter((p): p is string => typeof p === 'string') : [],
    maxReadBytes: posInt(src.maxReadBytes, DEFAULT_FS_OPTIONS.maxReadBytes),
    maxOutputBytes: posInt(src.maxOutputBytes, DEFAULT_FS_OPTIONS.maxOutputBytes),
    maxLineLength: posInt(src.maxLineLength, DEFAULT_FS_OPTIONS.maxLineLength),
    fsync: src.fsync === true,
    guard: Array.isArray(src.guard)
      ? src.guard.filter(
          (r): r is FsGuardRule =>
            typeof r === 'object' && r !== null && (r.decision === 'deny' || r.decision === 'ask') && Array.isArray(r.patterns) && r.patterns.every((p: unknown) => typeof p === 'string'),
        )
      : [],
  };
}

/**
 * Re-applies the policy's deny/ask path rules to what the walk really reached (guard.ts): refuses when
 * the resolved path `realRel` is under a stricter rule than the path the policy saw. Returns the level
 * of that path, the bar a tree walk's entries must not pass.
 */
function enforceGuard(g: Guard | null, ctx: RootCtx, inputPath: string | undefined, realRel: string): GuardLevel {
  if (!g) return 0;
  const lexRel = lexicalComponents(ctx, inputPath === undefined || inputPath === '' ? '.' : inputPath).join('/');
  const seen = g.lexical(lexRel);
  const real = g.resolved(realRel);
  if (real > seen) {
    throw new FsError(
      'DENIED',
      `${JSON.stringify(inputPath ?? '.')} resolves to ${JSON.stringify(realRel || '.')}, a path the policy ${guardWord(real)}; refusing to reach it through another name`,
    );
  }
  return seen;
}

/**
 * With allowHardlinks on, a file with several links may be another name of a guarded file: its inode
 * is compared with those of the guarded literal paths (`.env`, `secrets/id_rsa`). Glob patterns cannot
 * be enumerated this way; hard links stay refused by default.
 */
function hardlinkLevel(g: Guard | null, ctx: RootCtx, st: fs.Stats): GuardLevel {
  if (!g || !st.isFile() || st.nlink < 2) return 0;
  let worst: GuardLevel = 0;
  for (const [lv, lit] of g.literals) {
    if (lv <= worst) continue;
    let t: Opened;
    try {
      t = walk(ctx, lit, 'open', { allowHardlinks: true });
    } catch {
      continue; // absent, or a directory path
    }
    closeQuietly(t.fd);
    if (t.stat.ino === st.ino && t.stat.dev === st.dev) worst = lv;
  }
  return worst;
}

function enforceHardlink(g: Guard | null, ctx: RootCtx, st: fs.Stats, bar: GuardLevel, shown: string): void {
  const lv = hardlinkLevel(g, ctx, st);
  if (lv > bar) throw new FsError('DENIED', `${shown} is a hard link to a path the policy ${guardWord(lv)}; refusing it`);
}

// ---------------------------------------------------------------------------------------------------
// Input checks: the engine validated the input against the tool's schema; this is the second,
// independent look, against the same schema (sandbox/fs/schemas.ts), interpreted by check-input.ts.

function checked<T extends FsTool>(tool: T, input: Record<string, unknown>): FsInputs[T] {
  const bad = checkInput(FS_INPUT_SCHEMAS[tool], input);
  if (bad !== null) throw new FsError('INVALID', bad);
  return input as FsInputs[T];
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** Reads up to `len` bytes at `pos`. */
function readAt(fd: number, len: number, pos: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

function looksBinary(head: Uint8Array): boolean {
  return head.indexOf(0) !== -1;
}

/** Counts UTF-8 code points (bytes that are not continuation bytes). */
function codePoints(b: Uint8Array, from = 0, to = b.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((b[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/** Cuts a line longer than `max` code points, with a marker telling how much was cut. */
export function cutLine(text: string, max: number): string {
  if (text.length <= max) return text;
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  return cps.slice(0, max).join('') + `… [line truncated, ${cps.length - max} more chars]`;
}

function ok(output: string, truncated: boolean, bytes?: number): FsResult {
  return { ok: true, output, truncated, bytes: bytes ?? Buffer.byteLength(output) };
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------------------------------
// read

function toolRead(ctx: RootCtx, input: ReadInput, o: FsOptions): FsResult {
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

// ---------------------------------------------------------------------------------------------------
// write / edit

function toolWrite(ctx: RootCtx, input: WriteInput, o: FsOptions): FsResult {
  const data = Buffer.from(input.content, 'utf8');
  if (data.length > o.maxReadBytes) throw new FsError('TOO_LARGE', `content is ${data.length} bytes; the cap is ${o.maxReadBytes}`);
  const parent = walk(ctx, input.path, 'parent', {
    allowHardlinks: o.allowHardlinks,
    create: true,
    isProtected: protectedMatcher(o),
    refuseFinalLink: true,
  });
  try {
    const guard = compileGuard(o.guard, 'write', ctx);
    const bar = enforceGuard(guard, ctx, input.path, parent.rel);
    if (parent.existing) enforceHardlink(guard, ctx, parent.existing, bar, JSON.stringify(input.path));
    atomicWrite(ctx, parent, data, { fsync: o.fsync });
    const verb = parent.existing ? 'Overwrote' : 'Created';
    return ok(`${verb} ${parent.rel} (${plural(data.length, 'byte')})`, false, data.length);
  } finally {
    closeQuietly(parent.dirfd);
  }
}

/** Reads the existing target of a write walk, checking it is the very file the walk looked at. */
function readExisting(parent: ParentRef, o: FsOptions): Buffer {
  if (!parent.existing) throw new FsError('NOT_FOUND', `${JSON.stringify(parent.rel)} does not exist`);
  let fd: number;
  try {
    fd = fs.openSync(fdPath(parent.dirfd, parent.name), O_FILE_READ);
  } catch (e) {
    throw toFsError(e, JSON.stringify(parent.rel));
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FsError('SPECIAL_FILE', `${JSON.stringify(parent.rel)} is ${kindOf(st)}`);
    if (st.ino !== parent.existing.ino || st.dev !== parent.existing.dev) {
      throw new FsError('INVALID', `${JSON.stringify(parent.rel)} changed while being edited; try again`);
    }
    if (st.nlink > 1 && !o.allowHardlinks) throw new FsError('HARDLINK', `${JSON.stringify(parent.rel)} has ${st.nlink} hard links`);
    if (st.size > o.maxReadBytes) throw new FsError('TOO_LARGE', `${JSON.stringify(parent.rel)} is ${st.size} bytes; the cap is ${o.maxReadBytes}`);
    return readAt(fd, st.size, 0);
  } finally {
    closeQuietly(fd);
  }
}

function toolEdit(ctx: RootCtx, input: EditInput, o: FsOptions): FsResult {
  if (input.old_string === '') throw new FsError('INVALID', 'old_string is empty; to create or replace a whole file use write');
  if (input.old_string === input.new_string) throw new FsError('INVALID', 'old_string and new_string are identical; nothing to change');
  const parent = walk(ctx, input.path, 'parent', {
    allowHardlinks: o.allowHardlinks,
    create: false,
    isProtected: protectedMatcher(o),
    refuseFinalLink: true,
  });
  try {
    const guard = compileGuard(o.guard, 'edit', ctx);
    const bar = enforceGuard(guard, ctx, input.path, parent.rel);
    if (parent.existing) enforceHardlink(guard, ctx, parent.existing, bar, JSON.stringify(input.path));
    const buf = readExisting(parent, o);
    if (looksBinary(buf.subarray(0, BINARY_SNIFF_BYTES))) throw new FsError('BINARY', `${JSON.stringify(parent.rel)} looks binary; edit refuses it`);
    const text = buf.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(buf)) {
      throw new FsError('INVALID', `${JSON.stringify(parent.rel)} is not valid UTF-8; editing it would corrupt it`);
    }
    const { old_string: oldS, new_string: newS } = input;
    let count = 0;
    const firstAt = text.indexOf(oldS);
    for (let i = firstAt; i !== -1; i = text.indexOf(oldS, i + oldS.length)) count++;
    if (count === 0) throw new FsError('NO_MATCH', `old_string was not found in ${parent.rel}; read the file and copy the text exactly (whitespace included)`);
    if (count > 1 && input.replace_all !== true) {
      throw new FsError('NOT_UNIQUE', `old_string occurs ${count} times in ${parent.rel}; add surrounding context to make it unique, or set replace_all: true`);
    }
    const next = input.replace_all === true ? text.split(oldS).join(newS) : text.slice(0, firstAt) + newS + text.slice(firstAt + oldS.length);
    const data = Buffer.from(next, 'utf8');
    if (data.length > o.maxReadBytes) throw new FsError('TOO_LARGE', `the edited file would be ${data.length} bytes; the cap is ${o.maxReadBytes}`);
    atomicWrite(ctx, parent, data, { fsync: o.fsync });
    return ok(`Edited ${parent.rel}: ${plural(count, 'replacement')}`, false, data.length);
  } finally {
    closeQuietly(parent.dirfd);
  }
}

// ---------------------------------------------------------------------------------------------------
// Tree walking (glob, grep): directories opened relative to their verified parent, links never followed

type EntryKind = 'dir' | 'file' | 'symlink' | 'other';
interface Entry {
  name: string;
  kind: EntryKind;
}

function kindOfDirent(dirfd: number, d: fs.Dirent): EntryKind {
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'other';
  // DT_UNKNOWN on some file systems: ask lstat.
  try {
    const st = fs.lstatSync(fdPath(dirfd, d.name));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * Entries of an open directory, sorted so that a depth-first walk yields paths in plain sorted order:
 * directories compare as `name/`.
 */
function readEntries(dirfd: number): Entry[] {
  const list = fs.readdirSync(fdPath(dirfd), { withFileTypes: true }).map((d) => ({ name: d.name, kind: kindOfDirent(dirfd, d) }));
  const key = (e: Entry): string => (e.kind === 'dir' ? e.name + '/' : e.name);
  return list.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

interface WalkBudget {
  entries: number;
  exhausted: boolean;
}

interface TreeVisitor {
  /** Return false to skip the directory (and not descend). `rel` extends the rel the walk started with. */
  dir(rel: string, name: string): boolean;
  /** Called with the directory opened (verified, not followed), before its entries are visited. */
  enter?(rel: string, fd: number): void;
  /** Called for regular files and symlinks (never followed); return false to stop the whole walk. */
  entry(rel: string, e: Entry, dirfd: number): boolean;
  /** Called after a directory's entries were visited. */
  leave?(rel: string): void;
}

/** Depth-first walk below the open directory `dirfd`. Returns false when the visitor stopped it. */
function walkTree(ctx: RootCtx, dirfd: number, rel: string, depth: number, v: TreeVisitor, budget: WalkBudget, o: FsOptions): boolean {
  if (depth > MAX_WALK_DEPTH) return true;
  let entries: Entry[];
  try {
    entries = readEntries(dirfd);
  } catch {
    return true; // vanished or unreadable: skip
  }
  for (const e of entries) {
    if (--budget.entries < 0) {
      budget.exhausted = true;
      return false;
    }
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    if (e.kind === 'dir') {
      if (!v.dir(childRel, e.name)) continue;
      const sub = openEntry(ctx, dirfd, e.name, 'dir', o.allowHardlinks);
      if (!sub) continue; // swapped for a link or vanished: never followed
      let go: boolean;
      try {
        v.enter?.(childRel, sub.fd);
        go = walkTree(ctx, sub.fd, childRel, depth + 1, v, budget, o);
      } finally {
        closeQuietly(sub.fd);
      }
      v.leave?.(childRel);
      if (!go) return false;
    } else if (e.kind === 'file' || e.kind === 'symlink') {
      if (!v.entry(childRel, e, dirfd)) return false;
    }
  }
  return true;
}

/** `[!abc]` (the shell's negated class, which picomatch reads as a literal `!`) → `[^abc]`. */
function shellClasses(p: string): string {
  return p.replace(/(^|[^\\])\[!/g, '$1[^');
}

function checkGlobPattern(p: string, what: string): void {
  if (p.length === 0) throw new FsError('INVALID', `${what} is empty`);
  if (p.length > MAX_PATTERN_LENGTH) throw new FsError('INVALID', `${what} is too long`);
  if (p.includes('\0')) throw new FsError('INVALID', `${what} contains a NUL byte`);
  if (p.startsWith('/') || p.startsWith('~')) throw new FsError('INVALID', `${what} must be relative (use path to choose the directory)`);
  if (/(^|[/{,(|])\.\.($|[/},)|])/.test(p)) throw new FsError('INVALID', `${what} must not contain ".." segments`);
}

/** Resolves the search start (the tool's `path`, default the root) to an open directory or file. */
function openStart(ctx: RootCtx, p: string | undefined, o: FsOptions): Opened {
  return walk(ctx, p === undefined || p === '' ? '.' : p, 'open', { allowHardlinks: o.allowHardlinks });
}

function joinRel(a: string, b: string): string {
  return a ? (b ? `${a}/${b}` : a) : b;
}

/** Accumulates output lines up to maxOutputBytes (and an optional count), then refuses more. */
class Output {
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

// ---------------------------------------------------------------------------------------------------
// glob

function toolGlob(ctx: RootCtx, input: GlobInput, o: FsOptions): FsResult {
  checkGlobPattern(input.pattern, 'pattern');
  const pattern = input.pattern.replace(/^(\.\/)+/, '');
  const start = openStart(ctx, input.path, o);
  try {
    const guard = compileGuard(o.guard, 'glob', ctx);
    const bar = enforceGuard(guard, ctx, input.path, start.rel);
    if (!start.stat.isDirectory()) throw new FsError('NOT_A_DIRECTORY', `${JSON.stringify(start.rel)} is not a directory`);
    // a trailing `/**` names what is below a directory (bash), never a file of that name (picomatch's `a/**` matches `a`)
    const isMatch = picomatch(shellClasses(pattern.endsWith('/**') ? `${pattern}/*` : pattern), { dot: false });
    const scan = picomatch.scan(pattern);
    // Walk from the pattern's literal base only (a literal pattern: from its directory).
    const baseDir = scan.isGlob ? scan.base : pattern.includes('/') ? pattern.slice(0, pattern.lastIndexOf('/')) : '';
    // Dot-directories are entered only when the pattern names one explicitly.
    const wantsDotDirs = /(^|\/)\.[^/.]/.test(pattern);
    const out = new Output(o.maxOutputBytes, MAX_GLOB_RESULTS);
    const budget: WalkBudget = { entries: MAX_WALK_ENTRIES, exhausted: false };
    const honourIgnore = input.include_ignored !== true;
    // The literal base is resolved like any path (a link inside the root is followed, one outside is
    // refused); below it, nothing is followed.
    let baseFd: Opened | null = null;
    if (baseDir) {
      try {
        baseFd = walk(ctx, joinRel(start.rel, baseDir), 'open', { allowHardlinks: o.allowHardlinks });
      } catch (e) {
        if (e instanceof FsError && (e.code === 'NOT_FOUND' || e.code === 'NOT_A_DIRECTORY')) return ok('No files found\n', false);
        throw e;
      }
      if (!baseFd.stat.isDirectory() || (guard !== null && guard.resolvedDir(baseFd.rel) > bar)) {
        closeQuietly(baseFd.fd);
        return ok('No files found\n', false);
      }
    }
    // The real workspace-relative path of a walked entry (the base may have been reached through a link).
    const base = baseFd;
    const realOf = (rel: string): string =>
      base ? joinRel(base.rel, rel === baseDir ? '' : rel.slice(baseDir.length + 1)) : joinRel(start.rel, rel);
    const hidden = (rel: string, dir: boolean): boolean => guard !== null && (dir ? guard.resolvedDir(realOf(rel)) : guard.resolved(realOf(rel))) > bar;
    try {
      // .gitignore rules (workspace-relative frames) of the walk root, its ancestors, and on the way down.
      const walkRootRel = joinRel(start.rel, baseDir);
      const frames = honourIgnore ? ignoreFramesFor(ctx, walkRootRel, baseFd ? baseFd.fd : start.fd, o) : [];
      if (honourIgnore && baseDir && isIgnoredPath(frames, walkRootRel)) return ok('No files found (the path is ignored by .gitignore; include_ignored: true lists it)\n', false);
      walkTree(
        ctx,
        baseFd ? baseFd.fd : start.fd,
        baseDir,
        0,
        {
          // Dot-directories (.git included) only when the pattern names one; denied paths never.
          dir: (rel, name) => (wantsDotDirs || !name.startsWith('.')) && !hidden(rel, true) && !(honourIgnore && isIgnored(frames, joinRel(start.rel, rel), true)),
          enter: honourIgnore
            ? (rel, fd) => {
                const fr = loadGitignore(ctx, fd, joinRel(start.rel, rel), o);
                if (fr) frames.push(fr);
              }
            : undefined,
          leave: honourIgnore
            ? (rel) => {
                const full = joinRel(start.rel, rel);
                while (frames.length > 0 && frames[frames.length - 1]!.dir === full) frames.pop();
              }
            : undefined,
          entry: (rel, e) => {
            if (!isMatch(rel) || hidden(rel, false)) return true;
            // as in bash, a wildcard or class never matches a name's leading dot: the pattern spells it
            if (e.name.startsWith('.') && !wantsDotDirs) return true;
            const full = joinRel(start.rel, rel);
            if (honourIgnore && isIgnored(frames, full, false)) return true;
            return out.push(full);
          },
        },
        budget,
        o,
      );
    } finally {
      if (baseFd) closeQuietly(baseFd.fd);
    }
    if (out.count === 0 && !budget.exhausted) return ok('No files found\n', false);
    let marker = '';
    if (out.cut) marker = `[… results cut at ${plural(out.count, 'path')}; narrow the pattern or the path]\n`;
    else if (budget.exhausted) marker = `[… stopped after looking at ${MAX_WALK_ENTRIES} entries; narrow the pattern or the path]\n`;
    return ok(out.text() + marker, marker !== '');
  } finally {
    closeQuietly(start.fd);
  }
}

// ---------------------------------------------------------------------------------------------------
// grep

interface IgnoreFrame {
  /** Workspace-relative directory of the .gitignore. */
  dir: string;
  ig: Ignore;
}

function loadGitignore(ctx: RootCtx, dirfd: number, dirRel: string, o: FsOptions): IgnoreFrame | null {
  const f = openEntry(ctx, dirfd, '.gitignore', 'file', o.allowHardlinks);
  if (!f) return null;
  try {
    if (f.stat.size > MAX_GITIGNORE_BYTES) return null;
    const text = readAt(f.fd, f.stat.size, 0).toString('utf8');
    return { dir: dirRel, ig: ignore().add(text) };
  } catch {
    return null;
  } finally {
    closeQuietly(f.fd);
  }
}

/** The .gitignore frames that apply below `dirRel` (open as `dirFd`): its ancestors' files and its own. */
function ignoreFramesFor(ctx: RootCtx, dirRel: string, dirFd: number, o: FsOptions): IgnoreFrame[] {
  const frames: IgnoreFrame[] = [];
  const ancestors = dirRel ? dirRel.split('/') : [];
  let cur: Opened | null = null;
  const rootOpen = openStart(ctx, '.', o);
  let curFd = rootOpen.fd;
  try {
    for (let i = 0; i <= ancestors.length - 1; i++) {
      const fr = loadGitignore(ctx, curFd, ancestors.slice(0, i).join('/'), o);
      if (fr) frames.push(fr);
      const next = openEntry(ctx, curFd, ancestors[i]!, 'dir', o.allowHardlinks);
      if (cur) closeQuietly(cur.fd);
      cur = next;
      if (!next) break;
      curFd = next.fd;
    }
  } finally {
    if (cur) closeQuietly(cur.fd);
    closeQuietly(rootOpen.fd);
  }
  const own = loadGitignore(ctx, dirFd, dirRel, o);
  if (own) frames.push(own);
  return frames;
}

/** Whether a directory, or any directory above it up to the root, is ignored. */
function isIgnoredPath(frames: IgnoreFrame[], dirRel: string): boolean {
  const parts = dirRel.split('/');
  for (let i = 1; i <= parts.length; i++) if (isIgnored(frames, parts.slice(0, i).join('/'), true)) return true;
  return false;
}

function isIgnored(frames: IgnoreFrame[], rel: string, isDir: boolean): boolean {
  for (const fr of frames) {
    const sub = fr.dir ? (rel.startsWith(fr.dir + '/') ? rel.slice(fr.dir.length + 1) : null) : rel;
    if (!sub) continue;
    try {
      if (fr.ig.ignores(isDir ? sub + '/' : sub)) return true;
    } catch {
      /* a path `ignore` refuses to judge: not ignored */
    }
  }
  return false;
}

function compileRegex(pattern: string, caseInsensitive: boolean, multiline: boolean): RegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new FsError('INVALID', 'pattern is too long');
  let t: { source: string; flags: string };
  try {
    t = translateRustRegex(pattern, { caseInsensitive, dotAll: multiline });
  } catch (e) {
    if (e instanceof RegexDialectError) throw new FsError('INVALID', `invalid regular expression: ${e.message}`);
    throw e;
  }
  try {
    return new RegExp(t.source, t.flags + 'g');
  } catch (e) {
    throw new FsError('INVALID', `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The ripgrep file types grep's `type` accepts (the same globs as `rg --type-list`). */
export const GREP_TYPES: Record<string, string[]> = {
  c: ['*.[chH]', '*.[chH].in', '*.cats'],
  cpp: ['*.[ChH]', '*.[ChH].in', '*.[ch]pp', '*.[ch]pp.in', '*.[ch]xx', '*.[ch]xx.in', '*.cc', '*.cc.in', '*.hh', '*.hh.in', '*.inl'],
  css: ['*.css', '*.scss'],
  go: ['*.go'],
  html: ['*.ejs', '*.htm', '*.html'],
  java: ['*.java', '*.jsp', '*.jspx', '*.properties'],
  js: ['*.js', '*.jsx', '*.vue'],
  json: ['*.json', 'composer.lock'],
  markdown: ['*.markdown', '*.md', '*.mdown', '*.mkdn'],
  md: ['*.markdown', '*.md', '*.mdown', '*.mkdn'],
  py: ['*.py'],
  rust: ['*.rs'],
  ts: ['*.ts', '*.tsx'],
  txt: ['*.txt'],
  yaml: ['*.yaml', '*.yml'],
};

/** Indexes (0-based) of the lines a multiline regex matches: every line a match touches. */
function multilineMatches(re: RegExp, text: string, starts: number[]): { lines: Set<number>; count: number } {
  const lines = new Set<number>();
  let count = 0;
  let lastEnd = -1;
  const lineOf = (pos: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const at = m.index;
    const len = m[0].length;
    if (len === 0) re.lastIndex = at + (text.codePointAt(at)! > 0xffff ? 2 : 1);
    if (at >= text.length && (text.length === 0 || text.endsWith('\n'))) break; // past the last line
    const from = lineOf(at);
    const to = len > 0 ? lineOf(at + len - 1) : from;
    if (from > lastEnd) count++; // rg counts matched line runs, a multi-line match once
    for (let l = from; l <= to; l++) lines.add(l);
    lastEnd = Math.max(lastEnd, to);
  }
  return { lines, count };
}

function toolGrep(ctx: RootCtx, input: GrepInput, o: FsOptions): FsResult {
  const multiline = input.multiline === true;
  const re = compileRegex(input.pattern, input.case_insensitive === true || input['-i'] === true, multiline);
  const test = (line: string): boolean => {
    re.lastIndex = 0;
    return re.test(line);
  };
  const mode = input.output_mode ?? 'files_with_matches';
  const both = input['-C'] ?? input.context ?? 0;
  const before = mode === 'content' ? (input['-B'] ?? both) : 0;
  const after = mode === 'content' ? (input['-A'] ?? both) : 0;
  const numbers = input['-n'] !== false;
  let globMatch: ((rel: string) => boolean) | null = null;
  if (input.glob !== undefined) {
    checkGlobPattern(input.glob, 'glob');
    globMatch = picomatch(shellClasses(input.glob), { dot: true, basename: !input.glob.includes('/') });
  }
  // As in ripgrep, a file a positive glob names is searched even when .gitignore excludes it (an
  // ignored directory is still not entered).
  const globOverridesIgnore = input.glob !== undefined && !input.glob.startsWith('!');
  let typeMatch: ((name: string) => boolean) | null = null;
  if (input.type !== undefined) {
    const globs = GREP_TYPES[input.type];
    if (!globs) throw new FsError('INVALID', `unknown file type ${JSON.stringify(input.type)}; known: ${Object.keys(GREP_TYPES).join(', ')}`);
    typeMatch = picomatch(globs, { dot: true });
  }
  const out = new Output(o.maxOutputBytes, input.head_limit ?? Number.POSITIVE_INFINITY);
  const budget: WalkBudget = { entries: MAX_WALK_ENTRIES, exhausted: false };
  let groupsPrinted = 0;

  /** Searches one open regular file; false to stop everything (output full). */
  const searchFile = (fd: number, size: number, rel: string): boolean => {
    if (size > o.maxReadBytes) return true;
    const buf = readAt(fd, size, 0);
    if (looksBinary(buf.subarray(0, BINARY_SNIFF_BYTES))) return true;
    // a UTF-8 BOM is not part of the first line (ripgrep drops it too)
    const text = buf.toString('utf8', buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0);
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let matched: Set<number>;
    let count: number;
    if (multiline) {
      const starts: number[] = [];
      let pos = 0;
      for (const l of lines) {
        starts.push(pos);
        pos += l.length + 1;
      }
      if (starts.length === 0) starts.push(0);
      ({ lines: matched, count } = multilineMatches(re, text, starts));
    } else {
      matched = new Set();
      for (let i = 0; i < lines.length; i++) if (test(lines[i]!)) matched.add(i);
      count = matched.size;
    }
    if (matched.size === 0) return true;
    if (mode === 'files_with_matches') return out.push(rel);
    if (mode === 'count') return out.push(`${rel}:${count}`);
    // content: matched lines and their context, `--` between runs that are not contiguous (rg prints it
    // between files too when any context was asked for)
    const show = new Set<number>();
    for (const i of matched) for (let j = Math.max(0, i - before); j <= Math.min(lines.length - 1, i + after); j++) show.add(j);
    const order = [...show].sort((x, y) => x - y);
    let last = -2;
    for (const j of order) {
      if ((before > 0 || after > 0) && j !== last + 1 && (groupsPrinted > 0 || last >= 0)) {
        if (!out.push('--')) return false;
      }
      const sep = matched.has(j) ? ':' : '-';
      const line = numbers ? `${rel}${sep}${j + 1}${sep}${cutLine(lines[j]!, o.maxLineLength)}` : `${rel}${sep}${cutLine(lines[j]!, o.maxLineLength)}`;
      if (!out.push(line)) return false;
      last = j;
    }
    groupsPrinted++;
    return true;
  };

  const start = openStart(ctx, input.path, o);
  // Paths are shown under the path as given (a link's name, as ripgrep shows it), not its target.
  const given = lexicalComponents(ctx, input.path === undefined || input.path === '' ? '.' : input.path).join('/');
  const shownRel = (rel: string): string => (given === start.rel ? rel : rel === start.rel ? given : joinRel(given, start.rel ? rel.slice(start.rel.length + 1) : rel));
  try {
    const guard = compileGuard(o.guard, 'grep', ctx);
    const bar = enforceGuard(guard, ctx, input.path, start.rel);
    const hidden = (rel: string, dir: boolean): boolean => guard !== null && (dir ? guard.resolvedDir(rel) : guard.resolved(rel)) > bar;
    if (start.stat.isFile()) {
      enforceHardlink(guard, ctx, start.stat, bar, JSON.stringify(input.path));
      searchFile(start.fd, start.stat.size, shownRel(start.rel));
    } else {
      const frames = ignoreFramesFor(ctx, start.rel, start.fd, o);

      walkTree(
        ctx,
        start.fd,
        start.rel,
        0,
        {
          dir: (rel, name) => name !== '.git' && !hidden(rel, true) && !isIgnored(frames, rel, true),
          enter: (rel, fd) => {
            const fr = loadGitignore(ctx, fd, rel, o); // the directory's own rules, before its entries
            if (fr) frames.push(fr);
          },
          leave: (rel) => {
            while (frames.length > 0 && frames[frames.length - 1]!.dir === rel) frames.pop();
          },
          entry: (rel, e, dirfd) => {
            if (e.kind !== 'file') return true; // symlinks are never followed
            if (e.name === '.git') return true;
            if (hidden(rel, false)) return true; // a denied path is never searched, whatever the pattern
            const globbed = globMatch === null || globMatch(start.rel ? rel.slice(start.rel.length + 1) : rel);
            if (!globbed) return true;
            if (!(globOverridesIgnore && globbed) && isIgnored(frames, rel, false)) return true;
            if (typeMatch && !typeMatch(e.name)) return true;
            const f = openEntry(ctx, dirfd, e.name, 'file', o.allowHardlinks);
            if (!f) return true;
            try {
              if (hardlinkLevel(guard, ctx, f.stat) > bar) return true; // another name of a denied file
              return searchFile(f.fd, f.stat.size, shownRel(rel));
            } finally {
              closeQuietly(f.fd);
            }
          },
        },
        budget,
        o,
      );
    }
  } finally {
    closeQuietly(start.fd);
  }
  if (out.count === 0 && !budget.exhausted) return ok('No matches found\n', false);
  let marker = '';
  if (out.cut) {
    marker =
      input.head_limit !== undefined && out.count >= input.head_limit
        ? `[… head_limit ${input.head_limit} reached; more results not shown]\n`
        : `[… output cut at ${o.maxOutputBytes} bytes; narrow the pattern, path or glob]\n`;
  } else if (budget.exhausted) {
    marker = `[… stopped after looking at ${MAX_WALK_ENTRIES} entries; narrow the path or glob]\n`;
  }
  return ok(out.text() + marker, marker !== '');
}

// ---------------------------------------------------------------------------------------------------
// list

function toolList(ctx: RootCtx, input: ListInput, o: FsOptions): FsResult {
  const d = openStart(ctx, input.path, o);
  try {
    const guard = compileGuard(o.guard, 'list', ctx);
    const bar = enforceGuard(guard, ctx, input.path, d.rel);
    if (!d.stat.isDirectory()) throw new FsError('NOT_A_DIRECTORY', `${JSON.stringify(d.rel)} is not a directory; use read`);
    const entries = fs
      .readdirSync(fdPath(d.fd), { withFileTypes: true })
      .map((x) => ({ name: x.name, kind: kindOfDirent(d.fd, x) }))
      // Denied paths are invisible, not just unreadable.
      .filter((e) => guard === null || (e.kind === 'dir' ? guard.resolvedDir(joinRel(d.rel, e.name)) : guard.resolved(joinRel(d.rel, e.name))) <= bar)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.length === 0) return ok('[empty directory]\n', false);
    const out = new Output(o.maxOutputBytes);
    for (const e of entries) {
      let line = e.name;
      if (e.kind === 'dir') line += '/';
      else if (e.kind === 'symlink') {
        let target = '?';
        try {
          target = fs.readlinkSync(fdPath(d.fd, e.name));
        } catch {
          /* vanished */
        }
        line += ` -> ${target}`;
      }
      if (!out.push(line)) break;
    }
    const marker = out.cut ? `[… ${entries.length - out.count} more entries not shown]\n` : '';
    return ok(out.text() + marker, out.cut);
  } finally {
    closeQuietly(d.fd);
  }
}
