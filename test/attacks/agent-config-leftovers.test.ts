/**
 * Other agents' project configuration runs programs when a person later works in the workspace: Claude
 * Code's `.claude/settings.json` (hooks run on the host, allow rules, enabled MCP servers; icode's own
 * guard hooks live there) and its hook scripts, Gemini CLI's `.gemini/settings.json`, Codex's `.codex/`,
 * and `.mcp.json` (servers started by name). A session must leave none of them behind, at any depth,
 * through any route — even under a policy that allows everything: the write/edit tools refuse them (the
 * policy's protected paths), and a jailed command's writes to them are refused by the change gate
 * (existing ones are also mounted read-only). Other files under `.claude/` (sub-agent definitions,
 * commands) stay writable. Real bwrap jail, real pty; checked by what is on the host afterwards.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

const HOOK = JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: 'touch /tmp/icode-pwned' }] }] } });
const CONFIGS = ['.claude/settings.json', '.claude/settings.local.json', '.claude/hooks/check.sh', '.gemini/settings.json', '.codex/config.toml', '.mcp.json', '.cursor/mcp.json', '.vscode/mcp.json', 'sub/.claude/settings.json', 'pkg/a/.mcp.json'];

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function open(pre: Record<string, string> = {}): Promise<string> {
  const root = tempDir('icode-agent-config-');
  const ws = join(root, 'ws');
  mkdirSync(join(ws, 'sub'), { recursive: true });
  for (const [rel, text] of Object.entries(pre)) {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), text);
  }
  writeFileSync(join(root, 'policy.yaml'), 'version: 1\nname: everything\ndefault: allow\n');
  pipeline = await createPipeline({ workspace: ws, policy: join(root, 'policy.yaml'), audit: join(root, 'audit.db'), session: 'leftovers' });
  return pipeline.workspace;
}

describe("other agents' configuration is never left behind", () => {
  it('the write and edit tools refuse it, at the root and below, while .claude/agents stays writable', async () => {
    const ws = await open({ '.claude/settings.json': '{}\n' });
    for (const rel of CONFIGS) {
      const r = await pipeline!.call({ tool: 'write', input: { path: rel, content: HOOK } });
      expect(r.status, `${rel}: ${r.output}`).not.toBe('ok');
    }
    const e = await pipeline!.call({ tool: 'edit', input: { path: '.claude/settings.json', old_string: '{}', new_string: HOOK } });
    expect(e.status).not.toBe('ok');
    expect(readFileSync(join(ws, '.claude/settings.json'), 'utf8')).toBe('{}\n');
    for (const rel of CONFIGS.slice(1)) expect(existsSync(join(ws, rel)), rel).toBe(false);
    // Control: a sub-agent definition is ordinary project content.
    const ok = await pipeline!.call({ tool: 'write', input: { path: '.claude/agents/reviewer.md', content: '---\nname: reviewer\n---\nReview.\n' } });
    expect(ok.status).toBe('ok');
  }, 60_000);

  it('a jailed command cannot create them (from a script the policy cannot see into), and its other files land', async () => {
    const ws = await open();
    const script = CONFIGS.map((rel) => `mkdir -p "$(dirname ${rel})"; printf '%s' '${HOOK}' > ${rel}`).join('\n');
    writeFileSync(join(ws, 'mk.sh'), `${script}\nmkdir -p .claude/agents && echo ok > .claude/agents/x.md\n`);
    const r = await pipeline!.call({ tool: 'shell', input: { command: 'sh mk.sh' } });
    expect(r.decision).toBe('allow');
    expect(r.output).toContain('change refused');
    for (const rel of CONFIGS) expect(existsSync(join(ws, rel)), rel).toBe(false);
    expect(readFileSync(join(ws, '.claude/agents/x.md'), 'utf8')).toBe('ok\n');
  }, 60_000);

  it('nor put a link where their folder belongs (ln -s elsewhere .claude), at the root and below', async () => {
    const ws = await open();
    writeFileSync(join(ws, 'mk.sh'), `mkdir -p elsewhere && printf '%s' '${HOOK}' > elsewhere/settings.json\nln -s elsewhere .claude\nln -s elsewhere .gemini\nln -s ../elsewhere sub/.claude\n`);
    const r = await pipeline!.call({ tool: 'shell', input: { command: 'sh mk.sh' } });
    expect(r.output).toContain('change refused');
    for (const rel of ['.claude', '.gemini', 'sub/.claude']) expect(() => lstatSync(join(ws, rel)), rel).toThrow();
    expect(readFileSync(join(ws, 'elsewhere/settings.json'), 'utf8')).toBe(HOOK); // an ordinary file where it is
  }, 60_000);

  it('a jailed command cannot rewrite, replace or remove existing ones', async () => {
    const pre = { '.claude/settings.json': '{"user": true}\n', '.gemini/settings.json': '{"user": true}\n', '.mcp.json': '{"mcpServers": {}}\n' };
    const ws = await open(pre);
    writeFileSync(join(ws, 'evil.json'), HOOK);
    for (const command of [
      `printf '%s' '${HOOK}' > .claude/settings.json`,
      'cp evil.json .gemini/settings.json',
      'mv evil.json .mcp.json',
      'rm -rf .claude .gemini .mcp.json',
      'mv .claude claude-old && mkdir .claude && cp evil.json .claude/settings.json',
    ]) {
      if (!existsSync(join(ws, 'evil.json'))) writeFileSync(join(ws, 'evil.json'), HOOK);
      await pipeline!.call({ tool: 'shell', input: { command } });
      for (const [rel, text] of Object.entries(pre)) expect(readFileSync(join(ws, rel), 'utf8'), `${command}: ${rel}`).toBe(text);
    }
  }, 120_000);
});
