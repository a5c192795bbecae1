/**
 * One fake secret of every token format in policies/secrets/token-formats.ts (TOKEN_FORMATS),
 * shared by the hook's and the audit log's redaction tests. Assembled at run time, so that the test
 * files themselves hold no token-shaped strings.
 */
export const rnd = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');

/** [kind, secret] */
export const TOKEN_SAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['github_token', 'ghp_' + rnd(36)],
  ['github_token', 'github_pat_' + rnd(22) + '_' + rnd(59)],
  ['aws_access_key_id', 'AKIA' + rnd(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')],
  ['anthropic_key', 'sk-ant-api03-' + rnd(90)],
  ['openai_key', 'sk-proj-' + rnd(60)],
  ['slack_token', 'xoxb-' + '123456789012-' + rnd(24)],
  ['slack_webhook', 'https://hooks.slack.com/services/' + rnd(9) + '/' + rnd(11) + '/' + rnd(24)],
  ['stripe_key', 'sk_' + 'live_' + rnd(24)],
  ['google_api_key', 'AIza' + rnd(35)],
  ['google_oauth_secret', 'GOCSPX-' + rnd(28)],
  ['npm_token', 'npm_' + rnd(36)],
  ['pypi_token', 'pypi-AgE' + rnd(60)],
  ['gitlab_token', 'glpat-' + rnd(20)],
  ['huggingface_token', 'hf_' + rnd(34)],
  ['sendgrid_key', 'SG.' + rnd(22) + '.' + rnd(43)],
  ['jwt', 'eyJ' + rnd(20) + '.eyJ' + rnd(30) + '.' + rnd(43)],
];
