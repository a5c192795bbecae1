/**
 * Shell glob words (`src/*.ts`, `*.pem`) as the policy sees them: where their expansion can land, and
 * whether one could expand to a given kind of name. bash semantics: `*`, `?`, `[…]`; a name starting
 * with `.` is only matched by a segment that starts with a literal `.`.
 */

/** One element of a compiled glob segment. */
type Elem = { k: 'star' } | { k: 'any' } | { k: 'char'; c: string } | { k: 'class'; neg: boolean; test: (c: string) => boolean };

/** A word the analyzer reported as dynamic that is a plain glob: no quotes, expansions, braces or `~`. */
export function isPlainGlob(text: string): boolean {
  return /^[A-Za-z0-9_./*?[\]!@%+=:,^-]+$/.test(text) && /[*?[]/.test(text) && !/[*?]\(|@\(|!\(|\+\(/.test(text);
}

export function hasGlobChars(segment: string): boolean {
  return /[*?[]/.test(segment);
}

function compileSegment(seg: string): Elem[] {
  const out: Elem[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') {
      if (out[out.length - 1]?.k !== 'star') out.push({ k: 'star' });
    } else if (c === '?') out.push({ k: 'any' });
    else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (seg[j] === '!' || seg[j] === '^') {
        neg = true;
        j++;
      }
      const start = j;
      if (seg[j] === ']') j++;
      while (j < seg.length && seg[j] !== ']') j++;
      if (j >= seg.length) {
        out.push({ k: 'char', c: '[' });
        continue;
      }
      const body = seg.slice(start, j);
      const ranges: [string, string][] = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else ranges.push([body[k], body[k]]);
      }
      const inSet = (ch: string): boolean => ranges.some(([a, b]) => ch >= a && ch <= b);
      out.push({ k: 'class', neg, test: (ch) => inSet(ch) !== neg });
      i = j;
    } else out.push({ k: 'char', c });
  }
  return out;
}

/** Representative characters: every printable ASCII one plus one beyond (for negated classes). */
const ALPHABET: string[] = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), 'é'];

function accepts(e: Elem, ch: string): boolean {
  switch (e.k) {
    case 'star':
    case 'any':
      return true;
    case 'char':
      return e.c === ch;
    case 'class':
      return e.test(ch);
  }
}

/**
 * Could some file name be matched by both globs? `shell` is a glob word from a command (bash's leading-dot
 * rule applies to it), `pattern` a glob of names (`*.pem`, `.env*`). Product-automaton search.
 */
export function globsIntersect(shell: string, pattern: string): boolean {
  const a = compileSegment(shell);
  const b = compileSegment(pattern);
  const leadingDotOk = a[0]?.k === 'char' && a[0].c === '.';
  const seen = new Set<string>();
  // State: position in each glob, and whether a character was consumed yet (the leading-dot rule).
  const stack: [number, number, boolean][] = [[0, 0, false]];
  while (stack.length) {
    const [i, j, started] = stack.pop() as [number, number, boolean];
    const key = `${i},${j},${started ? 1 : 0}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Epsilon moves over stars.
    if (a[i]?.k === 'star') stack.push([i + 1, j, started]);
    if (b[j]?.k === 'star') stack.push([i, j + 1, started]);
    if (i === a.length && j === b.length) return true;
    if (i === a.length || j === b.length) continue;
    for (const ch of ALPHABET) {
      if (ch === '/') continue;
      if (!started && ch === '.' && !leadingDotOk) continue;
      if (!accepts(a[i], ch) || !accepts(b[j], ch)) continue;
      // A star may consume the character and stay; every other element advances.
      const ni = a[i].k === 'star' ? [i, i + 1] : [i + 1];
      const nj = b[j].k === 'star' ? [j, j + 1] : [j + 1];
      for (const x of ni) for (const y of nj) stack.push([x, y, true]);
    }
  }
  return false;
}

/** Could this glob segment match `.` or `..` (bash before 5.2 lets `.*` match both)? */
export function segmentCouldBeDots(seg: string): boolean {
  if (!hasGlobChars(seg)) return seg === '.' || seg === '..';
  if (!seg.startsWith('.')) return false; // bash: a wildcard never matches a leading dot
  const elems = compileSegment(seg);
  const test = (name: string): boolean => {
    const rec = (i: number, k: number): boolean => {
      if (i === elems.length) return k === name.length;
      const e = elems[i];
      if (e.k === 'star') return rec(i + 1, k) || (k < name.length && rec(i, k + 1));
      return k < name.length && accepts(e, name[k]) && rec(i + 1, k + 1);
    };
    return rec(0, 0);
  };
  return test('.') || test('..');
}
