/**
 * The one catalogue of secret token formats (vendor API keys, tokens, JWTs), which the one redactor
 * (redact.ts, run by the audit log and by the secret_redactor hook) builds on. A pure module with no
 * imports, in the bottom layer, so that neither the engine nor the sandbox depends on the other.
 *
 * Each pattern is linear-time (no nested quantifiers) and bounded. A new format needs a sample in
 * test/helpers/secret-samples.ts and its prefix in TOKEN_HINT (test/hooks/builtin-secrets.test.ts
 * checks both).
 */

export interface SecretPattern {
  kind: string;
  re: RegExp;
  /** Index of the capture group holding the secret; 0 = the whole match. */
  group: number;
  /** Extra test on the secret (e.g. entropy) to limit false positives. */
  accept?: (secret: string) => boolean;
}

/** Secrets with a fixed, recognisable format (a vendor prefix or shape). */
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
