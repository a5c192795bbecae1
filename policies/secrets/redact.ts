/**
 * The one secret redactor. The secret_redactor hook (tool output, before the model sees it) and the
 * audit log (every row it stores) both call it, so a secret is hidden the same way wherever it shows.
 *
 * `redactSecrets(text)` replaces each secret found in free text with `[REDACTED:<kind>]`;
 * `redactValue(value)` does the same deep inside a JSON-like value and also blanks the scalar values of
 * keys that name a secret (`password`, `api_key`, `GITHUB_TOKEN`, …).
 *
 * Only the secret itself is replaced: a key, a header name, a URL's scheme, user and host, and above
 * all the text after the secret (the commands after a private-key block or a `password: x`) stay
 * readable, so that an audit row still says what ran.
 *
 * Precision matters on both sides: a missed secret leaks into a model's context or a file that lives
 * for years; a redacted piece of code (`password = os.environ["X"]`, `token: string`) breaks the
 * agent's next edit of that line. A value assigned to a secret-looking name is a secret when it is a
 * literal: not a placeholder, not a reference to somewhere else (`$VAR`, `process.env.X`), not code.
 *
 * Every pattern is linear-time (bounded, no nested quantifiers over the same characters).
 */
import { redactMatch, TOKEN_FORMATS, TOKEN_HINT, type SecretPattern } from './token-formats.js';

export interface RedactResult {
  text: string;
  /** How many secrets were replaced. */
  count: number;
  /** Kinds found, each once, in rule order. */
  kinds: string[];
}

interface Rule {
  kind: string;
  re: RegExp;
  /** Builds the replacement from the capture groups (unmatched ones are ''); defaults to `[REDACTED:kind]`. */
  replace?: (match: string, groups: string[]) => string;
}

const tag = (kind: string): string => `[REDACTED:${kind}]`;

// ---------------------------------------------------------------------------------------------------
// Private keys

/** Separators inside a PEM block: whitespace, or the two-character `\n` escapes of a shell string. */
const PEM_SEP = String.raw`(?:\s|\\[nr])+`;
const PEM_LABEL = String.raw`[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----`;
/**
 * One private-key block (PEM, OpenSSH, PGP armour): the BEGIN line, headers (`Proc-Type: …`,
 * `Version: …`), the body as base64 lines (16+ characters, a shorter one only when padded), and the
 * END line when there is one, after a short last line and a PGP checksum (`=AbCd`). An unterminated
 * block (a cut file) ends with its last base64 line: what follows it is not part of the key.
 */
const PRIVATE_KEY_BLOCK = new RegExp(
  `-----BEGIN${PEM_LABEL}` +
    String.raw`(?:${PEM_SEP}[A-Za-z-]+:[^\n]*?(?=\n|\\n))*` +
    String.raw`(?:${PEM_SEP}(?:[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}))*` +
    String.raw`(?:${PEM_SEP}(?:[A-Za-z0-9+/]{1,15}${PEM_SEP})?(?:=[A-Za-z0-9+/]{4}${PEM_SEP})?-----END${PEM_LABEL})?`,
  'g',
);

// ---------------------------------------------------------------------------------------------------
// Is an assigned value a literal secret?

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Words that stand in for a value; one character repeated (`xxxx`, `****`) too. */
const PLACEHOLDER =
  /^(?:null|nil|none|undefined|true|false|changeme|change_me|example|dummy|test|password|secret|token|redacted|required|optional|inherit|(?:your|my)[_-]?\w*|<[^>]*>|(.)\1{3,})$/i;
