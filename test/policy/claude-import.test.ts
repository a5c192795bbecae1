/**
 * Claude Code permissions imported with Claude Code's meaning: a table of cases decided by the
 * imported policy, plain YAML without anchors, and every setting it does not translate reported.
 */
import { describe, expect, it } from 'vitest';
import { importClaudeSettings } from '../../policies/claude-import.js';
import { loadPolicyText } from '../../policies/index.js';

const WS = '/home/user/project';
const HOME = '/home/user';

async function imported(permissions: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const r = importClaudeSettings(JSON.stringify({ permissions, ...extra }), '.claude/settings.json');
  const policy = await loadPolicyText(r.yaml, `claude-${Math.random()}.yaml`, { home: HOME });
  return { r, decide: (tool: string, input: Record<string, unknown>) => policy.decide({ tool, input, workspace: WS, home: HOME }).decision };
}

describe('import-claude semantics', () => {
  // [Claude Code rule list, tool, input, expected decision]
  const table: [Record<string, string[]>, string, Record<string, unknown>, string][] = [
    [{ allow: ['Bash(npm run test:*)'] }, 'shell', { command: 'npm run test' }, 'allow'],
    [{ allow: ['Bash(npm run test:*)'] }, 'shell', { command: 'npm run test:unit' }, 'allow'],
    [{ allow: ['Bash(npm run test:*)'] }, 'shell', { command: 'npm run test -- --watch=false' }, 'allow'],
    [{ allow: ['Bash(npm run test:*)'] }, 'shell', { command: 'npm run build' }, 'ask'],
    [{ allow: ['Bash(npm run test:*)'] }, 'shell', { command: 'npm run test && rm -rf src' }, 'ask'],
    [{ allow: ['Bash(git diff:*)'] }, 'shell', { command: 'git diff HEAD~1' }, 'allow'],
    [{ allow: ['Bash(npm test)'] }, 'shell', { command: 'npm test' }, 'allow'],
    [{ allow: ['Bash(npm test)'] }, 'shell', { command: 'npm test -- -u' }, 'ask'],
    [{ deny: ['Bash(curl:*)'] }, 'shell', { command: 'curl https://x' }, 'deny'],
    [{ allow: ['Bash'] }, 'shell', { command: 'make' }, 'allow'],
    // reading inside the project is allowed by default, as in Claude Code
    [{}, 'read', { path: 'src/index.ts' }, 'allow'],
    [{}, 'read', { path: '../other/x' }, 'ask'],
    [{}, 'write', { path: 'src/index.ts' }, 'ask'],
    [{ deny: ['Read(./.env)'] }, 'read', { path: '.env' }, 'deny'],
    [{ deny: ['Read(*.pem)'] }, 'read', { path: 'certs/deep/a.pem' }, 'deny'],
    [{ deny: ['Read(~/.ssh/**)'] }, 'read', { path: '~/.ssh/id_rsa' }, 'deny'],
    [{ deny: ['Read(//etc/**)'] }, 'read', { path: '/etc/passwd' }, 'deny'],
    [{ allow: ['Edit(/src/**)'] }, 'edit', { path: 'src/a.ts', old_string: 'a', new_string: 'b' }, 'allow'],
    [{ allow: ['Edit(/src/**)'] }, 'edit', { path: 'test/a.ts', old_string: 'a', new_string: 'b' }, 'ask'],
    [{ allow: ['WebFetch(domain:example.com)'] }, 'web_fetch', { url: 'https://example.com/x' }, 'allow'],
    [{ allow: ['WebFetch(domain:example.com)'] }, 'web_fetch', { url: 'https://evil.com/x' }, 'ask'],
    [{ allow: ['mcp__github'] }, 'mcp__github__create_issue', {}, 'allow'],
    [{ allow: ['mcp__github'] }, 'mcp__gitlab__create_issue', {}, 'ask'],
    [{ allow: ['mcp__github__get_issue'] }, 'mcp__github__create_issue', {}, 'ask'],
  ];
  it.each(table)('%j: %s %j → %s', async (perms, tool, input, expected) => {
    const { decide } = await imported(perms);
    expect(decide(tool, input)).toBe(expected);
  });

  it('reports env, additionalDirectories, defaultMode plan, hooks and unknown settings; never drops them', async () => {
    const { r } = await imported(
      { allow: ['Bash(ls:*)'], additionalDirectories: ['../lib'], defaultMode: 'plan', Frobnicate: ['x'] },
      { env: { FOO: '1' }, hooks: { PreToolUse: [] }, model: 'x', $schema: 'https://json.schemastore.org/claude-code-settings.json' },
    );
    const rules = r.untranslated.map((u) => u.rule).join('\n');
    for (const k of ['additionalDirectories', 'defaultMode: plan', 'Frobnicate', 'env', 'hooks', 'model']) expect(rules).toContain(k);
    expect(rules).not.toContain('$schema');
    for (const u of r.untranslated) expect(r.yaml).toContain(`#   ${u.rule}`);
  });

  it('writes plain YAML without anchors or aliases', async () => {
    const { r } = await imported({ allow: ['Read(src/**)', 'Read(test/**)', 'Edit(src/**)', 'Edit(test/**)'] });
    expect(r.yaml).not.toMatch(/[&*]a\d/);
    expect(r.translated).toBe(4);
  });
});
