/**
 * grep's regex dialect is ripgrep's (Rust `regex` crate syntax). JavaScript's RegExp differs in ways
 * that would silently change a pattern's meaning, so a pattern is translated to an equivalent JS
 * pattern (compiled with the `u` flag) or refused with a clear error. See docs/parity.md.
 *
 * Translated: `.` (any code point but \n, as in Rust, where JS would also stop at \r, U+2028, U+2029),
 * `^`/`$` (line boundaries, the same in line and multiline mode), `\A` `\z`, `\w` `\d` `\s` `\b` `\B`
 * and their negations (Unicode, as in Rust; JS's are ASCII), `\pL` (one-letter property), `(?P<name>`,
 * a leading `(?i)`/`(?s)` flag group, escaped punctuation, POSIX classes `[[:alpha:]]` etc.
 * Refused (Rust refuses them too, or JS would mean something else): look-around, backreferences,
 * inline flags anywhere but the start, class set operations (`&&`, `--`, `~~`), nested classes,
 * `\h`, `\Z`, `\K`, `\G`, possessive and atomic groups.
 */
export class RegexDialectError extends Error {}

const WORD = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const DIGIT = String.raw`\p{Nd}`;
const SPACE = String.raw`\p{White_Space}`;
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export interface TranslatedRegex {
  source: string;
  flags: string;
}

function refuse(what: string): never {
  throw new RegexDialectError(`${what} is not supported (grep uses ripgrep's Rust regex syntax; see docs/parity.md)`);
}

const isPunct = (c: string): boolean => /^[!-/:-@[-`{-~]$/.test(c);
const lit = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`;

/**
 * A Rust Unicode class name as JS spells it: a general category or binary property as is, a bare
 * script name (`\p{Greek}`) as `Script=Greek` (Rust's meaning), `name=value` as is.
 */
function unicodeClass(name: string): string {
  if (!/^[A-Za-z_]+(=[A-Za-z_]+)?$/.test(name)) refuse(`the Unicode class ${JSON.stringify(name)}`);
  const works = (n: string): boolean => {
    try {
      new RegExp(`\\p{${n}}`, 'u');
      return true;
    } catch {
      return false;
    }
  };
  if (works(name)) return name;
  if (!name.includes('=') && works(`Script=${name}`)) return `Script=${name}`;
  return refuse(`the Unicode class ${JSON.stringify(name)}`);
}

/** Translates one escape (after the backslash) at `i`; returns the JS text and the next index. */
function escape(p: string, i: number, inClass: boolean): [string, number] {
  const c = p[i];
  if (c === undefined) refuse('a trailing backslash');
  switch (c) {
    case 'w':
      return [inClass ? WORD : `[${WORD}]`, i + 1];
    case 'W':
      if (inClass) refuse('\\W inside a class');
      return [`[^${WORD}]`, i + 1];
    case 'd':
      return [inClass ? DIGIT : `[${DIGIT}]`, i + 1];
    case 'D':
      if (inClass) refuse('\\D inside a class');
      return [`[^${DIGIT}]`, i + 1];
    case 's':
      return [inClass ? SPACE : `[${SPACE}]`, i + 1];
    case 'S':
      if (inClass) refuse('\\S inside a class');
      return [`[^${SPACE}]`, i + 1];
    case 'b':
      if (inClass) refuse('\\b inside a class');
      return [`(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`, i + 1];
    case 'B':
      if (inClass) refuse('\\B inside a class');
      return [`(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`, i + 1];
    // positive forms only: V8 may test a negative look-around between the halves of a surrogate pair
    case 'A':
      return ['^', i + 1];
    case 'z':
      return ['$', i + 1];
    case 'u':
    case 'U': {
      const m = (c === 'u' ? /^u(\{[0-9A-Fa-f]{1,8}\}|[0-9A-Fa-f]{4})/ : /^U(\{[0-9A-Fa-f]{1,8}\}|[0-9A-Fa-f]{8})/).exec(p.slice(i));
      if (!m) refuse(`a malformed \\${c} escape`);
      const cp = parseInt(m[1]!.replace(/[{}]/g, ''), 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) refuse('a code point that is not a Unicode scalar value');
      return [`\\u{${cp.toString(16)}}`, i + m[0].length];
    }
    case 'n':
    case 't':
    case 'r':
    case 'f':
    case 'v':
      return [`\\${c}`, i + 1];
    case 'x': {
      const m = /^x(\{[0-9A-Fa-f]{1,8}\}|[0-9A-Fa-f]{2})/.exec(p.slice(i));
      if (!m) refuse('a malformed \\x escape');
      const hex = m[1]!.replace(/[{}]/g, '');
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) refuse('a code point past U+10FFFF');
      return [`\\u{${cp.toString(16)}}`, i + m[0].length];
    }
    case 'p':
    case 'P': {
      if (p[i + 1] === '{') {
        const end = p.indexOf('}', i + 2);
        if (end < 0) refuse('an unterminated \\p{');
        const name = p.slice(i + 2, end);
        return [`\\${c}{${unicodeClass(name)}}`, end + 1];
      }
      const one = p[i + 1];
      if (!one || !/[A-Za-z]/.test(one)) refuse('a malformed \\p escape');
      return [`\\${c}{${unicodeClass(one)}}`, i + 2];
    }
    default:
      if (/[0-9]/.test(c)) refuse('a backreference (or octal escape)');
      if (isPunct(c) || c === ' ') return [lit(c), i + 1];
      return refuse(`the escape \\${c}`);
  }
}

/** Translates a bracket class starting at `[` (index i); returns the JS text and the next index. */
function bracket(p: string, i: number): [string, number] {
  let j = i + 1;
  let out = '[';
  if (p[j] === '^') {
    out += '^';
    j++;
  }
  let first = true;
  for (;;) {
    const c = p[j];
    if (c === undefined) refuse('an unterminated character class');
    if (c === ']' && !first) return [out + ']', j + 1];
    first = false;
    if (c === '[') {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(j));
      if (m) {
        const body = POSIX[m[2]!];
        if (!body) refuse(`the POSIX class [:${m[2]}:]`);
        if (m[1]) refuse('a negated POSIX class');
        out += body;
        j += m[0].length;
        continue;
      }
      refuse('a nested character class');
    }
    if ((c === '&' && p[j + 1] === '&') || (c === '-' && p[j + 1] === '-') || (c === '~' && p[j + 1] === '~')) refuse(`the class operator ${c}${c}`);
    if (c === '\\') {
      const [t, n] = escape(p, j + 1, true);
      out += t;
      j = n;
      continue;
    }
    if (c === '-') {
      // a range dash between two members stays; a leading/trailing one is literal
      out += p[j + 1] === ']' || out.endsWith('[') || out.endsWith('[^') ? '\\-' : '-';
      j++;
      continue;
    }
    const cp = p.codePointAt(j)!;
    const ch = String.fromCodePoint(cp);
    out += /[\]\\^[/]/.test(ch) ? `\\${ch}` : ch;
    j += ch.length;
  }
}

