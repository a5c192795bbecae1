/**
 * The hash chain: each row's hash is over the previous row's hash and the canonical JSON of its
 * cells — an HMAC with the installation's key for a keyed row, a plain sha256 for an unkeyed one.
 * The writer and verify() both use these, so what is written is what is checked.
 */
import { createHash, createHmac, hash as cryptoHash } from 'node:crypto';
import { COLUMNS, type Cell } from './schema.js';

/** `prev_hash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** Positions of the columns in alphabetical order: the key order of the canonical JSON. */
const SORTED = [...COLUMNS].map((c, i) => [c, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
const SORTED_KEYS = SORTED.map(([name]) => `"${name}":`);
const SORTED_IDX = SORTED.map(([, idx]) => idx);

/** One-shot crypto.hash (Node ≥ 20.12) is ~2× faster than createHash for small inputs. */
export const sha256: (text: string) => string =
  typeof cryptoHash === 'function' ? (text) => cryptoHash('sha256', text, 'hex') : (text) => createHash('sha256').update(text).digest('hex');

/** Strings stored as they will read back (lone surrogates would not survive UTF-8). */
export function clean(s: string): string {
  // String.prototype.toWellFormed is in Node 20 but not in the ES2023 lib typings.
  return (s as unknown as { toWellFormed(): string }).toWellFormed();
}

/** sha256_hex(prevHash + canonical JSON of the cells), the cells given in COLUMNS order. */
export function rowHash(prevHash: string, cells: readonly Cell[]): string {
  return sha256(prevHash + canonicalJson(cells));
}

/** hmac_sha256_hex(key, prevHash + canonical JSON of the cells): the hash of a keyed row. */
export function rowMac(key: Buffer, prevHash: string, cells: readonly Cell[]): string {
  return hmacSha256Hex(key, prevHash + canonicalJson(cells));
}

/**
 * HMAC-SHA256 (RFC 2104) as hex. With one-shot crypto.hash it is computed from the key's inner and
 * outer pads, prepared once per key: sha256(K^opad ‖ sha256(K^ipad ‖ text)). That skips building an
 * OpenSSL HMAC context (an algorithm fetch and a key import) for every row, which was most of a row's
 * hashing time; the result is exactly createHmac's (test/audit/chain.test.ts).
 */
export function hmacSha256Hex(key: Buffer, text: string): string {
  let mac = macs.get(key);
  if (mac === undefined) {
    mac = typeof cryptoHash === 'function' ? padMac(key) : (t) => createHmac('sha256', key).update(t).digest('hex');
    macs.set(key, mac);
  }
  return mac(text);
}

const macs = new WeakMap<Buffer, (text: string) => string>();
const BLOCK = 64;

function padMac(rawKey: Buffer): (text: string) => string {
  const key = rawKey.length > BLOCK ? createHash('sha256').update(rawKey).digest() : rawKey;
  // inner: K^ipad, then the text (the buffer grows for a long text); outer: K^opad, then the inner digest.
  let inner = Buffer.alloc(BLOCK + 4096);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    const k = i < key.length ? key[i] : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  return (text) => {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (inner.length < BLOCK + text.length * 3) {
      const grown = Buffer.alloc(BLOCK + text.length * 3);
      inner.copy(grown, 0, 0, BLOCK);
      inner = grown;
    }
    const n = inner.write(text, BLOCK, 'utf8');
    const digest = cryptoHash('sha256', inner.subarray(0, BLOCK + n), 'buffer');
    digest.copy(outer, BLOCK);
    return cryptoHash('sha256', outer, 'hex');
  };
}

/**
 * The hash kept of a decision's unredacted input: HMAC-SHA256 with the key (so that a short secret in
 * the input cannot be guessed back from the row), or sha256 without one; over JSON.stringify(input).
 */
export function inputHash(input: unknown, key: Buffer | null): string {
  let text: string;
  try {
    text = JSON.stringify(input) ?? 'null';
  } catch {
    text = String(input); // circular or BigInt: what the row could not store either
  }
  text = clean(text);
  return key ? hmacSha256Hex(key, text) : sha256(text);
}

/**
 * `{"agent":"main","call_id":"c1",…}`: every non-null column but prev_hash and hash, keys sorted,
 * values as SQLite stores them (JSON.stringify of the string or number).
 */
export function canonicalJson(cells: readonly Cell[]): string {
  let s = '{';
  for (let i = 0; i < SORTED_KEYS.length; i++) {
    const col = SORTED_IDX[i];
    const v = cells[col];
    if (v === null || v === undefined) continue;
    let json: string;
    if (v === lastValue[col]) json = lastJson[col];
    else {
      json = JSON.stringify(v);
      lastValue[col] = v;
      lastJson[col] = json;
    }
    s += (s.length > 1 ? ',' : '') + SORTED_KEYS[i] + json;
  }
  return s + '}';
}

/** Each column's last value and its JSON: consecutive rows repeat most values (session, agent, key…). */
const lastValue: Cell[] = new Array<Cell>(COLUMNS.length).fill(null);
const lastJson: string[] = new Array<string>(COLUMNS.length).fill('null');
