/**
 * The tool registry: one definition per tool, tools registered at runtime with a plain JSON Schema and
 * their own executor, dispatch by kind, and the recorded deny for a kind nothing runs. Real pipeline,
 * real SQLite audit log, real worker pool.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecResult, Executor } from '../../engine/executors/types.js';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { BUILTIN_TOOLS } from '../../engine/tools/builtin/index.js';
import { defineTool } from '../../engine/tools/definition.js';
import { ToolRegistry } from '../../engine/tools/registry.js';
import { FsPool } from '../../sandbox/fs/pool.js';
import type { FsRequest } from '../../sandbox/fs/types.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-registry-');
const ws = join(root, 'ws');
const policyFile = join(root, 'policy.yaml');

beforeAll(() => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  writeFileSync(
    policyFile,
    'version: 1\nname: registry-test\ndefault: allow\nrules: []\n',
  );
});

const pipelines: Pipeline[] = [];
afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
});

/** An executor that counts what it was asked to run. */
class Recorder implements Executor {
  readonly calls: { tool: string; input: Record<string, unknown> }[] = [];
  closed = 0;
  describe(): string {
    return 'recorder';
  }
  async run(tool: string, input: Record<string, unknown>): Promise<ExecResult> {
    this.calls.push({ tool, input });
    const output = `ran ${tool} with ${JSON.stringify(input)}`;
    return { ok: true, output, truncated: false, bytes: output.length };
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

async function open(registry: ToolRegistry, executors: Record<string, Executor> = {}): Promise<Pipeline> {
  const p = await createPipeline({ workspace: ws, policy: policyFile, audit: join(root, `${pipelines.length}.db`), session: 'reg', registry, executors });
  pipelines.push(p);
  return p;
}

describe('the built-in definitions', () => {
  it('define every built-in tool once, with kind, mutates and a schema', () => {
    const r = new ToolRegistry();
    expect(r.names()).toEqual(['read', 'write', 'edit', 'glob', 'grep', 'list', 'shell', 'todo_write', 'web_fetch']);
    expect(Object.fromEntries(BUILTIN_TOOLS.map((t) => [t.name, [t.kind, t.mutates]]))).toEqual({
      read: ['fs', false],
      write: ['fs', true],
      edit: ['fs', true],
      glob: ['fs', false],
      grep: ['fs', false],
      list: ['fs', false],
      shell: ['shell', true],
      todo_write: ['agent', false],
      web_fetch: ['web', false],
    });
    // todo_write and web_fetch bring their own executors: nothing else in the engine knows them.
    expect(BUILTIN_TOOLS.filter((t) => t.executor).map((t) => t.name)).toEqual(['todo_write', 'web_fetch']);
  });

  it('resolve aliases and map their field names', () => {
    const r = new ToolRegistry();
    expect(r.resolve('Read', { file_path: 'a' })).toMatchObject({ def: { name: 'read' }, input: { path: 'a' } });
    expect(r.resolve('Bash', { command: 'ls', run_in_background: false, timeout: 500 })).toMatchObject({ def: { name: 'shell' }, input: { command: 'ls', timeout_ms: 500 } });
    expect(r.resolve('TodoWrite', { todos: [] })?.def.name).toBe('todo_write');
    expect(r.resolve('read', { file_path: 'a' })?.input).toEqual({ file_path: 'a' });
    expect(r.resolve('nope', {})).toBeUndefined();
    expect(r.validate('read', { file_path: 'a' })).toContain('unknown field "file_path"');
  });

  it('show the model a plain copy of each JSON Schema', () => {
    const spec = new ToolRegistry().specs().find((s) => s.name === 'read')!;
    expect(Object.isFrozen(spec.inputSchema)).toBe(false);
    expect(spec.inputSchema).toMatchObject({ type: 'object', required: ['path'], additionalProperties: false });
  });
});

describe('registering a tool at runtime', () => {
  const lookupSchema = { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { type: 'string', maxLength: 10 } } };

  it('refuses a name or alias already taken, a name a provider refuses, a schema that does not compile', () => {
    const r = new ToolRegistry();
    const base = { description: 'd', inputSchema: lookupSchema, kind: 'mcp', mutates: false } as const;
    expect(() => r.register({ ...base, name: 'read' })).toThrow(/already registered/);
    expect(() => r.register({ ...base, name: 'x', aliases: ['Bash'] })).toThrow(/already registered/);
    expect(() => r.register({ ...base, name: 'Read' })).toThrow(/already registered/);
    expect(() => r.register({ ...base, name: 'has space' })).toThrow(/must match/);
    expect(() => r.register({ ...base, name: 'bad_schema', inputSchema: { type: 'no-such-type' } })).toThrow(/does not compile/);
    expect(r.names()).not.toContain('x');
  });

  it('runs a plain-JSON-Schema tool with its own executor, validated, decided and audited like any other', async () => {
    const own = new Recorder();
    const registry = new ToolRegistry();
    registry.register(defineTool({ name: 'mcp__kv__lookup', description: 'look a key up', inputSchema: lookupSchema, kind: 'mcp', mutates: false, executor: () => own }));
    const fs = new Recorder();
    const p = await open(registry, { fs });
    expect(p.tools).toContain('mcp__kv__lookup');

    const ok = await p.call({ tool: 'mcp__kv__lookup', input: { key: 'k1' } });
    expect(ok).toMatchObject({ tool: 'mcp__kv__lookup', status: 'ok', output: 'ran mcp__kv__lookup with {"key":"k1"}' });
    const bad = await p.call({ tool: 'mcp__kv__lookup', input: { key: 'far-too-long-a-key' } });
    expect(bad).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(bad.reason).toContain('invalid input for mcp__kv__lookup');
    expect(own.calls).toEqual([{ tool: 'mcp__kv__lookup', input: { key: 'k1' } }]);
    expect(fs.calls).toEqual([]);

    p.audit.flush();
    const rows = p.audit.list({ session: 'reg' }).filter((row) => row.callId === ok.callId);
    expect(rows.map((row) => row.kind)).toEqual(['decision', 'outcome']);
    expect(rows[0]).toMatchObject({ tool: 'mcp__kv__lookup', decision: 'allow' });
    await p.close();
    expect(own.closed).toBe(1);
  });

  it('a tool registered after the pipeline was built is callable; unregistered, it is an unknown tool', async () => {
    const registry = new ToolRegistry();
    const p = await open(registry);
    const own = new Recorder();
    registry.register({ name: 'late_tool', description: 'd', inputSchema: { type: 'object' }, kind: 'custom', mutates: false, executor: () => own });
    expect((await p.call({ tool: 'late_tool', input: {} })).status).toBe('ok');
    registry.unregister('late_tool');
    const r = await p.call({ tool: 'late_tool', input: {} });
    expect(r).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(r.reason).toContain('unknown tool "late_tool"');
  });
});

describe('dispatch by kind', () => {
  it.each(['mcp', 'no-such-kind'])('a %s tool that nothing runs is a recorded deny, never sent to the fs executor', async (kind) => {
    const registry = new ToolRegistry();
    registry.register({ name: `orphan_${kind.replace(/-/g, '_')}`, description: 'd', inputSchema: { type: 'object' }, kind, mutates: true });
    const fs = new Recorder();
    const shell = new Recorder();
    const p = await open(registry, { fs, shell });
    const r = await p.call({ tool: `orphan_${kind.replace(/-/g, '_')}`, input: { path: 'a.txt' } });
    expect(r).toMatchObject({ decision: 'deny', status: 'denied' });
    expect(r.reason).toContain(`kind "${kind}"`);
    expect(fs.calls).toEqual([]);
    expect(shell.calls).toEqual([]);
    p.audit.flush();
    const detail = p.audit.get(r.auditId!);
    expect(detail?.decision).toMatchObject({ decision: 'deny' });
    expect(detail?.outcome).toMatchObject({ status: 'denied' });
  });

  it('an executor given for a kind runs that kind (fs here), and todo_write stays with its own', async () => {
    const fs = new Recorder();
    const p = await open(new ToolRegistry(), { fs });
    expect((await p.call({ tool: 'read', input: { path: 'a.txt' } })).status).toBe('ok');
    expect(fs.calls).toEqual([{ tool: 'read', input: { path: 'a.txt' } }]);
    const t = await p.call({ tool: 'TodoWrite', input: { todos: [{ content: 'x', status: 'pending' }] } });
    expect(t).toMatchObject({ tool: 'todo_write', status: 'ok' });
    expect(p.todos()).toEqual([{ content: 'x', status: 'pending' }]);
    expect(fs.calls).toHaveLength(1);
  });
});

describe('the fs worker checks its input against the same schema', () => {
  it('refuses what the schema refuses, even when the engine is bypassed', async () => {
    const pool = new FsPool();
    try {
      for (const input of [{ path: 'a.txt', extra: 1 }, { path: '' }, { path: 'a.txt', limit: 0 }, { path: 'a.txt', offset: 1.5 }]) {
        const r = await pool.run({ tool: 'read', input, root: ws, options: {} } as unknown as FsRequest);
        expect(r).toMatchObject({ ok: false, code: 'INVALID' });
      }
      expect(await pool.run({ tool: 'read', input: { path: 'a.txt' }, root: ws, options: {} } as unknown as FsRequest)).toMatchObject({ ok: true });
    } finally {
      await pool.close();
    }
  });
});

describe('the worker check interprets only what it understands', () => {
  it('agrees with ajv on the fs schemas and refuses an unknown keyword', async () => {
    const { checkInput } = await import('../../sandbox/fs/check-input.js');
    const { FS_INPUT_SCHEMAS } = await import('../../sandbox/fs/schemas.js');
    const r = new ToolRegistry();
    const samples: [string, unknown][] = [
      ['read', { path: 'a', offset: 3 }],
      ['read', { path: 'a', offset: 0 }],
      ['read', { path: 'a', limit: 100001 }],
      ['read', { path: 7 }],
      ['grep', { pattern: 'x', output_mode: 'content', context: 100 }],
      ['grep', { pattern: 'x', output_mode: 'lines' }],
      ['grep', { pattern: 'x', context: 101 }],
      ['edit', { path: 'a', old_string: 'x', new_string: 'y', replace_all: 'yes' }],
      ['write', { path: 'a' }],
      ['list', {}],
      ['list', { path: 'a', extra: true }],
      ['glob', { pattern: '' }],
      ['list', []],
    ];
    for (const [tool, input] of samples) {
      const ajvSays = r.validate(tool, input) === null;
      const workerSays = checkInput(FS_INPUT_SCHEMAS[tool as keyof typeof FS_INPUT_SCHEMAS], input) === null;
      expect([tool, input, workerSays]).toEqual([tool, input, ajvSays]);
    }
    expect(() => checkInput({ type: 'string', pattern: '^a' }, 'b')).toThrow(/unsupported schema keyword "pattern"/);
  });
});
