/** Argument parsers for commander options, with the error commander prints. */
import { InvalidArgumentError } from 'commander';

/**
 * A whole number written in plain decimal digits, from `min` to `max`. `Number()` alone would take
 * `1e99`, `0x10`, ` 12 `, `1.0` and the empty string: none of those is a count a user meant.
 */
export function parseWholeNumber(v: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return n;
}

export function parsePositiveIntUpTo(v: string, max: number): number {
  return parseWholeNumber(v, 1, max);
}

export function parseAsk(v: string): 'deny' | 'allow' {
  if (v !== 'deny' && v !== 'allow') throw new InvalidArgumentError('expected deny or allow');
  return v;
}
