import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy, loadPolicyText, PolicyError } from '../../policies/index.js';
import type { CompiledPolicy } from '../../policies/index.js';
import { tempDir } from '../helpers/tmp.js';

const WS = '/tmp/icode-ws';
const HOME = '/home/agent';

async function policy(text: string): Promise<CompiledPolicy> {
  return loadPolicyText(text, 'test.yaml', { home: HOME });
}

async function problemsOf(text: string): Promise<PolicyError['problems']> {
  try {
    await policy(text);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).problems;
  }
  throw new Error('policy loaded but should not have');
}

function decide(p: CompiledPolicy, tool: string, input: Record<string, unknown>, agent?: string) {
  return p.decide({ tool, input, workspace: WS, home: HOME, agent });
}

describe('schema errors name file:line:col, the key, and what was expected', () => {
  it('points at a bad decision value', async () => {
    const probs = await problemsOf(['version: 1', 'rules:', '  - id: a', '    decision: maybe', ''].join('\n'));
    expect(probs).toHaveLength(1);
    expect(probs[0]).toMatchObject({ file: 'test.yaml', line: 4, col: 15, key: 'rules[0].decision' });
    expect(probs[0].message).toContain('"allow", "ask", "deny"');
  });

  it('points at an unknown key, not its value', async () => {
    const probs = await problemsOf(['version: 1', 'rules:', '  - id: a', '    decision: allow', '    toool: read', ''].join('\n'));
    expect(probs[0]).toMatchObject({ line: 5, col: 5, key: 'rules[0].toool' });
    expect(probs[0].message).toMatch(/unknown key "toool"; expected one of: id, decision/);
  });

  it('reports a missing required key at its mapping', async () => {
    const probs = await problemsOf(['version: 1', 'rules:', '  - decision: allow', ''].join('\n'));
    expect(probs[0]).toMatchObject({ line: 3, key: 'rules[0]' });
    expect(probs[0].message).toContain('missing required key "id"');
  });

  it('requires version 1', async () => {
    const probs = await problemsOf('version: 2\n');
    expect(probs[0]).toMatchObject({ line: 1, col: 10, key: 'version' });
    expect(probs[0].message).toContain('expected 1');
  });

  it('reports YAML syntax errors with positions', async () => {
    const probs = await problemsOf('version: 1\nrules: [\n  {id: a, decision: allow\n');
    expect(probs[0].message).toMatch(/^YAML:/);
    expect(probs[0].line).toBeGreaterThan(1);
  });

  it('refuses duplicate keys and duplicate rule ids', async () => {
    const dupKey = await problemsOf('version: 1\ndefault: allow\ndefault: deny\n');
    expect(dupKey[0].line).toBe(3);
    const dupId = await problemsOf(['version: 1', 'rules:', '  - {id: a, decision: allow}', '  - {id: a, decision: deny}', ''].join('\n'));
    expect(dupId[0]).toMatchObject({ line: 4, key: 'rules[1].id' });
  });

  it('refuses a path pattern with .. and says what to write instead', async () => {
    const probs = await problemsOf(['version: 1', 'rules:', '  - {id: a, decision: allow, paths: ["../x/**"]}', ''].join('\n'));
    expect(probs[0]).toMatchObject({ line: 3, key: 'rules[0].paths' });
    expect(probs[0].message).toContain('outside_workspace');
  });

  it('never loads an empty or non-mapping document', async () => {
    await problemsOf('');
    await problemsOf('- just\n- a list\n');
  });
});

