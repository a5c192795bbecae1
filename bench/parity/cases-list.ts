/**
 * list vs `find DIR -mindepth 1 -maxdepth 1`: every entry (hidden and .gitignored ones too: list is
 * `ls -A`, it applies no ignore rules), a directory with a trailing `/`, a symlink as `name -> target`
 * (never followed). Ordering: icode sorts by name; both sides are compared in byte order.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { runRef } from './exec.js';
import { byteSort, icodeText, sortLines } from './normalise.js';
import { REFUSED, type CaseEnv, type ParityCase } from './types.js';

export function listReference(env: CaseEnv, rel: string): string {
  try {
    if (!statSync(join(env.corpus.ws, rel)).isDirectory()) return REFUSED;
  } catch {
    return REFUSED;
  }
  const r = runRef('find', ['-H', join(env.corpus.ws, rel), '-mindepth', '1', '-maxdepth', '1', '-printf', '%y\\t%l\\t%f\\0']);
  if (r.status !== 0) return REFUSED;
  const entries = r.stdout.toString('utf8').split('\0').filter(Boolean);
  if (entries.length === 0) return '[empty directory]\n';
  const lines = entries.map((e) => {
    const [type, target, name] = e.split('\t') as [string, string, string];
    return type === 'd' ? `${name}/` : type === 'l' ? `${name} -> ${target}` : name;
  });
  return byteSort(lines).join('\n') + '\n';
}

export function listCases(env: CaseEnv): ParityCase[] {
  const cases: ParityCase[] = [];
  const add = (rel: string): void => {
    cases.push({
      tool: 'list',
      name: `list ${rel}`,
      input: rel === '' ? {} : { path: rel },
      reference: (e) => listReference(e, rel === '' ? '.' : rel),
      actual: (r) => {
        const t = icodeText(r);
        return t === REFUSED || t.startsWith('[') ? t : sortLines(t);
      },
    });
  };
  for (const d of env.corpus.dirs) add(d);
  for (const p of ['linkdir', 'README.md', 'missing-dir', 'dangling-link']) add(p);
  return cases;
}
