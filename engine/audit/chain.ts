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
  return createHmac('sha256', key).update(prevHash + canonicalJson(cells)).digest('hex');
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
  return key ? createHmac('sha256', key).update(text).digest('hex') : sha256(text);
}

/**
 * `{"agent":"main","call_id":"c1",…}`: every non-null column but prev_hash and hash, keys sorted,
 * values as SQLite stores them (JSON.stringify of the string or number).
 */
export function canonicalJson(cells: readonly Cell[]): string {
  let s = '{';
  for (let i = 0; i < SORTED_KEYS.length; i++) {
    const v = cells[SORTED_IDX[i]];
    if (v === null || v === undefined) continue;
    s += (s.length > 1 ? ',' : '') + SORTED_KEYS[i] + JSON.stringify(v);
  }
  return s + '}';
}
