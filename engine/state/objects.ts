/**
 * Git loose objects written in-process (no git process on the hot path): an object is
 * `zlib.deflate("<type> <length>\0" + body)` stored at `objects/<id[0..2]>/<id[2..]>`, where id is
 * the sha1 of the uncompressed form. A tree's body is its entries sorted by name (a directory's name
 * compared as if it ended in "/"), each `"<mode> <name>\0" + <20-byte id>`; modes are 100644,
 * 100755, 120000 (symbolic link: the blob is the link's target) and 40000 (directory). See
 * gitformat-index(5) / git's tree-walk.c `base_name_compare` for the order.
 *
 * Objects are content-addressed and written temp + rename, so concurrent writers (another icode
 * process on the same workspace) cannot corrupt each other. Nothing here removes an object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, constants as zc } from 'node:zlib';

export type TreeMode = '100644' | '100755' | '120000' | '40000';

export interface TreeEntry {
  name: string;
  mode: TreeMode;
  /** 40 hex digits. */
  id: string;
}

/** sha1 of a git object of `type` with `body`, and the uncompressed object. */
export function hashObject(type: 'blob' | 'tree' | 'commit', body: Buffer): { id: string; raw: Buffer } {
  const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  return { id: createHash('sha1').update(raw).digest('hex'), raw };
}

const ASCII = /^[\x00-\x7f]*$/;

/** Objects up to this size are stored uncompressed (see zlibStored); larger blobs are deflated. */
const STORE_UNCOMPRESSED_UP_TO = 16 * 1024;

/** Adler-32 of `b` (zlib's trailer checksum). */
function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  const n = b.length;
  for (let i = 0; i < n; ) {
    // the sums stay exact in doubles (far below 2^53) over 3800 bytes between two modulos
    const end = Math.min(n, i + 3800);
    for (; i < end; i++) {
      a += b[i]!;
      c += a;
    }
    a %= 65521;
    c %= 65521;
  }
  return ((c << 16) | a) >>> 0;
}

/**
 * A valid zlib stream of `raw` in stored (uncompressed) blocks: what deflate level 0 writes, without
 * the cost of a zlib context per object (~70 µs each, which dominated small objects).
 */
export function zlibStored(raw: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = Buffer.allocUnsafe(2 + blocks * 5 + raw.length + 4);
  out[0] = 0x78;
  out[1] = 0x01; // deflate, 32K window, no dictionary, fastest; (0x7801 % 31 === 0)
  let at = 2;
  for (let i = 0; i < blocks; i++) {
    const start = i * 65535;
    const len = Math.min(65535, raw.length - start);
    out[at++] = i === blocks - 1 ? 1 : 0; // BFINAL, BTYPE=00 (stored)
    out.writeUInt16LE(len, at);
    out.writeUInt16LE(~len & 0xffff, at + 2);
    at += 4;
    raw.copy(out, at, start, start + len);
    at += len;
  }
  out.writeUInt32BE(adler32(raw), at);
  return out;
}

/** The body of a tree object (entries in any order; they are sorted here). */
export function treeBody(entries: readonly TreeEntry[]): Buffer {
  // git's order: bytewise by name, a directory's name as if it ended in "/". For ASCII names a
  // string comparison is the bytewise one; otherwise compare the UTF-8 bytes.
  const keyed = entries.map((e) => ({ e, key: e.mode === '40000' ? `${e.name}/` : e.name }));
  if (keyed.every((k) => ASCII.test(k.key))) keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else {
    const bytes = new Map(keyed.map((k) => [k, Buffer.from(k.key, 'utf8')]));
    keyed.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
  }
  let size = 0;
  for (const { e } of keyed) size += e.mode.length + 1 + Buffer.byteLength(e.name, 'utf8') + 1 + 20;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { e } of keyed) {
    at += out.write(`${e.mode} ${e.name}\0`, at, 'utf8');
    at += out.write(e.id, at, 'hex');
  }
  return out;
}

export class ObjectWriter {
  private readonly objects: string;
  /** Fan-out directories known to exist. */
  private readonly dirs = new Set<string>();

  constructor(gitDir: string) {
    this.objects = join(gitDir, 'objects');
  }

  private pathOf(id: string): string {
    return join(this.objects, id.slice(0, 2), id.slice(2));
  }

  /** Is the object stored loose? (A packed one is written again loose: harmless, git reads either.) */
  has(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  /**
   * Store an object unless it is there already; returns its id. Small objects (every tree in
   * practice: mostly 20-byte ids, which do not compress) are written as stored zlib blocks; larger
   * blobs are deflated at the fastest level.
   */
  write(type: 'blob' | 'tree' | 'commit', body: Buffer): string {
    const { id, raw } = hashObject(type, body);
    const target = this.pathOf(id);
    if (existsSync(target)) return id;
    const dir = join(this.objects, id.slice(0, 2));
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const tmp = join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o444);
    try {
      writeSync(fd, raw.length <= STORE_UNCOMPRESSED_UP_TO ? zlibStored(raw) : deflateSync(raw, { level: zc.Z_BEST_SPEED }));
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, target);
    return id;
  }

  writeTree(entries: readonly TreeEntry[]): string {
    return this.write('tree', treeBody(entries));
  }
}
