/** The parity harness's building blocks: the missing-reference refusal and the regex dialect. */
import { describe, expect, it } from 'vitest';
import { requireReferences } from '../../bench/parity/exec.js';
import { MissingReferenceError } from '../../bench/parity/types.js';
import { RegexDialectError, translateRustRegex } from '../../sandbox/fs/regex.js';

const re = (p: string, ci = false): RegExp => {
  const t = translateRustRegex(p, { caseInsensitive: ci });
  return new RegExp(t.source, t.flags);
};

describe('a missing reference program', () => {
  it('is an error with the install hint, never a skip', () => {
    expect(() => requireReferences(['icode-no-such-reference-program'])).toThrow(MissingReferenceError);
    expect(() => requireReferences(['icode-no-such-reference-program'])).toThrow(/not installed; install/);
  });
});

describe("grep's regex dialect (Rust syntax translated or refused)", () => {
  it('translates what JavaScript would read differently', () => {
    expect(re('^a.c$').test('a\rc')).toBe(true); // . matches \r as in Rust
    expect(re('\\w+').exec('héllo')![0]).toBe('héllo'); // Unicode \w
    expect(re('\\d').test('٣')).toBe(true); // Unicode \d
    expect(re('\\bcat\\b').test('écat')).toBe(false); // Unicode \b
    expect(re('\\p{Greek}').test('Ω')).toBe(true);
    expect(re('\\x{1F600}').test('😀')).toBe(true);
    expect(re('(?i)straße').test('STRAßE')).toBe(true);
    expect(re('(?P<n>a)b').test('ab')).toBe(true);
    expect(re('[[:digit:]]+').test('42')).toBe(true);
    expect(re('^$').test('emoji 😀 smile')).toBe(false); // never between the halves of a surrogate pair
  });
  it.each(['(?=a)', '(?<!a)b', '(a)\\1', '\\h', '[a-z&&[^aeiou]]', '[[a]]', 'a(?i)b', 'a++', '(?x)a b'])('refuses %s with a clear error', (p) => {
    expect(() => translateRustRegex(p, { caseInsensitive: false })).toThrow(RegexDialectError);
    expect(() => translateRustRegex(p, { caseInsensitive: false })).toThrow(/not supported \(grep uses ripgrep's Rust regex syntax/);
  });
});
