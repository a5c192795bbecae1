/** `icode guard install|uninstall`: merged into settings that already have hooks, idempotent, exact. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardCommand, installGuard, isOwnCommand, SettingsError, uninstallGuard } from '../../engine/guard/install.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const existing = {
  model: 'opus',
  permissions: { allow: ['Bash(npm test)'] },
  hooks: {
    PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '$CLAUDE_PROJECT_DIR/.claude/hooks/check.sh', timeout: 5 }] }],
    PostToolUse: [{ matcher: 'Edit|Write', hooks: [{ type: 'command', command: 'npx prettier --write' }] }],
    Notification: [{ hooks: [{ type: 'command', command: 'notify-send claude' }] }],
  },
};

describe('guard install / uninstall', () => {
  it('merges into a settings file with other hooks, is idempotent, and uninstall restores it exactly', () => {
    const file = join(tempDir('icode-settings-'), 'settings.json');
    writeFileSync(file, JSON.stringify(existing, null, 2));
    const cmd = guardCommand('claude-code', 'icode', '/p/policy.yaml');
    installGuard('claude-code', file, cmd);
    const once = readFileSync(file, 'utf8');
    const s = JSON.parse(once);
    expect(s.model).toBe('opus');
    expect(s.permissions).toEqual(existing.permissions);
    expect(s.hooks.PreToolUse).toHaveLength(2);
    expect(s.hooks.PreToolUse[0]).toEqual(existing.hooks.PreToolUse[0]);
    expect(s.hooks.PreToolUse[1]).toEqual({ matcher: '*', hooks: [{ type: 'command', command: 'icode guard claude-code --policy /p/policy.yaml', timeout: 30 }] });
    expect(s.hooks.Notification).toEqual(existing.hooks.Notification);
    for (const ev of ['PostToolUse', 'UserPromptSubmit', 'Stop', 'SubagentStop', 'SessionStart']) expect(JSON.stringify(s.hooks[ev])).toContain('icode guard claude-code');
    // Again: nothing duplicated.
    installGuard('claude-code', file, cmd);
    expect(readFileSync(file, 'utf8')).toBe(once);
    const r = uninstallGuard('claude-code', file);
    expect(r.removed).toBe(6);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(existing);
    expect(uninstallGuard('claude-code', file).removed).toBe(0);
  });

  it('leaves other agents and look-alike commands alone', () => {
    expect(isOwnCommand('claude-code', '/usr/local/bin/icode guard claude-code')).toBe(true);
    expect(isOwnCommand('claude-code', 'icode guard gemini-cli')).toBe(false);
    expect(isOwnCommand('claude-code', 'echo icode-guard claude-code')).toBe(false);
    expect(isOwnCommand('claude-code', 'myicode guard claude-code')).toBe(false);
  });

  it('never overwrites a settings file that is not JSON', () => {
    const file = join(tempDir('icode-settings-'), 'settings.json');
    writeFileSync(file, '{ "hooks": ');
    expect(() => installGuard('claude-code', file, 'icode guard claude-code')).toThrow(SettingsError);
    expect(readFileSync(file, 'utf8')).toBe('{ "hooks": ');
  });

  it('the CLI installs into .gemini/settings.json of the project, and uninstalls', () => {
    const dir = tempDir('icode-proj-');
    const r = icode(['guard', 'install', 'gemini-cli', '--project', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, '.gemini', 'settings.json'), 'utf8'));
    expect(s.hooks.BeforeTool[0]).toMatchObject({ matcher: '.*', hooks: [{ type: 'command', command: 'icode guard gemini-cli', name: 'icode-guard' }] });
    expect(icode(['guard', 'uninstall', 'gemini-cli'], { cwd: dir }).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '.gemini', 'settings.json'), 'utf8'))).toEqual({});
    expect(icode(['guard', 'install', 'cursor'], { cwd: dir }).code).toBe(2);
  });
});