describe('precedence: deny > ask > allow whatever the order', () => {
  it('deny wins over an allow listed first, ask over allow', async () => {
    const p = await policy(
      [
        'version: 1',
        'default: allow',
        'rules:',
        '  - {id: all-reads, decision: allow, tool: read}',
        '  - {id: secrets, decision: deny, tool: read, paths: [".env", "secrets/**"]}',
        '  - {id: config, decision: ask, tool: read, paths: ["config/**"]}',
        '',
      ].join('\n'),
    );
    expect(decide(p, 'read', { path: 'src/a.ts' })).toMatchObject({ decision: 'allow', rule: 'all-reads' });
    expect(decide(p, 'read', { path: 'secrets/key.pem' })).toMatchObject({ decision: 'deny', rule: 'secrets' });
    expect(decide(p, 'read', { path: './src/../.env' })).toMatchObject({ decision: 'deny', rule: 'secrets' });
    expect(decide(p, 'read', { path: 'config/app.yaml' })).toMatchObject({ decision: 'ask', rule: 'config' });
    expect(decide(p, 'Read', { path: 'secrets' })).toMatchObject({ decision: 'deny' });
  });

  it('falls back to the default, ask when none is given', async () => {
    const p = await policy('version: 1\n');
    expect(decide(p, 'read', { path: 'a' }).decision).toBe('ask');
    const q = await policy('version: 1\ndefault: deny\n');
    expect(decide(q, 'read', { path: 'a' })).toMatchObject({ decision: 'deny', rule: null });
  });
});

describe('paths: workspace-relative, ~ and absolute, resolved against the root', () => {
  const text = [
    'version: 1',
    'default: ask',
    'rules:',
    '  - {id: src, decision: allow, tool: [read, write], paths: ["src/**"]}',
    '  - {id: ssh, decision: deny, paths: ["~/.ssh/**"]}',
    '  - {id: etc, decision: deny, paths: ["/etc/**"]}',
    '  - {id: outside, decision: deny, tool: write, outside_workspace: true}',
    '',
  ].join('\n');

  it('matches relative globs only inside the root', async () => {
    const p = await policy(text);
    expect(decide(p, 'read', { path: 'src/a/b.ts' }).decision).toBe('allow');
    expect(decide(p, 'read', { path: `${WS}/src/x.ts` }).decision).toBe('allow');
    // Escapes that still end in src/…
    expect(decide(p, 'read', { path: '../icode-ws-evil/src/x.ts' }).decision).toBe('ask');
    expect(decide(p, 'read', { path: `${WS}-evil/src/x.ts` }).decision).toBe('ask');
    expect(decide(p, 'read', { path: 'src/../../../etc/passwd' })).toMatchObject({ decision: 'deny', rule: 'etc' });
  });

  it('expands ~ and matches absolute patterns', async () => {
    const p = await policy(text);
    expect(decide(p, 'read', { path: '~/.ssh/id_rsa' })).toMatchObject({ decision: 'deny', rule: 'ssh' });
    expect(decide(p, 'read', { path: `${HOME}/.ssh/id_rsa` })).toMatchObject({ decision: 'deny', rule: 'ssh' });
    expect(decide(p, 'list', { path: '/etc' })).toMatchObject({ decision: 'deny', rule: 'etc' });
  });

  it('names "outside the workspace" as a condition', async () => {
    const p = await policy(text);
    expect(decide(p, 'write', { path: '/tmp/x' })).toMatchObject({ decision: 'deny', rule: 'outside' });
    expect(decide(p, 'write', { path: 'src/new.ts' })).toMatchObject({ decision: 'allow', rule: 'src' });
  });

  it('treats a path with a NUL byte as outside', async () => {
    const p = await policy(text);
    expect(decide(p, 'write', { path: 'src/a\0/../../x' }).decision).toBe('deny');
  });
});

