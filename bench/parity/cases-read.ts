/**
 * read vs GNU `cat -n`: icode's numbered lines are cat -n's exactly (`%6d` then a TAB, then the line's
 * bytes, a CR kept); slices, the long-line cut and the limit markers are the documented contract
 * applied to cat's lines (docs/parity.md). Contract differences: an empty file reads as
 * `[empty file]`, the last line always ends in \n, a binary file is refused unless binary: true
 * (then base64, compared with `base64 -w0`).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FS_OPTIONS } from '../../sandbox/fs/types.js';
import { runRef } from './exec.js';
import { cut, plural, utf8 } from './normalise.js';
import { REFUSED, type CaseEnv, type ParityCase } from './types.js';

const MAX_LINE = DEFAULT_FS_OPTIONS.maxLineLength;
const MAX_OUT = DEFAULT_FS_OPTIONS.maxOutputBytes;
const DEFAULT_LIMIT = 2000;

/** What read returns for `rel`, computed from `cat -n`. */
export function readReference(env: CaseEnv, rel: string, offset?: number, limit?: number): string {
  const abs = join(env.corpus.ws, rel);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return REFUSED;
  }
  if (!st.isFile()) return REFUSED;
  const raw = readFileSync(abs);
  if (raw.subarray(0, 8192).includes(0)) return REFUSED;
  if (raw.length === 0) return '[empty file]\n';
  const r = runRef('cat', ['-n', abs]);
  if (r.status !== 0) return REFUSED;
  const text = utf8(r.stdout);
  const catLines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const total = catLines.length;
  const first = offset ?? 1;
  if (first > total) return `[offset ${first} is past the end of ${JSON.stringify(rel)}, which has ${plural(total, 'line')}]\n`;
  const lim = limit ?? DEFAULT_LIMIT;
  let out = '';
  let bytes = 0;
  let next = first;
  let stopped: 'limit' | 'output' | null = null;
  const last = Math.min(total, first - 1 + lim);
  for (let i = first - 1; i < last; i++) {
    const l = catLines[i]!;
    const tab = l.indexOf('\t');
    const line = `${l.slice(0, tab + 1)}${cut(l.slice(tab + 1), MAX_LINE)}\n`;
    const lb = Buffer.byteLength(line);
    if (next > first && bytes + lb > MAX_OUT) {
      stopped = 'output';
      break;
    }
    out += line;
    bytes += lb;
    next = i + 2;
  }
  if (stopped === null && last < total) stopped = 'limit';
  if (stopped !== null) {
    const rest = `${plural(total - (next - 1), 'more line')} of ${total}`;
    out += stopped === 'output' ? `[… output limit of ${MAX_OUT} bytes reached; ${rest} not shown. Use offset=${next} to read on.]\n` : `[… ${rest} not shown. Use offset=${next} to read on.]\n`;
  }
  return out;
}

export function readCases(env: CaseEnv): ParityCase[] {
  const cases: ParityCase[] = [];
  const add = (rel: string, offset?: number, limit?: number): void => {
    const input: Record<string, unknown> = { path: rel };
    if (offset !== undefined) input.offset = offset;
    if (limit !== undefined) input.limit = limit;
    cases.push({ tool: 'read', name: `read ${rel}${offset ? ` offset=${offset}` : ''}${limit ? ` limit=${limit}` : ''}`, input, reference: (e) => readReference(e, rel, offset, limit) });
  };
  for (const f of env.corpus.textFiles) {
    if (f === 'build/big.txt') continue;
    add(f);
    add(f, 2);
    add(f, undefined, 1);
    add(f, 2, 2);
    add(f, 10_000);
  }
  add('many.txt', 2990);
  add('many.txt', 1500, 600);
  add('build/big.txt', undefined, 4000); // passes the output byte cap
  add('build/big.txt', 3990);
  add('long.txt', 2, 1);
  for (const p of ['link-to-readme', 'dangling-link', 'src', 'bin/blob.bin', 'bin/text-then-nul.dat', 'missing.txt', 'ünïcödé/日本語.txt']) add(p);
  cases.push({
    tool: 'read',
    name: 'read bin/blob.bin binary=true',
    input: { path: 'bin/blob.bin', binary: true },
    reference: (e) => {
      const b64 = runRef('base64', ['-w0', join(e.corpus.ws, 'bin/blob.bin')]).stdout.toString();
      return `[binary file "bin/blob.bin", 13 bytes; base64 of bytes 0–13 follows]\n${b64}`;
    },
  });
  return cases;
}
