/**
 * The chain's hashes against node:crypto's reference implementations: the pad-based HMAC the writer
 * uses must equal createHmac for every key and text (short, long, multi-byte, lone surrogates), and a
 * row's hash must be the HMAC (or sha256) of prev_hash + its canonical JSON.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256Hex } from '../../engine/audit/chain.js';
import { AUDIT_COLUMNS, canonicalJson, inputHash, rowHash, rowMac } from '../../engine/audit/log.js';

const reference = (key: Buffer, text: string): string => createHmac('sha256', key).update(text).digest('hex');

describe('hmacSha256Hex', () => {
  it('equals createHmac for any key length and any text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 130 }), fc.fullUnicodeString({ maxLength: 300 }), (k, text) => {
        const key = Buffer.from(k);
        expect(hmacSha256Hex(key, text)).toBe(reference(key, text));
      }),
      { numRuns: 300 },
    );
  });

  it('equals createHmac on texts longer than its first buffer, one after another with the same key', () => {
    const key = randomBytes(32);
    for (const len of [0, 1, 4095, 4096, 4097, 20_000, 10, 70_000, 3]) {
      const text = 'é€😀a'.repeat(len).slice(0, len);
      expect(hmacSha256Hex(key, text)).toBe(reference(key, text));
    }
    // Lone surrogates: encoded like createHmac does (U+FFFD), never a different MAC.
    expect(hmacSha256Hex(key, 'a\ud800b')).toBe(reference(key, 'a\ud800b'));
  });

  it('keeps keys apart: two keys, same text, two MACs, each its own', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(hmacSha256Hex(a, 'row')).toBe(reference(a, 'row'));
    expect(hmacSha256Hex(b, 'row')).toBe(reference(b, 'row'));
    expect(hmacSha256Hex(a, 'row')).not.toBe(hmacSha256Hex(b, 'row'));
  });
});

describe('row hashes', () => {
  it('rowMac / rowHash / inputHash are HMAC / sha256 of what they say', () => {
    const key = randomBytes(32);
    const cells = AUDIT_COLUMNS.map((c, i) => (c === 'seq' ? 7 : i % 3 === 0 ? null : `v${i} "quoted" ü`));
    const prev = 'a'.repeat(64);
    const text = prev + canonicalJson(cells);
    expect(rowMac(key, prev, cells)).toBe(reference(key, text));
    expect(rowHash(prev, cells)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(inputHash({ path: 'src/a.ts' }, key)).toBe(reference(key, '{"path":"src/a.ts"}'));
    expect(inputHash({ path: 'src/a.ts' }, null)).toBe(createHash('sha256').update('{"path":"src/a.ts"}').digest('hex'));
  });
});