/** A value that names where the secret lives instead of holding it. */
const REFERENCE = /^(?:\$\{?[A-Za-z_]\w*\}?$|\$\{\{|\$\(|`|%\w+%$|process\.env\b|os\.environ\b|os\.getenv\b|getenv\b|ENV\[|secrets\.)/;
/** Shell-style expansion anywhere in a multi-word value (`token $GITHUB_TOKEN`). */
const EXPANSION = /\$(?:\{|\(|[A-Za-z_])/;
/** Type names after `name:` (TypeScript, Python annotations). */
const TYPE_WORD = /^(?:string|number|boolean|bigint|symbol|object|any|unknown|never|void|str|int|bool|bytes|float|String|Number|Boolean|Buffer|Uint8Array|SecretStr)$/;
const CODE_CHARS = /[()[\]{}<>]/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const MEMBER_CHAIN = /^[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)+$/;
/** camelCase or snake_case: how code names a variable (`apiKey`, `hashed_password`), not a secret. */
const VARIABLE_NAME = /^(?:[a-z]+(?:[A-Z][a-z]*)+|[A-Za-z]+(?:_[A-Za-z]+)+)$/;

/** A value with no context to go on: random-looking (a digit or long, some entropy), not code. */
function looksRandom(v: string): boolean {
  if (v.length < 8 || PLACEHOLDER.test(v) || REFERENCE.test(v) || EXPANSION.test(v) || CODE_CHARS.test(v)) return false;
  const digit = /[0-9]/.test(v);
  if (!digit && (IDENTIFIER.test(v) || MEMBER_CHAIN.test(v) || v.length < 20)) return false;
  return entropy(v) >= 3;
}

interface ValueContext {
  /** The value was written in quotes: a string literal. */
  quoted: boolean;
  /** `name = value` with blanks around `=`: an assignment in code, where a bare word is a variable. */
  codeAssign: boolean;
  /** The name only contains a secret word (`SECRET_KEY_BASE`): the value must look random too. */
  strict: boolean;
  /** The name is a password's: a multi-word value (a passphrase) is still a secret. */
  password: boolean;
}

/** Whether `value`, assigned to a secret-looking name, is a literal secret. */
function isLiteralSecret(value: string, c: ValueContext): boolean {
  const v = value.trim();
  if (v === '' || v.includes('[REDACTED') || PLACEHOLDER.test(v) || REFERENCE.test(v)) return false;
  if (c.strict) return looksRandom(v);
  if (c.quoted) return true;
  if (CODE_CHARS.test(v) || TYPE_WORD.test(v)) return false;
  if (!/[0-9]/.test(v) && (MEMBER_CHAIN.test(v) || VARIABLE_NAME.test(v) || (c.codeAssign && IDENTIFIER.test(v)))) return false;
  if (/\s/.test(v)) return !EXPANSION.test(v) && (c.password || looksRandom(v));
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Secret names

const SECRET_NAME =
  '(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth[_-]?key|auth(?:orization)?)';
/** An object key that names a secret: it must END with the name (`max_tokens`, `author` are not). */
const SECRET_KEY = new RegExp(`^[A-Za-z0-9_.-]*?${SECRET_NAME}$`, 'i');

function secretKind(key: string): string {
  const k = key.toLowerCase();
  if (/passw|passphrase/.test(k)) return 'password';
  if (k.includes('token') || k.includes('auth')) return 'token';
  if (/api[_-]?key|apikey|access[_-]?key/.test(k)) return 'api_key';
  if (k.includes('private')) return 'private_key';
  return 'secret';
}

/** True when an object key names a secret (`password`, `apiKey`, `GITHUB_TOKEN`, `client_secret`…). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

// ---------------------------------------------------------------------------------------------------
// The rules

/** A rule over one of the shared token formats. */
function tokenRule(p: SecretPattern): Rule {
  return { kind: p.kind, re: p.re, replace: (match, groups) => redactMatch(p, match, groups) };
}

const SCHEME = '(?:Bearer|Basic|Token|Digest)';

/**
 * Order matters: whole blocks first, then fixed formats, then what a name or header says is a secret
 * (which skips values an earlier rule already replaced).
 */
const RULES: readonly Rule[] = [
  { kind: 'private_key', re: PRIVATE_KEY_BLOCK },
  {
    kind: 'url_password',
    // scheme://user:password@ — the user and host stay readable
    re: /\b([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:@/?#"'<>]{1,200}:)([^\s@/?#"'<>]{1,200})@/gi,
    replace: (m, g) => (g[1]!.startsWith('[REDACTED') || REFERENCE.test(g[1]!) ? m : `${g[0]}${tag('url_password')}@`),
  },
  ...TOKEN_FORMATS.map(tokenRule),
  tokenRule({ kind: 'aws_secret_key', re: /\baws_?secret_?access_?key["']?[ \t]{0,5}[:=][ \t]{0,5}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi, group: 1 }),
  {
    kind: 'authorization',
    // An Authorization (or Proxy-Authorization) header or key: what follows the scheme is a credential.
    re: new RegExp(String.raw`\b(Authorization["']?[ \t]*[:=][ \t]*)(["']?)(${SCHEME}[ \t]+)?(?!\[REDACTED|${SCHEME}\b)([^\s"',;]{1,4000})`, 'gi'),
    replace: (m, g) => {
      const [head, quote, scheme, value] = g as [string, string, string, string];
      const literal = scheme !== '' ? !REFERENCE.test(value) : isLiteralSecret(value, { quoted: quote !== '', codeAssign: false, strict: false, password: false });
      return literal ? `${head}${quote}${scheme}${tag('authorization')}` : m;
    },
  },
  {
    kind: 'bearer',
    // A bare `Bearer …` (curl -H, logs): the token must contain a digit so prose passes.
    re: /\b(Bearer)(\s+)(?!\[REDACTED)(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,4000}/gi,
    replace: (_m, g) => `${g[0]}${g[1]}${tag('bearer')}`,
  },
  {
    kind: 'key_value',
    // A secret name (optionally with a suffix: SECRET_KEY_BASE), then = or : (optionally inside JSON
    // quotes), then a quoted value, or a bare one: up to the end of the line after `:` (YAML), up to the
    // next blank after `=` (env, flags, URLs' queries).
    re: new RegExp(
      `(?<![A-Za-z0-9])([A-Za-z0-9_.-]{0,40}${SECRET_NAME})((?:[_.-][A-Za-z0-9]{1,20}){0,3})(?![A-Za-z0-9])(["']?[ \\t]*[:=][ \\t]*)("[^"\\n]*"|'[^'\\n]*'|[^\\s"',;}\\])][^\\n"',;}\\])]*)`,
      'gi',
    ),
    replace: (m, g) => {
      const [name, suffix, sep, raw] = g as [string, string, string, string];
      const quote = raw.startsWith('"') || raw.startsWith("'") ? raw[0]! : '';
      let value = quote ? raw.slice(1, -1) : raw;
      let rest = '';
      if (!quote) {
        // After `=`: one word. After `:` (YAML, a header): the rest of the line, but never past a shell
        // operator — the commands after `password: x && make` are not part of the secret.
        const end = sep.includes('=') ? value.search(/\s/) : value.search(/\s*(?:&&|\|\||[|;&<>`]|\$\(|\)|$)/);
        if (end >= 0) {
          rest = value.slice(end);
          value = value.slice(0, end);
        }
      }
      const kind = secretKind(name);
      const context: ValueContext = { quoted: quote !== '', codeAssign: sep.includes('=') && /\s/.test(sep), strict: suffix !== '', password: kind === 'password' };
      if (!isLiteralSecret(value, context)) return m;
      return `${name}${suffix}${sep}${quote}${tag(kind)}${quote}${rest}`;
    },
  },
];

/** Cheap pre-filter: text that cannot contain any secret above skips the rule loop entirely. */
const MAYBE_STRUCTURED_SECRET = /PRIVATE KEY|:\/\/[^\s/@]*:[^\s/@]*@|bearer|basic|token|passw|passphrase|secret|key|credential|auth/i;
const maybeSecret = (text: string): boolean => TOKEN_HINT.test(text) || MAYBE_STRUCTURED_SECRET.test(text);

const captureCounts = new WeakMap<RegExp, number>();
function captureCount(re: RegExp): number {
  let n = captureCounts.get(re);
  if (n === undefined) {
    n = (new RegExp(`${re.source}|`).exec('') as RegExpExecArray).length - 1;
    captureCounts.set(re, n);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Entry points

/** Replaces every secret found in `text` with `[REDACTED:<kind>]`. */
export function redactSecrets(text: string): RedactResult {
  if (!maybeSecret(text)) return { text, count: 0, kinds: [] };
  let count = 0;
  const kinds = new Set<string>();
  let out = text;
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    out = out.replace(rule.re, (...args: unknown[]) => {
      // replace() passes (match, ...captures, offset, input[, named groups]).
      const match = args[0] as string;
      const replaced = rule.replace
        ? rule.replace(match, args.slice(1, 1 + captureCount(rule.re)).map((a) => (typeof a === 'string' ? a : '')))
        : tag(rule.kind);
      if (replaced !== match) {
        count++;
        // the kind the replacement names (a key/value rule names the key's kind)
        for (const m of replaced.matchAll(/\[REDACTED:([a-z_]+)\]/g)) if (!match.includes(m[0])) kinds.add(m[1]!);
      }
      return replaced;
    });
  }
  return { text: out, count, kinds: [...kinds] };
}

/**
 * Deep copy of a JSON-like value with secrets redacted: strings are scanned with `redactSecrets`,
 * and the scalar value of a key that names a secret is replaced whole.
 */
export function redactValue(value: unknown): unknown {
  return walk(value, { count: 0, seen: new WeakSet<object>() });
}

function walk(value: unknown, state: { count: number; seen: WeakSet<object> }): unknown {
  if (typeof value === 'string') {
    const r = redactSecrets(value);
    state.count += r.count;
    return r.text;
  }
  if (value === null || typeof value !== 'object') return value;
  if (state.seen.has(value)) return '[Circular]';
  state.seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, state));
    // Dates, Buffers and friends: use their JSON form.
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk((toJSON as () => unknown).call(value), state);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = redactSecrets(k);
      state.count += key.count;
      if (isSecretKey(k) && (typeof v === 'string' || typeof v === 'number') && v !== '' && !String(v).startsWith('[REDACTED')) {
        state.count++;
        out[key.text] = tag(secretKind(k));
      } else {
        out[key.text] = walk(v, state);
      }
    }
    return out;
  } finally {
    state.seen.delete(value);
  }
}
