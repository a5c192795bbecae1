/** The real `icode policy …` commands, run as a user would. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../policies/index.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

describe('icode policy check', () => {
  it('exits 0 for a good policy and 2 with file:line:col for a bad one', () => {
    writeFileSync(join(dir, 'good.yaml'), 'version: 1\nrules:\n  - {id: a, decision: allow, command: "git status"}\n');
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nrules:\n  - id: a\n    decision: allw\n');
    const good = icode(['policy', 'check', join(dir, 'good.yaml')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^ok: .*good\.yaml \(2 rules/);
    const bad = icode(['policy', 'check', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(dir, 'bad.yaml')}:4:15: rules[0].decision: expected one of "allow", "ask", "deny"`);
    const json = icode(['policy', 'check', join(dir, 'bad.yaml'), '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ line: 4, col: 15, key: 'rules[0].decision' }] });
  });

  it('exits 2 for a missing file', () => {
    const r = icode(['policy', 'check', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read policy');
  });
});

describe('icode policy explain', () => {
  it('prints the decision, the rule and a trace per sub-command', () => {
    const r = icode(['policy', 'explain', 'builtin:readonly', '--tool', 'Bash', '--input', '{"command":"git status && curl x | sh"}', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    // Piping a download into a shell is denied by builtin:safety, not merely asked.
    expect(v).toMatchObject({ tool: 'shell', decision: 'deny', rule: 'safety.download-exec' });
    expect(v.trace.map((t: { subject: string }) => t.subject)).toEqual(['git status', 'curl x', 'sh']);
    expect(v.policy_hash).toMatch(/^[0-9a-f]{64}$/);
    const table = icode(['policy', 'explain', 'builtin:readonly', '--tool', 'read', '--input', '{"path":"src/a.ts"}']);
    expect(table.stdout).toContain('decision: allow');
    expect(table.stdout).toContain('readonly.fs-read');
  });

  it('rejects malformed --input with exit 2', () => {
    const r = icode(['policy', 'explain', 'builtin:readonly', '--tool', 'read', '--input', '{path:']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--input: not valid JSON');
  });
});

describe('icode policy test', () => {
  it('prints N passed, N failed and exits 1 on a failure', () => {
    writeFileSync(
      join(dir, 'cases.yaml'),
      [
        'cases:',
        '  - {name: status, tool: shell, input: {command: git status}, expect: allow, rule: readonly.shell-read}',
        '  - {name: push, tool: shell, input: {command: git push}, expect: ask}',
        '  - {name: wrong on purpose, tool: read, input: {path: /etc/passwd}, expect: allow}',
        '',
      ].join('\n'),
    );
    const r = icode(['policy', 'test', 'builtin:readonly', join(dir, 'cases.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^2 passed, 1 failed$/m);
    expect(r.stdout).toContain('FAIL wrong on purpose');
    writeFileSync(join(dir, 'ok.yaml'), '- {tool: read, input: {path: a}, expect: allow}\n');
    expect(icode(['policy', 'test', 'builtin:readonly', join(dir, 'ok.yaml')]).stdout).toMatch(/^1 passed, 0 failed$/m);
  });
});

describe('icode policy import-claude', () => {
  it('translates allow/ask/deny lists and reports what it cannot translate', async () => {
    const settings = {
      permissions: {
        allow: ['Bash(npm run test:*)', 'Bash(git diff)', 'Read', 'Edit(src/**)', 'WebFetch(domain:docs.anthropic.com)', 'mcp__github'],
        ask: ['Bash(git push:*)'],
        deny: ['Read(./secrets/**)', 'Read(*.env)', 'Bash(curl:*)', 'Read(//etc/**)', 'Read(~/.ssh/**)'],
        additionalDirectories: ['../docs'],
        defaultMode: 'acceptEdits',
      },
      hooks: { PreToolUse: [] },
    };
    writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
    const out = join(dir, 'imported.yaml');
    const r = icode(['policy', 'import-claude', join(dir, 'settings.json'), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('not translated: permissions.additionalDirectories');
    expect(r.stderr).toContain('not translated: hooks');
    expect(readFileSync(out, 'utf8')).toContain('# Not translated:');
    const p = await loadPolicy(out, { home: '/home/agent' });
    const d = (tool: string, input: Record<string, unknown>) => p.decide({ tool, input, workspace: '/ws', home: '/home/agent' }).decision;
    expect(d('shell', { command: 'npm run test -- --watch=false' })).toBe('allow');
    expect(d('shell', { command: 'git diff' })).toBe('allow');
    expect(d('shell', { command: 'git diff HEAD' })).toBe('ask');
    expect(d('shell', { command: 'git push origin main' })).toBe('ask');
    expect(d('shell', { command: 'npm run test && curl x' })).toBe('deny');
    expect(d('read', { path: 'src/a.ts' })).toBe('allow');
    expect(d('read', { path: 'secrets/k.pem' })).toBe('deny');
    expect(d('grep', { pattern: 'x', path: 'secrets' })).toBe('deny');
    expect(d('read', { path: 'config/prod.env' })).toBe('deny');
    expect(d('read', { path: '/etc/hosts' })).toBe('deny');
    expect(d('read', { path: '~/.ssh/id_rsa' })).toBe('deny');
    expect(d('edit', { path: 'src/a.ts' })).toBe('allow');
    expect(d('write', { path: 'README.md' })).toBe('allow');
    expect(d('web_fetch', { url: 'https://docs.anthropic.com/x' })).toBe('allow');
    expect(d('mcp__github__create_issue', {})).toBe('allow');
    const json = icode(['policy', 'import-claude', join(dir, 'settings.json'), '--json', '--strict']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).untranslated.length).toBe(2);
  });

  it('exits 2 on a file that is not JSON', () => {
    writeFileSync(join(dir, 'broken.json'), '{ not json');
    expect(icode(['policy', 'import-claude', join(dir, 'broken.json')]).code).toBe(2);
  });
});

describe('help', () => {
  it('every policy subcommand has --help', () => {
    for (const sub of ['check', 'explain', 'test', 'import-claude', 'list', 'schema']) {
      const r = icode(['policy', sub, '--help']);
      expect(r.code, sub).toBe(0);
      expect(r.stdout).toContain('Usage: icode policy ' + sub);
    }
  });
});

describe('icode policy show and corpus', () => {
  it('show prints a built-in policy\'s YAML, which loads as a policy of its own; --json the compiled summary', async () => {
    const r = icode(['policy', 'show', 'builtin:workspace-write']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('name: workspace-write');
    writeFileSync(join(dir, 'copy.yaml'), r.stdout);
    const copy = await loadPolicy(join(dir, 'copy.yaml'));
    expect(copy.name).toBe('workspace-write');
    const j = icode(['policy', 'show', 'builtin:readonly', '--json']);
    expect(j.code).toBe(0);
    const v = JSON.parse(j.stdout);
    expect(v).toMatchObject({ name: 'readonly', default: 'ask', settings: { redactSecrets: true } });
    expect(v.rules.some((x: { id: string; layer: string }) => x.id === 'safety.destructive' && x.layer === 'builtin:safety')).toBe(true);
    expect(icode(['policy', 'show', 'builtin:nope']).code).toBe(2);
  });

  it('corpus reports the share of everyday commands allowed', () => {
    const r = icode(['policy', 'corpus', 'builtin:workspace-write', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.everyday_allowed_share).toBeGreaterThanOrEqual(0.95);
    expect(v.categories.deny.allowed).toBe(0);
  });
});
