/**
 * Red-team: malformed and schema-edge inputs to the pipeline, under builtin:jailed (which allows every
 * well-formed call, so only validation stands between a malformed call and the executors).
 * Each case asserts the SAFE outcome: denied, recorded, nothing run; the audit chain still verifies.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../engine/pipeline.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('icode-attack-input-');
const ws = join(root, 'ws');
const db = join(root, 'audit.db');
let p: Pipeline;

beforeAll(async () => {
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'hello\n');
  p = await createPipeline({ workspace: ws, policy: 'builtin:jailed', audit: db, session: 'input' });
});
afterAll(async () => {
  await p?.close();
});

describe('malformed calls are denied and run nothing', () => {
  const protoInput = JSON.parse('{"command":"touch PWN-proto","__proto__":{"timeout_ms":100}}') as Record<string, unknown>;
  it.each([
    ['extra field', { tool: 'shell', input: { command: 'touch PWN-extra', extra: 1 } }],
    ['__proto__ key', { tool: 'shell', input: protoInput }],
    ['command as array', { tool: 'shell', input: { command: ['touch', 'PWN-array'] } }],
    ['input as string', { tool: 'shell', input: 'touch PWN-string' }],
    ['input null', { tool: 'shell', input: null }],
    ['input array', { tool: 'shell', input: ['touch PWN-arr2'] }],
    ['homoglyph tool name', { tool: 'shеll', input: { command: 'touch PWN-homoglyph' } }],
    ['zero-width tool name', { tool: 'sh\u200bell', input: { command: 'touch PWN-zw' } }],
    ['upper-case tool name', { tool: 'SHELL', input: { command: 'touch PWN-upper' } }],
    ['prototype tool name', { tool: '__proto__', input: { command: 'touch PWN-p2' } }],
    ['constructor tool name', { tool: 'constructor', input: { command: 'touch PWN-ctor' } }],
    ['over-long command', { tool: 'shell', input: { command: `touch PWN-long; echo ${'a'.repeat(70_000)}` } }],
    ['huge timeout', { tool: 'shell', input: { command: 'touch PWN-timeout', timeout_ms: 1e12 } }],
    ['negative timeout', { tool: 'shell', input: { command: 'touch PWN-neg', timeout_ms: -1 } }],
    ['write with extra field', { tool: 'write', input: { path: 'PWN-write', content: 'x', mode: 0o4755 } }],
    ['write to empty path', { tool: 'write', input: { path: '', content: 'x' } }],
    ['read with fractional offset', { tool: 'read', input: { path: 'a.txt', offset: 1.5 } }],
  ])('%s', async (_name, c) => {
    const r = await p.call(c as { tool: string; input: Record<string, unknown> });
    expect(r.decision).toBe('deny');
    expect(r.status).not.toBe('ok');
    for (const m of ['PWN-extra', 'PWN-proto', 'PWN-array', 'PWN-string', 'PWN-arr2', 'PWN-homoglyph', 'PWN-zw', 'PWN-upper', 'PWN-p2', 'PWN-ctor', 'PWN-long', 'PWN-timeout', 'PWN-neg', 'PWN-write']) {
      expect(existsSync(join(ws, m))).toBe(false);
    }
  });

  it('control: a well-formed call runs (the markers above could have appeared)', async () => {
    const r = await p.call({ tool: 'shell', input: { command: 'touch PWN-control-ok && echo made' } });
    expect(r.status).toBe('ok');
    expect(existsSync(join(ws, 'PWN-control-ok'))).toBe(true);
  });

  it('the audit chain verifies after all of it', () => {
    p.audit.flush();
    const r = icode(['audit', 'verify', '--db', db]);
    expect(r.code).toBe(0);
  });
});

describe('replay of a hostile JSONL', () => {
  it('malformed lines are recorded denies, nothing they name runs, the log verifies', () => {
    const dir = join(root, 'replay-ws');
    mkdirSync(dir, { recursive: true });
    const file = join(root, 'calls.jsonl');
    writeFileSync(
      file,
      [
        '{bad json',
        '[1,2]',
        '{"tool":"shell","input":{"command":"touch R-extra","x":1}}',
        '{"tool":"shell","input":{"command":"touch R-dup"},"input":{"command":"echo later-wins"}}',
        '{"tool":"shell\\u0000","input":{"command":"touch R-nul"}}',
        '{"tool":"shell","input":{"command":"touch R-asked"}}',
        '{"tool":"read","input":{"path":"../../etc/passwd"}}',
        '',
      ].join('\n'),
    );
    const audit = join(root, 'replay.db');
    const r = icode(['replay', file, '--workspace', dir, '--policy', 'builtin:readonly', '--audit', audit]);
    expect(r.code).not.toBe(0);
    for (const m of ['R-extra', 'R-dup', 'R-nul', 'R-asked']) expect(existsSync(join(dir, m))).toBe(false);
    expect(r.stdout).not.toContain('root:x:0:0');
    expect(icode(['audit', 'verify', '--db', audit]).code).toBe(0);
  });

  it('the CLI refuses malformed --input with exit 2', () => {
    const r = icode(['exec', '--tool', 'shell', '--input', '{"command":"touch X-bad"', '--workspace', ws, '--policy', 'builtin:jailed', '--audit', join(root, 'exec.db'), '--json']);
    expect(r.code).toBe(2);
    expect(existsSync(join(ws, 'X-bad'))).toBe(false);
  });
});

describe('shell parser limits under a narrow policy (nothing past the limits is allowed)', () => {
  it.each([
    ['deep $( nesting', `echo ${'$('.repeat(400)}touch PWN-deep${')'.repeat(400)}`],
    ['deep subshell nesting', `${'('.repeat(500)}touch PWN-sub${')'.repeat(500)}`],
    ['NUL byte', 'echo ok\u0000; touch PWN-nul'],
    ['CR line break', 'echo ok\rtouch PWN-cr'],
    ['64 KiB of brace expansion', `echo ${'{a,b}'.repeat(12_000)}`],
  ])('%s', async (_name, command) => {
    const { loadPolicyText } = await import('../../policies/index.js');
    const pol = await loadPolicyText('version: 1\ndefault: ask\nrules:\n  - {id: e, decision: allow, command: ["echo **"]}\n', 'n.yaml', { home: '/home/agent' });
    const d = pol.decide({ tool: 'shell', input: { command }, workspace: ws });
    // `echo` with a literal argument is legitimately allowed; what must never be allowed is a hidden touch.
    if (command.includes('touch')) expect(d.decision).not.toBe('allow');
    else expect(['allow', 'ask', 'deny']).toContain(d.decision);
  });
});
