import { describe, expect, it } from 'vitest';
import { TOKEN_FORMATS, TOKEN_HINT } from '../../policies/secrets/token-formats.js';
import { redactSecrets } from '../../policies/secrets/redact.js';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import { rnd, TOKEN_SAMPLES as samples } from '../helpers/secret-samples.js';

describe('secret patterns', () => {
  it('has a sample of every token format, and the pre-filter lets each through', () => {
    expect(new Set(samples.map(([kind]) => kind))).toEqual(new Set(TOKEN_FORMATS.map((p) => p.kind)));
    for (const [, secret] of samples) expect(TOKEN_HINT.test(secret), secret).toBe(true);
  });

  it.each(samples)('redacts a %s', (kind, secret) => {
    const { text, count, kinds } = redactSecrets(`before ${secret} after`);
    expect(text).toBe(`before [REDACTED:${kind}] after`);
    expect(count).toBe(1);
    expect(kinds).toEqual([kind]);
  });

  it('redacts private keys, including one cut short', () => {
    const key = ['-----BEGIN OPENSSH PRIVATE KEY-----', rnd(64), rnd(64), '-----END OPENSSH PRIVATE KEY-----'].join('\n');
    expect(redactSecrets(`id:\n${key}\nbye`).text).toBe('id:\n[REDACTED:private_key]\nbye');
    const cut = ['-----BEGIN RSA PRIVATE KEY-----', rnd(64), rnd(30)].join('\n');
    expect(redactSecrets(cut).text).toBe('[REDACTED:private_key]');
  });

  it('keeps keys, header names and URL users readable', () => {
    const pw = 'Xy7' + rnd(12);
    expect(redactSecrets(`DATABASE_URL=postgres://app:${pw}@db:5432/x`).text).toBe('DATABASE_URL=postgres://app:[REDACTED:url_password]@db:5432/x');
    expect(redactSecrets(`Authorization: Bearer ${rnd(40)}`).text).toBe('Authorization: Bearer [REDACTED:authorization]');
    expect(redactSecrets(`API_KEY="${pw}"`).text).toBe('API_KEY="[REDACTED:api_key]"');
    expect(redactSecrets(`  "client_secret": "${pw}",`).text).toBe('  "client_secret": "[REDACTED:secret]",');
    expect(redactSecrets(`aws_secret_access_key = ${rnd(40, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+')}`).text).toBe(
      'aws_secret_access_key = [REDACTED:aws_secret_key]',
    );
  });

  it('leaves ordinary code and text alone', () => {
    const code = [
      'const token = getToken();',
      'password = os.environ["DB_PASSWORD"]',
      'export API_KEY=${API_KEY}',
      'secret: changeme',
      'token_count = tokens.length',
      'the task-runner-for-everything-2024 is here',
      'git checkout -b sk-learn-upgrade',
      'https://example.com/path?x=1',
    ].join('\n');
    expect(redactSecrets(code)).toEqual({ text: code, count: 0, kinds: [] });
  });

  it('handles large, adversarial text (its speed is measured in bench/ hooks)', () => {
    const big = 'a.'.repeat(200_000) + 'password=' + 'b'.repeat(100_000) + ' -----BEGIN PRIVATE KEY-----';
    const r = redactSecrets(big);
    // The cut-short key block is redacted to the end; the low-entropy "password" value is not a secret.
    expect(r.kinds).toEqual(['private_key']);
    expect(r.text.endsWith(' [REDACTED:private_key]')).toBe(true);
  });
});

describe('secret_redactor hook', () => {
  it('redacts post_tool output and tells the model; withholds the output when it fails', async () => {
    const runner = await HookRunner.create({ post_tool: [{ builtin: 'secret_redactor' }] }, { baseDir: '.' });
    try {
      const secret = 'ghp_' + rnd(36);
      const { result, outcomes } = await runner.run('post_tool', { session: 's', agent: 'main', tool: 'read', input: { path: '.env' }, output: `GH=${secret}\n`, status: 'ok' });
      expect(result.output).toBe('GH=[REDACTED:github_token]\n');
      expect(result.context[0]).toMatch(/redacted 1 secret/);
      expect(JSON.stringify(outcomes)).not.toContain(secret);
      const clean = await runner.run('post_tool', { session: 's', agent: 'main', tool: 'read', input: {}, output: 'hello', status: 'ok' });
      expect(clean.result).toEqual({ context: [] });
      // An output that is not text is left alone.
      const broken = await runner.run('post_tool', { session: 's', agent: 'main', tool: 'read', input: {}, output: { toString: 1 } as unknown as string, status: 'ok' });
      expect(broken.result.output).toBeUndefined();
    } finally {
      runner.dispose();
    }
  });

  it('defaults to on_error withhold', async () => {
    const runner = await HookRunner.create({ post_tool: [{ builtin: 'secret_redactor' }] }, { baseDir: '.' });
    try {
      expect(runner.list()[0].onError).toBe('withhold');
    } finally {
      runner.dispose();
    }
  });
});