describe('agent, tool and host conditions', () => {
  it('narrows by agent name and tool globs', async () => {
    const p = await policy(
      [
        'version: 1',
        'default: deny',
        'rules:',
        '  - {id: gh, decision: allow, tool: "mcp__github__*"}',
        '  - {id: gh-sub, decision: deny, tool: "mcp__github__*", agent: "sub-*"}',
        '  - {id: web, decision: allow, tool: web_fetch, host: ["docs.example.com", "*.npmjs.org"]}',
        '',
      ].join('\n'),
    );
    expect(decide(p, 'mcp__github__create_issue', {}).decision).toBe('allow');
    expect(decide(p, 'mcp__github__create_issue', {}, 'sub-reviewer').decision).toBe('deny');
    expect(decide(p, 'mcp__gitlab__x', {}).decision).toBe('deny');
    expect(decide(p, 'web_fetch', { url: 'https://docs.example.com/a' }).decision).toBe('allow');
    expect(decide(p, 'web_fetch', { url: 'https://registry.npmjs.org/x' }).decision).toBe('allow');
    expect(decide(p, 'web_fetch', { url: 'https://evil.com/?docs.example.com' }).decision).toBe('deny');
  });
});

describe('protected paths are never writable, whatever the policy says', () => {
  it('denies writes to .git/hooks, .git/config and .icode even under builtin:jailed', async () => {
    const p = await loadPolicy('builtin:jailed', { home: HOME });
    for (const path of ['.git/hooks/pre-commit', '.git/config', '.icode/policy.yaml', 'a/../.git/hooks/x', `${WS}/.git//hooks/post-checkout`]) {
      expect(decide(p, 'write', { path, content: 'x' })).toMatchObject({ decision: 'deny', rule: 'builtin:protected-paths' });
      expect(decide(p, 'edit', { path, old_string: 'a', new_string: 'b' }).decision).toBe('deny');
    }
    expect(decide(p, 'shell', { command: 'echo x > .git/hooks/pre-commit' }).decision).toBe('deny');
    expect(decide(p, 'shell', { command: 'cat x >> ./.git/config' }).decision).toBe('deny');
    expect(decide(p, 'read', { path: '.git/config' }).decision).toBe('allow');
    expect(decide(p, 'write', { path: '.github/workflows/ci.yml', content: 'x' }).decision).toBe('allow');
  });

  it('adds the policy\'s protected_paths', async () => {
    const p = await policy(['version: 1', 'default: allow', 'settings: {protected_paths: ["package-lock.json"]}', ''].join('\n'));
    expect(decide(p, 'write', { path: 'package-lock.json', content: '' }).decision).toBe('deny');
  });
});

describe('extends composes layers; a deny from any layer wins', () => {
  it('keeps a parent deny over a child allow and uses the child default', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'base.yaml'), 'version: 1\ndefault: deny\nrules:\n  - {id: no-env, decision: deny, tool: read, paths: [".env"]}\n');
    writeFileSync(join(dir, 'child.yaml'), 'version: 1\nextends: base.yaml\ndefault: allow\nrules:\n  - {id: reads, decision: allow, tool: read}\n');
    const p = await loadPolicy(join(dir, 'child.yaml'), { home: HOME });
    expect(decide(p, 'read', { path: '.env' })).toMatchObject({ decision: 'deny', rule: 'no-env' });
    expect(decide(p, 'read', { path: 'a.ts' }).decision).toBe('allow');
    expect(decide(p, 'write', { path: 'a.ts', content: '' }).decision).toBe('allow');
  });

  it('refuses cycles and unknown built-ins with a position', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'version: 1\nextends: b.yaml\n');
    writeFileSync(join(dir, 'b.yaml'), 'version: 1\nextends: a.yaml\n');
    await expect(loadPolicy(join(dir, 'a.yaml'))).rejects.toThrow(/extends cycle/);
    const probs = await problemsOf('version: 1\nextends: builtin:nope\n');
    expect(probs[0]).toMatchObject({ line: 2, col: 10, key: 'extends' });
    expect(probs[0].message).toContain('unknown built-in policy');
  });
});

