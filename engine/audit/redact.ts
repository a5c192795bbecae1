/**
 * Secret redaction for audit rows. Token formats (vendor keys, JWTs) come from the one catalogue the
 * secret-redactor hook also uses (policies/secrets/token-formats.ts); this module adds what
 * an audit row needs on top: URL credentials, Authorization/Bearer values, key/value pairs and keys.
 *
 * `redactSecrets(text)` replaces credentials found in free text with `[REDACTED:kind]`;
 * `redactValue(value)` does the same deep inside a JSON-like value and also blanks the values of
 * keys that name a secret (`password`, `api_key`, `GITHUB_TOKEN`, …).
 *
 * Redaction errs on the side of hiding: a false positive costs a readable audit row, a false negative
 * leaks a credential into a file that lives for years.
 */
import { redactMatch, TOKEN_FORMATS, TOKEN_HINT, type SecretPattern } from '../../policies/secrets/token-formats.js';

export interface RedactResult {
  text: string;
  /** How many secrets were replaced. */
  count: number;
}

interface Rule {
  kind: string;
  re: RegExp;
  /** Builds the replacement from the capture groups (unmatched ones are ''); defaults to `[REDACTED:kind]`. */
  replace?: (match: string, groups: string[]) => string;
}

const tag = (kind: string): string => `[REDACTED:${kind}]`;

/** Separators inside a PEM block: whitespace, or the two-character `\n` escapes of a shell string. */
const PEM_SEP = String.raw`(?:\s|\\[nr])+`;
/** One private-key block; the body is base64 lines of 16+ characters (a shorter one when padded, or right before END). */
const PRIVATE_KEY_BLOCK = new RegExp(
  String.raw`-----BEGIN[ A-Z0-9]*PRIVATE KEY-----` +
    String.raw`(?:${PEM_SEP}[A-Za-z-]+:[^\n]*?(?=\n|\\n))*` + // PEM headers: Proc-Type, DEK-Info
    String.raw`(?:${PEM_SEP}(?:[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}))*` + // a short last line only when padded
    String.raw`(?:${PEM_SEP}[A-Za-z0-9+/]*={0,2}${PEM_SEP}?-----END[ A-Z0-9]*PRIVATE KEY-----|${PEM_SEP}?-----END[ A-Z0-9]*PRIVATE KEY-----)?`,
  'g',
);

/** Key names whose value is a secret, in `key=value` / `key: value` text and in JSON objects. */
const SECRET_KEY_SOURCE =
  '[A-Za-z0-9_.-]*?(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth(?:orization)?)';

/** A rule over one of the shared token formats (the secret-redactor hook's catalogue). */
function tokenRule(p: SecretPattern): Rule {
  return { kind: p.kind, re: p.re, replace: (match, groups) => redactMatch(p, match, groups) };
}

/**
 * Order matters: whole blocks first, then specific token formats, then generic key/value pairs
 * (which skip values that an earlier rule already replaced).
 */
