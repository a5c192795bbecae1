/** Argument parsers for commander options, with the error commander prints. */
import { InvalidArgumentError } from 'commander';

export function parsePositiveIntUpTo(v: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
  return n;
}

export function parseAsk(v: string): 'deny' | 'allow' {
  if (v !== 'deny' && v !== 'allow') throw new InvalidArgumentError('expected deny or allow');
  return v;
}
