/**
 * icode's directories are computed in one place (engine/xdg.ts), and what the jail hides follows it:
 * a relative XDG variable is ignored (XDG spec), so the directories icode really writes — not the
 * relative ones the environment named — are the ones hidden from a workspace that contains them.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditKeyPath } from '../../engine/audit/key.js';
import { sessionControls } from '../../engine/executors/controls.js';
import { configDir, stateDir } from '../../engine/xdg.js';

let home: string;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'icode-xdg-')));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('one place for the XDG directories', () => {
  it('the audit key and the jail controls use the directories icode uses', () => {
    const env = { HOME: home, XDG_STATE_HOME: 'relative/state', XDG_CONFIG_HOME: 'relative/config' };
    expect(stateDir(env)).toBe(join(home, '.local', 'state', 'icode'));
    expect(configDir(env)).toBe(join(home, '.config', 'icode'));
    expect(auditKeyPath(env)).toBe(join(stateDir(env), 'audit.key'));
    // The workspace is the home directory: icode's state and configuration are inside it, and hidden.
    const c = sessionControls(home, null, null, null, env);
    expect(c.hiddenInside.sort()).toEqual(['.config/icode', '.local/state/icode']);
  });

  it('absolute XDG variables are followed', () => {
    const env = { HOME: '/nowhere', XDG_STATE_HOME: join(home, 'st'), XDG_CONFIG_HOME: join(home, 'cf') };
    expect(auditKeyPath(env)).toBe(join(home, 'st', 'icode', 'audit.key'));
    expect(sessionControls(home, null, null, null, env).hiddenInside.sort()).toEqual(['cf/icode', 'st/icode']);
  });
});