const RULES: readonly Rule[] = [
  {
    kind: 'private_key',
    // The key only, never what follows it: the BEGIN line, PEM headers (`Proc-Type: …`), then the body
    // as base64 lines (separated by real newlines or the `\n` escapes of a quoted shell string), then
    // the END line when there is one. An unterminated block (a cut file) ends with its last base64 line:
    // a command after it stays readable.
    re: PRIVATE_KEY_BLOCK,
  },
  {
    kind: 'url_credentials',
    re: /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s:@/?#"'<>]+:[^\s@/?#"'<>]+@/g,
    replace: (_m, g) => `${g[0]}${tag('url_credentials')}@`,
  },
  ...TOKEN_FORMATS.map(tokenRule),
  {
    kind: 'authorization',
    // An Authorization header or key: whatever follows the scheme is a credential.
    re: /\b(Authorization["']?[ \t]*[:=][ \t]*["']?(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)(?!\[REDACTED|(?:Bearer|Basic|Token|Digest)\b)[^\s"',;]+/gi,
    replace: (_m, g) => `${g[0]}${tag('authorization')}`,
  },
  {
    kind: 'bearer',
    // A bare `Bearer …` (curl -H, logs): the token must contain a digit so prose passes.
    re: /\b(Bearer)(\s+)(?!\[REDACTED)(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}/gi,
    replace: (_m, g) => `${g[0]}${g[1]}${tag('bearer')}`,
  },
  {
    kind: 'key_value',
    // key, then = or : (optionally inside JSON quotes), then a quoted value, or a bare one: up to the
    // end of the line after `:` (YAML), up to the next blank after `=` (env, flags, URLs' queries).
    re: new RegExp(
      `(?<![A-Za-z0-9])(${SECRET_KEY_SOURCE})(?![A-Za-z0-9])(["']?[ \\t]*[:=][ \\t]*)("[^"\\n]*"|'[^'\\n]*'|[^\\s"',;}\\])][^\\n"',;}\\])]*)`,
      'gi',
    ),
    replace: (m, g) => {
      const [key, sep, raw] = g as [string, string, string];
      const quote = raw.startsWith('"') || raw.startsWith("'") ? raw[0] : '';
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
      if (value === '' || value.includes('[REDACTED') || /^(?:null|true|false|none|undefined)$/i.test(value)) return m;
      return `${key}${sep}${quote}${tag(secretKind(key))}${quote}${rest}`;
    },
  },
];

/** Cheap pre-filter: text that cannot contain any secret above skips the rule loop entirely. */
const MAYBE_STRUCTURED_SECRET = /PRIVATE KEY|:\/\/[^\s/@]*:[^\s/@]*@|bearer|basic|token|passw|passphrase|secret|key|credential|auth/i;
const maybeSecret = (text: string): boolean => TOKEN_HINT.test(text) || MAYBE_STRUCTURED_SECRET.test(text);

const SECRET_KEY = new RegExp(`^${SECRET_KEY_SOURCE}$`, 'i');

const captureCounts = new WeakMap<RegExp, number>();
function captureCount(re: RegExp): number {
  let n = captureCounts.get(re);
  if (n === undefined) {
    n = (new RegExp(`${re.source}|`).exec('') as RegExpExecArray).length - 1;
    captureCounts.set(re, n);
  }
  return n;
}

function secretKind(key: string): string {
  const k = key.toLowerCase();
  if (/passw|passphrase/.test(k)) return 'password';
  if (k.includes('token') || k.includes('auth')) return 'token';
  if (/api[_-]?key|apikey|access[_-]?key/.test(k)) return 'api_key';
  if (k.includes('private')) return 'private_key';
  return 'secret';
}

/** Replace every credential found in `text` with `[REDACTED:kind]`. */
export function redactSecrets(text: string): RedactResult {
  if (!maybeSecret(text)) return { text, count: 0 };
  let count = 0;
  let out = text;
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    out = out.replace(rule.re, (...args: unknown[]) => {
      // replace() passes (match, ...captures, offset, input[, named groups]).
      const match = args[0] as string;
      const replaced = rule.replace
        ? rule.replace(match, args.slice(1, 1 + captureCount(rule.re)).map((a) => (typeof a === 'string' ? a : '')))
        : tag(rule.kind);
      if (replaced !== match) count++;
      return replaced;
    });
  }
  return { text: out, count };
}

/** True when an object key names a secret (`password`, `apiKey`, `GITHUB_TOKEN`, `client_secret`…). */
export function isSecretKey(key: string): boolean {
  // The key must end with the name: `max_tokens`, `tokenizer`, `author`, `keyboard` are not secrets.
  return SECRET_KEY.test(key);
}

/**
 * Deep copy of a JSON-like value with secrets redacted: strings are scanned with `redactSecrets`,
 * and the scalar value of a key that names a secret is replaced whole.
 */
export function redactValue(value: unknown): unknown {
  return redactValueCounted(value).value;
}

/** `redactValue` that also reports how many secrets were replaced. */
export function redactValueCounted(value: unknown): { value: unknown; count: number } {
  const state = { count: 0, seen: new WeakSet<object>() };
  const out = walk(value, state);
  return { value: out, count: state.count };
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