/** Rust (ripgrep) pattern → JS source + flags (always `u`; `i` and `s` from options or a leading group). */
export function translateRustRegex(pattern: string, opts: { caseInsensitive: boolean; dotAll?: boolean }): TranslatedRegex {
  let p = pattern;
  let ci = opts.caseInsensitive;
  let dotAll = opts.dotAll === true;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(p);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'i') ci = true;
      else if (f === 's') dotAll = true;
      else refuse(`the inline flag (?${f})`);
    }
    p = p.slice(lead[0].length);
  }
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const [t, n] = escape(p, i + 1, false);
      out += t;
      i = n;
    } else if (c === '[') {
      const [t, n] = bracket(p, i);
      out += t;
      i = n;
    } else if (c === '.') {
      out += dotAll ? '[\\s\\S]' : '[^\\n]';
      i++;
    } else if (c === '^') {
      out += '(?:^|(?<=\\n))';
      i++;
    } else if (c === '$') {
      out += '(?:$|(?=\\n))';
      i++;
    } else if (c === '(') {
      if (p[i + 1] === '?') {
        const rest = p.slice(i + 2);
        if (rest.startsWith(':')) {
          out += '(?:';
          i += 3;
        } else if (rest.startsWith('P<')) {
          out += '(?<';
          i += 4;
        } else if (/^<[A-Za-z_]/.test(rest)) {
          out += '(?<';
          i += 3;
        } else if (/^(=|!|<=|<!)/.test(rest)) refuse('look-around');
        else if (rest.startsWith('>')) refuse('an atomic group');
        else refuse('an inline flag group not at the start of the pattern');
      } else {
        out += '(';
        i++;
      }
    } else if ((c === '*' || c === '+' || c === '?' || c === '}') && p[i + 1] === '+') {
      refuse('a possessive quantifier');
    } else {
      const cp = p.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out += ch === '/' ? '\\/' : ch;
      i += ch.length;
    }
  }
  return { source: out, flags: ci ? 'iu' : 'u' };
}
