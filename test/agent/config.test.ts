/** The agent config file is validated against a JSON Schema; every error names the file and the field. XDG paths come from one place. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, loadConfigFile } from '../../engine/agent/config.js';
import { defaultSessionsPath } from '../../engine/agent/sessions.js';
import { defaultAuditPath } from '../../engine/audit/log.js';
import { configDir, stateDir } from '../../engine/xdg.js';

const dir = mkdtempSync(join(tmpdir(), 'icode-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string, name = 'config.yaml'): () => unknown {
  const path = join(dir, name);
  writeFileSync(path, text);
  return () => loadConfigFile({ ICODE_CONFIG: path });
}

describe('config validation', () => {
  it.each([
    ['model: 3\n', /config .*config\.yaml: `model` must be a string/],
    ['max_retries: 1.5\n', /`max_retries` must be an integer/],
    ['max_output_tokens: 0\n', /`max_output_tokens` must be >= 1/],
    ['providers: 3\n', /`providers` must be a mapping/],
    ['providers:\n  ollama: { base_url: 7 }\n', /`providers\.ollama\.base_url` must be a string/],
    ['prices:\n  gpt: { input: 1, output: 2 }\n', /`prices\.gpt` must be keyed provider\/model/],
    ['prices:\n  a/b: { input: 1 }\n', /`prices\.a\/b\.output` is missing/],
    ['prices:\n  a/b: { input: -1, output: 2 }\n', /`prices\.a\/b\.input` must be >= 0/],
    ['- a list\n', /config .*: expected a mapping/],
  ])('%j is refused with the file and the field', (text, message) => {
    expect(load(text)).toThrow(message);
  });

  it('accepts a full config, ignores unknown keys, and reads JSON too', () => {
    const c = load('model: a/b\nfuture_key: 1\nprices:\n  a/b: { input: 1, output: 2, cache_read: 0.1 }\n')();
    expect(c).toMatchObject({ model: 'a/b', prices: { 'a/b': { input: 1, output: 2, cacheRead: 0.1 } } });
    expect(c).not.toHaveProperty('future_key');
    expect(load('{"max_retries": 2}', 'c.json')()).toMatchObject({ max_retries: 2 });
  });
});

describe('XDG paths, computed in one place', () => {
  it('state and config directories follow XDG, ignore relative values, and feed every default', () => {
    expect(stateDir({ XDG_STATE_HOME: '/x/state', HOME: '/h' })).toBe('/x/state/icode');
    expect(stateDir({ XDG_STATE_HOME: 'rel', HOME: '/h' })).toBe('/h/.local/state/icode');
    expect(configDir({ XDG_CONFIG_HOME: '/x/conf', HOME: '/h' })).toBe('/x/conf/icode');
    expect(configDir({ HOME: '/h' })).toBe('/h/.config/icode');
    const env = { XDG_STATE_HOME: '/x/state', HOME: '/h' };
    expect(defaultAuditPath(env)).toBe('/x/state/icode/audit.db');
    expect(defaultSessionsPath(env)).toBe('/x/state/icode/sessions.db');
    writeFileSync(join(dir, 'config.yml'), 'model: a/b\n');
    expect(configPath({ XDG_CONFIG_HOME: join(dir, '..'), HOME: '/h' })).toBeNull();
  });
});
