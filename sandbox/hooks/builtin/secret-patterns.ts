/**
 * Patterns of secrets (API keys, tokens, private keys, credentials in URLs and assignments) and
 * `redactSecrets(text)`. A pure module (no imports): the audit log may reuse it.
 *
 * Each pattern is linear-time (no nested quantifiers) and bounded. A match is replaced by
 * `[REDACTED:<kind>]`; a surrounding key, header name or URL user is kept so the text stays readable.
 */

export interface SecretPattern {
  kind: string;
  re: RegExp;
  /** Index of the capture group holding the secret; 0 = the whole match. */
  group: number;
  /** Extra test on the secret (e.g. entropy) to limit false positives. */
  accept?: (secret: string) => boolean;
}

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

/**
 * Secrets with a fixed, recognisable format (a vendor prefix or shape). The audit log's redactor
 * (engine/audit/redact.ts) uses this same list: one catalogue of token formats for both.
 */
export const TOKEN_FORMATS: readonly SecretPattern[] = [
  { kind: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{16,300}/g, group: 0 },
  { kind: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,300}/g, group: 0, accept: (s) => /[0-9]/.test(s) },
  { kind: 'aws_access_key_id', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, group: 0 },
  { kind: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g, group: 0 },
  { kind: 'gitlab_token', re: /\bglpat-[A-Za-z0-9_-]{20,100}/g, group: 0 },
  { kind: 'slack_token', re: /\bxox[abposre]-[A-Za-z0-9-]{10,250}/g, group: 0 },
  { kind: 'slack_webhook', re: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9_/]{20,200}/g, group: 0 },
  { kind: 'stripe_key', re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,200}\b/g, group: 0 },
  { kind: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, group: 0 },
  { kind: 'google_oauth_secret', re: /\bGOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])/g, group: 0 },
  { kind: 'npm_token', re: /\bnpm_[A-Za-z0-9]{36}\b/g, group: 0 },
  { kind: 'pypi_token', re: /\bpypi-AgE[A-Za-z0-9_-]{50,300}/g, group: 0 },
  { kind: 'huggingface_token', re: /\bhf_[A-Za-z0-9]{34,80}\b/g, group: 0 },
  { kind: 'sendgrid_key', re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g, group: 0 },
  // Also an unsigned token (`alg: none`: empty signature): its claims are still the bearer's.
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,2000}\.eyJ[A-Za-z0-9_-]{5,4000}\.[A-Za-z0-9_-]{0,2000}/g, group: 0 },
];

/**
 * Every TOKEN_FORMATS match contains one of these: a cheap pre-filter before the patterns run.
 * A new format needs its prefix here (test/hooks/builtin-secrets.test.ts checks every sample).
 */
export const TOKEN_HINT = /sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|glpat-|xox[abposre]-|hooks\.slack\.com|[sr]k_(?:live|test)_|AIza|GOCSPX-|npm_|pypi-|hf_|SG\.|eyJ/;

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

/**
 * One match of `p` with its secret (the whole match, or the pattern's group) replaced by
 * `[REDACTED:<kind>]`; unchanged when the pattern's own check rejects it or it is already redacted.
 * `groups` are the capture groups as String.prototype.replace passes them.
 */
export function redactMatch(p: SecretPattern, match: string, groups: readonly unknown[]): string {
  const secret = p.group === 0 ? match : groups[p.group - 1];
  if (typeof secret !== 'string' || secret === '' || secret.startsWith('[REDACTED') || (p.accept && !p.accept(secret))) return match;
  const tag = `[REDACTED:${p.kind}]`;
  if (p.group === 0) return tag;
  const at = match.lastIndexOf(secret);
  return match.slice(0, at) + tag + match.slice(at + secret.length);
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
