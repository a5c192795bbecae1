/**
 * Patterns of secrets for the secret_redactor hook (API keys, tokens, private keys, credentials in URLs
 * and assignments) and `redactSecrets(text)`. The token formats come from the catalogue the audit log
 * also uses (policies/secrets/token-formats.ts); this module adds the hook's context patterns.
 *
 * Each pattern is linear-time (no nested quantifiers) and bounded. A match is replaced by
 * `[REDACTED:<kind>]`; a surrounding key, header name or URL user is kept so the text stays readable.
 */
import { redactMatch, TOKEN_FORMATS, type SecretPattern } from '../../../policies/secrets/token-formats.js';

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const PLACEHOLDER = /^(?:x+|\*+|\.+|changeme|change_me|password|secret|token|example|dummy|test|null|none|undefined|true|false|your[_-]?\w*|<[^>]*>|\$\{?\w+\}?|%\w+%)$/i;

/** A generic assigned value looks like a secret: not a placeholder, not code, some entropy, a digit (or long). */
function looksSecret(v: string): boolean {
  if (PLACEHOLDER.test(v)) return false;
  if (/^(?:process\.env|os\.environ|env\.|getenv|\$\(|`)/.test(v) || /[()]/.test(v)) return false;
  const digit = /[0-9]/.test(v);
  if (!digit && /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(v)) return false; // an identifier or member chain
  if (!digit && v.length < 20) return false;
  return entropy(v) >= 3;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    kind: 'private_key',
    re: /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g,
    group: 0,
  },
  ...TOKEN_FORMATS,
  { kind: 'aws_secret_key', re: /\baws_?secret_?access_?key["']?\s{0,5}[:=]\s{0,5}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi, group: 1 },
  {
    kind: 'auth_header',
    re: /\b(?:authorization|proxy-authorization)["']?\s{0,5}[:=]\s{0,5}["']?(?:bearer|basic|token|digest)\s{1,5}([A-Za-z0-9._~+/=-]{8,2000})/gi,
    group: 1,
  },
  { kind: 'url_password', re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/?#@'"]{1,200}:([^\s@/?#'"]{1,200})@/gi, group: 1, accept: (s) => !/^\$\{?\w+\}?$/.test(s) },
  {
    kind: 'assigned_secret',
    re: /(?:secret|token|passw(?:or)?d|passwd|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?key|credentials?)[A-Za-z0-9_.-]{0,40}["']?\s{0,5}(?::=|=>|:|=)\s{0,5}["']?([^\s"'`,;{}()<>]{8,500})/gi,
    group: 1,
    accept: looksSecret,
  },
];

export interface RedactionResult {
  text: string;
  /** Number of secrets replaced. */
  count: number;
  /** Kinds found, each once, in pattern order. */
  kinds: string[];
}

/** Replaces every secret found in `text` by `[REDACTED:<kind>]`. */
export function redactSecrets(text: string): RedactionResult {
  let count = 0;
  const kinds: string[] = [];
  let out = text;
  for (const p of SECRET_PATTERNS) {
    p.re.lastIndex = 0;
    let found = false;
    out = out.replace(p.re, (match: string, ...groups: unknown[]) => {
      const replaced = redactMatch(p, match, groups);
      if (replaced !== match) {
        count++;
        found = true;
      }
      return replaced;
    });
    if (found) kinds.push(p.kind);
  }
  return { text: out, count, kinds };
}