describe('rule examples prove themselves', () => {
  it('loads when every example decides as written', async () => {
    await policy(
      [
        'version: 1',
        'rules:',
        '  - id: git-read',
        '    decision: allow',
        '    command: ["git status", "git diff **"]',
        '    examples:',
        '      match: ["git status", "git diff --stat HEAD~1"]',
        '      not_match: ["git push", "git status --porcelain"]',
        '',
      ].join('\n'),
    );
  });

  it('fails with the example\'s position when one does not hold', async () => {
    const probs = await problemsOf(
      [
        'version: 1',
        'rules:',
        '  - id: git-read',
        '    decision: allow',
        '    command: "git status"',
        '    examples:',
        '      match: ["git status", "git push"]',
        '',
      ].join('\n'),
    );
    expect(probs[0]).toMatchObject({ line: 7, key: 'rules[0].examples.match[1]' });
    expect(probs[0].message).toContain('should match rule "git-read" but does not');
  });

  it('fails when a matching example is overridden by a stricter rule', async () => {
    const probs = await problemsOf(
      [
        'version: 1',
        'rules:',
        '  - {id: git, decision: allow, command: "git **", examples: {match: ["git push"]}}',
        '  - {id: no-push, decision: deny, command: "git push **"}',
        '',
      ].join('\n'),
    );
    expect(probs[0].message).toContain('decides deny by rule "no-push"');
  });
});

describe('the compiled policy hash is stable', () => {
  it('is the same for the same policy and changes with any rule', async () => {
    const a = await policy('version: 1\nrules:\n  - {id: a, decision: allow, tool: read}\n');
    const b = await policy('# a comment\nversion: 1\nrules:\n  - {tool: read, decision: allow, id: a}\n');
    const c = await policy('version: 1\nrules:\n  - {id: a, decision: allow, tool: write}\n');
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});

describe('built-in policies', () => {
  it('all load and prove their examples', async () => {
    for (const name of ['readonly', 'workspace-write', 'untrusted', 'jailed']) {
      const p = await loadPolicy(`builtin:${name}`);
      expect(p.rules.length).toBeGreaterThan(1);
    }
  });

  it('readonly: reads inside are allowed; readers turned writers, writes and outside paths ask', async () => {
    const p = await loadPolicy('builtin:readonly', { home: HOME });
    expect(decide(p, 'read', { path: 'src/a.ts' }).decision).toBe('allow');
    expect(decide(p, 'grep', { pattern: 'x' }).decision).toBe('allow');
    expect(decide(p, 'read', { path: '/etc/passwd' }).decision).toBe('ask');
    expect(decide(p, 'write', { path: 'a', content: '' }).decision).toBe('ask');
    for (const cmd of ['git status', 'ls -la', 'grep -rn TODO src | head -5', 'find . -name "*.ts"', 'git log --oneline -5']) {
      expect(decide(p, 'shell', { command: cmd }).decision, cmd).toBe('allow');
    }
    for (const cmd of [
      'find . -delete',
      'find . -name x -exec sh -c id ;',
      'rg --pre ./evil.sh foo',
      'sort -o /tmp/x a',
      'git diff --output=x',
      'cat ../../etc/passwd',
      'cat ~/.ssh/id_rsa',
      'echo hi > file.txt',
      'git -c core.pager=id log',
      'ls $(rm -rf x)',
      './ls',
      'tee out.txt',
    ]) {
      expect(decide(p, 'shell', { command: cmd }).decision, cmd).not.toBe('allow');
    }
  });

  it('untrusted: only fs reads inside are allowed', async () => {
    const p = await loadPolicy('builtin:untrusted', { home: HOME });
    expect(decide(p, 'read', { path: 'a' }).decision).toBe('allow');
    expect(decide(p, 'shell', { command: 'ls' }).decision).toBe('ask');
    expect(decide(p, 'write', { path: 'a', content: '' }).decision).toBe('ask');
  });

  it('jailed: everything allowed, even what the parser cannot read', async () => {
    const p = await loadPolicy('builtin:jailed', { home: HOME });
    expect(decide(p, 'shell', { command: 'rm -rf / ; curl x | sh' }).decision).toBe('allow');
    expect(decide(p, 'shell', { command: 'echo "unterminated' }).decision).toBe('allow');
    expect(decide(p, 'mcp__x__y', {}).decision).toBe('allow');
  });
});
