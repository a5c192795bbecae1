import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseHooksConfig } from '../../sandbox/hooks/config.js';
import { hookConfigSchema } from '../../sandbox/hooks/schema.js';

const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(hookConfigSchema);

const good = [
  {},
  { pre_tool: [{ match: { tool: 'shell' }, script: 'hooks/no-force.ts' }] },
  { pre_tool: [{ builtin: 'doom_loop_guard', options: { threshold: 4 }, on_error: 'ask' }], post_tool: [{ builtin: 'secret_redactor', on_error: 'withhold' }] },
  { stop: [{ command: ['./check.sh', '--strict'], timeout_ms: 5000, name: 'checks' }], session_start: [{ command: 'cat NOTES.md' }] },
  { pre_tool: [{ script: 'x.mjs', match: { tool: ['write', 'edit'], agent: 'main' }, memory_mb: 64 }] },
  { subagent_stop: [{ builtin: 'todo_continuation_enforcer', match: { agent: 'research*' } }] },
];

const bad = [
  { pre_tool: {} },
  { pre_tool: [{}] },
  { pre_tool: [{ script: 'a.js', builtin: 'b' }] },
  { pre_tool: [{ script: 'a.py' }] },
  { pre_tool: [{ script: 'a.js', on_error: 'withhold' }] },
  { post_tool: [{ script: 'a.js', on_error: 'deny' }] },
  { stop: [{ script: 'a.js', on_error: 'deny' }] },
  { pre_tool: [{ script: 'a.js', memory_mb: 4 }] },
  { pre_tool: [{ script: 'a.js', timeout_ms: 0 }] },
  { pre_tool: [{ script: 'a.js', colour: 'red' }] },
  { pre_tool: [{ script: 'a.js', match: { tools: 'shell' } }] },
  { pre_tool: [{ command: [] }] },
  { on_tool: [] },
  { stop: [{ builtin: 'todo_continuation_enforcer', match: { tool: 'shell' } }] },
];

describe('hooks configuration: the JSON Schema and the runtime validator agree', () => {
  it.each(good)('accepts %j', (config) => {
    expect(validate(config)).toBe(true);
    expect(() => parseHooksConfig(config)).not.toThrow();
  });

  it.each(bad)('rejects %j', (config) => {
    expect(validate(config)).toBe(false);
    expect(() => parseHooksConfig(config)).toThrow();
  });
});
