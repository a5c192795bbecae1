/** The edit tool: an exact string replaced (once, or everywhere), the file rewritten atomically. */
import fs from 'node:fs';
import { atomicWrite, fdPath, kindOf, O_FILE_READ, protectedMatcher, toFsError, walk, type ParentRef, type RootCtx } from './confine.js';
import { BINARY_SNIFF_BYTES, closeQuietly, looksBinary, readAt } from './bytes.js';
import { compileGuard } from './guard.js';
import { enforceGuard, enforceHardlink } from './guard-enforce.js';
import { ok, plural } from './output.js';
import { FsError, type EditInput, type FsOptions, type FsResult } from './types.js';

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

export function toolEdit(ctx: RootCtx, input: EditInput, o: FsOptions): FsResult {
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
