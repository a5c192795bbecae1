/**
 * `args:` conditions of rules: patterns on a tool call's input (MCP tools above all). Allow rules match
 * only for certain, ask/deny rules whenever they might (case, invisible characters, NFKC, dotted keys,
 * numbers as text, nested objects, arrays, values too large to look at); compile errors name
 * file:line:col and the argument key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { starGlob } from '../../policies/compiler/args.js';
import { compileGlob } from '../../policies/pure/glob-match.js';
import { decideIntersection, loadPolicyText, PolicyError, type CompiledPolicy } from '../../policies/index.js';

const WS = '/tmp/icode-args-ws';
const HOME = '/home/agent';

async function policy(lines: string[]): Promise<CompiledPolicy> {
  return loadPolicyText(['version: 1', ...lines, ''].join('\n'), 'args.yaml', { home: HOME });
}

async function problemsOf(lines: string[]): Promise<PolicyError['problems']> {
  try {
    await policy(lines);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).problems;
  }
  throw new Error('policy loaded but should not have');
}

const decide = (p: CompiledPolicy, tool: string, input: Record<string, unknown>) => p.decide({ tool, input, workspace: WS, home: HOME });

const GITHUB = [
  'default: ask',
  'rules:',
  '  - id: own-repos',
  '    decision: allow',
  '    tool: mcp__github__*',
  '    args:',
  '      owner: myorg',
  '      repo: "icode-*"',
  '  - id: no-force',
  '    decision: deny',
  '    tool: mcp__github__*',
  '    args:',
  '      options.force: true',
  '  - id: no-secret-repos',
  '    decision: deny',
  '    tool: mcp__github__*',
  '    args:',
  '      repo: "*secret*"',
];

describe('allow, ask and deny by argument', () => {
  it('allows only the arguments the allow rule names, denies by a nested boolean, asks otherwise', async () => {
    const p = await policy(GITHUB);
    expect(decide(p, 'mcp__github__create_issue', { owner: 'myorg', repo: 'icode-core', title: 't' })).toMatchObject({ decision: 'allow', rule: 'own-repos' });
    expect(decide(p, 'mcp__github__create_issue', { owner: 'other', repo: 'icode-core' }).decision).toBe('ask');
    expect(decide(p, 'mcp__github__create_issue', { owner: 'myorg' }).decision).toBe('ask');
    expect(decide(p, 'mcp__github__push', { owner: 'myorg', repo: 'icode-core', options: { force: true } })).toMatchObject({ decision: 'deny', rule: 'no-force' });
    expect(decide(p, 'mcp__github__push', { owner: 'myorg', repo: 'icode-core', options: { force: false } }).decision).toBe('allow');
    expect(decide(p, 'mcp__github__push', { owner: 'myorg', repo: 'icode-secret-x' })).toMatchObject({ decision: 'deny', rule: 'no-secret-repos' });
    // Other tools are not touched by these rules.
    expect(decide(p, 'mcp__gitlab__push', { owner: 'myorg', repo: 'icode-core' }).decision).toBe('ask');
  });

  it('ask/deny see through case, invisible characters, fullwidth letters, strings for booleans, dotted keys and key case', async () => {
    const p = await policy(GITHUB);
    const denied = [
      { repo: 'icode-SECRET' },
      { repo: 'icode-se\u200bcret' },
      { repo: 'icode-ｓｅｃｒｅｔ' },
      { repo: 'icode-sec\u00adret' },
      { options: { force: 'true' } },
      { options: { force: ' TRUE' } },
      { 'options.force': true },
      { Options: { FORCE: true } },
      { options: [{ force: false }, { force: true }] },
      { repo: ['ok', 'my-secret'] },
      { repo: { name: 'secret-thing' } },
    ];
    for (const input of denied) expect(decide(p, 'mcp__github__x', { owner: 'myorg', ...input }).decision, JSON.stringify(input)).toBe('deny');
  });

  it('allow rules never accept a near miss: case, arrays with one odd element, objects, dotted keys, NUL, `..`', async () => {
    const p = await policy(GITHUB);
    const notAllowed = [
      { owner: 'MyOrg', repo: 'icode-a' },
      { owner: 'myorg\u200b', repo: 'icode-a' },
      { owner: ['myorg', 'evil'], repo: 'icode-a' },
      { owner: { login: 'myorg' }, repo: 'icode-a' },
      { 'owner.x': 'myorg', repo: 'icode-a' },
      { owner: 'myorg', repo: 'icode-a/../other' },
      { owner: 'myorg', repo: 'icode-a/b' },
      { owner: 'myorg', repo: 'icode-a\u0000x' },
      { owner: 'myorg', repo: [] },
    ];
    for (const input of notAllowed) expect(decide(p, 'mcp__github__x', input).decision, JSON.stringify(input)).not.toBe('allow');
    // Every element of an array matching is an allow.
    expect(decide(p, 'mcp__github__x', { owner: ['myorg', 'myorg'], repo: 'icode-a' }).decision).toBe('allow');
  });

  it('numbers and booleans: equality is typed for allow, loose for deny; globs see their JSON text', async () => {
    const p = await policy([
      'default: ask',
      'rules:',
      '  - id: small-pages',
      '    decision: allow',
      '    tool: mcp__db__query',
      '    args: { limit: [10, 20, 50] }',
      '  - id: no-drop',
      '    decision: deny',
      '    tool: mcp__db__*',
      '    args: { sql: { regex: "(?s).*\\\\bdrop\\\\s+table\\\\b.*", nocase: true } }',
      '  - id: no-port-22',
      '    decision: deny',
      '    tool: mcp__net__*',
      '    args: { port: "22" }',
    ]);
    expect(decide(p, 'mcp__db__query', { limit: 20 }).decision).toBe('allow');
    expect(decide(p, 'mcp__db__query', { limit: '20' }).decision).toBe('ask');
    expect(decide(p, 'mcp__db__query', { limit: 21 }).decision).toBe('ask');
    expect(decide(p, 'mcp__db__query', { limit: 20, sql: 'select 1;\n DROP  TABLE users' }).decision).toBe('deny');
    expect(decide(p, 'mcp__db__query', { limit: 20, sql: 'ＤＲＯＰ TABLE users' }).decision).toBe('deny');
    expect(decide(p, 'mcp__db__query', { limit: 20, sql: 'select * from droptables' }).decision).toBe('allow');
    expect(decide(p, 'mcp__net__connect', { port: 22 }).decision).toBe('deny');
    expect(decide(p, 'mcp__net__connect', { port: '22' }).decision).toBe('deny');
    expect(decide(p, 'mcp__net__connect', { port: 2222 }).decision).toBe('ask');
  });

  it('absent and present; a missing argument never satisfies a value pattern', async () => {
    const p = await policy([
      'default: ask',
      'rules:',
      '  - id: read-no-token',
      '    decision: allow',
      '    tool: mcp__api__get',
      '    args: { token: { absent: true }, url: "https://api.example.com/**" }',
      '  - id: deny-sudo-flag',
      '    decision: deny',
      '    tool: mcp__api__*',
      '    args: { sudo: { absent: false } }',
    ]);
    expect(decide(p, 'mcp__api__get', { url: 'https://api.example.com/v1/x' }).decision).toBe('allow');
    expect(decide(p, 'mcp__api__get', { url: 'https://api.example.com/v1/x', token: 't' }).decision).toBe('ask');
    expect(decide(p, 'mcp__api__get', { url: 'https://api.example.com/v1/x', TOKEN: 't' }).decision).toBe('ask');
    expect(decide(p, 'mcp__api__get', {}).decision).toBe('ask');
    expect(decide(p, 'mcp__api__get', { url: 'https://api.example.com/x', sudo: false }).decision).toBe('deny');
    expect(decide(p, 'mcp__api__get', { url: 'https://api.example.com/x', SUDO: null }).decision).toBe('deny');
  });

  it('path patterns resolve the value like a path: `..` and file:// URLs cannot slip past', async () => {
    const p = await policy([
      'default: ask',
      'rules:',
      '  - id: src-ok',
      '    decision: allow',
      '    tool: mcp__fs__*',
      '    args: { path: { path: "src/**" } }',
      '  - id: no-etc',
      '    decision: deny',
      '    tool: mcp__fs__*',
      '    args: { path: { path: "/etc/**" } }',
    ]);
    expect(decide(p, 'mcp__fs__read', { path: 'src/a.ts' }).decision).toBe('allow');
    expect(decide(p, 'mcp__fs__read', { path: `${WS}/src/a.ts` }).decision).toBe('allow');
    expect(decide(p, 'mcp__fs__read', { path: 'src/../.env' }).decision).toBe('ask');
    expect(decide(p, 'mcp__fs__read', { path: 'src/../../../etc/passwd' }).decision).toBe('deny');
    expect(decide(p, 'mcp__fs__read', { path: 'file:///etc/passwd' }).decision).toBe('deny');
    expect(decide(p, 'mcp__fs__read', { path: 'file:///etc/%70asswd' }).decision).toBe('deny');
  });

  it('values too large or too deep to look at: ask/deny match, allow does not; the work is bounded', async () => {
    const p = await policy([
      'default: ask',
      'rules:',
      '  - id: ok',
      '    decision: allow',
      '    tool: mcp__x__*',
      '    args: { q: "*" }',
      '  - id: bad',
      '    decision: deny',
      '    tool: mcp__y__*',
      '    args: { q: { regex: "(a+)+$" } }',
    ]);
    const big = 'a'.repeat(5_000_000) + 'b';
    expect(decide(p, 'mcp__x__t', { q: big }).decision).toBe('ask');
    expect(decide(p, 'mcp__y__t', { q: big }).decision).toBe('deny');
    // Under the size bound a catastrophic-backtracking pattern is linear in re2js.
    expect(decide(p, 'mcp__y__t', { q: 'a'.repeat(60_000) + 'b' }).decision).toBe('ask');
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = { q: deep };
    expect(decide(p, 'mcp__y__t', { q: deep }).decision).toBe('deny');
    expect(decide(p, 'mcp__x__t', { q: deep }).decision).toBe('ask');
    // Equality against a value of 40 000 nested elements stops at the node bound.
    const square = Array.from({ length: 200 }, () => Array.from({ length: 200 }, () => 1));
    const eq = await policy(['default: ask', 'rules:', '  - id: d', '    decision: deny', '    tool: mcp__z__*', '    args: { q: { equals: [[1]] } }', '  - id: a', '    decision: allow', '    tool: mcp__w__*', '    args: { q: { equals: [[1]] } }']);
    expect(eq.decide({ tool: 'mcp__z__t', input: { q: square }, workspace: WS, home: HOME }).decision).toBe('deny');
    expect(eq.decide({ tool: 'mcp__w__t', input: { q: square }, workspace: WS, home: HOME }).decision).toBe('ask');
    expect(eq.decide({ tool: 'mcp__w__t', input: { q: [[1]] }, workspace: WS, home: HOME }).decision).toBe('allow');
    const wide = Array.from({ length: 200_000 }, () => 'a');
    expect(decide(p, 'mcp__y__t', { q: wide }).decision).toBe('deny');
    expect(decide(p, 'mcp__x__t', { q: wide }).decision).toBe('ask');
  });
});

describe('the indexOf matcher of literal-and-star globs', () => {
  it('agrees with the glob NFA in path and non-path mode, with and without nocase (property, fixed seed)', () => {
    const pattern = fc.stringOf(fc.constantFrom('a', 'B', '*', '.', '-'), { maxLength: 8 });
    const subject = fc.stringOf(fc.constantFrom('a', 'b', 'B', '/', '.', '-'), { maxLength: 12 });
    fc.assert(
      fc.property(pattern, subject, fc.boolean(), fc.boolean(), (p, s, path, nocase) => {
        const fast = starGlob(p, path, nocase);
        if (!fast) return true;
        const nfa = compileGlob(p, { path, negation: false, nocase });
        // Path mode: the NFA also takes one trailing `/` as optional; the fast way refuses any `/` (stricter).
        if (path && s.endsWith('/')) return !fast(s) || nfa(s);
        return fast(s) === nfa(s);
      }),
      { seed: 11, numRuns: 5000 },
    );
  });

  it('a value just under the 64 KiB bound is matched to its end; one over it is unknown (a deny matches)', async () => {
    const p = await policy(['default: ask', 'rules:', '  - id: env', '    decision: deny', '    tool: mcp__*', '    args: { "**": "*.env" }', '  - id: s', '    decision: deny', '    tool: mcp__*', '    args: { body: "*secret*" }']);
    const body = 'x'.repeat(64 * 1024 - 1);
    expect(decide(p, 'mcp__a__b', { body }).decision).toBe('ask');
    expect(decide(p, 'mcp__a__b', { body: body.slice(4) + '.ENV' }).decision).toBe('deny');
    expect(decide(p, 'mcp__a__b', { body: body + 'xx' }).decision).toBe('deny'); // over 64 KiB: unknown, a deny matches
    expect(decide(p, 'mcp__a__b', { body: 'x.ENV' }).decision).toBe('deny');
  });
});

describe('wildcard keys', () => {
  it('`*` is any one key or element, `**` any depth (ask/deny only); `\\*` is a literal star', async () => {
    const p = await policy([
      'default: ask',
      'rules:',
      '  - id: all-files-in-src',
      '    decision: allow',
      '    tool: mcp__fs__*',
      '    args: { "files.*.path": { path: "src/**" } }',
      '  - id: no-env-anywhere',
      '    decision: deny',
      '    tool: mcp__*',
      '    args: { "**": "*.env" }',
      '  - id: literal-star',
      '    decision: deny',
      '    tool: mcp__star__*',
      "    args: { 'a.\\*': 1 }",
    ]);
    expect(decide(p, 'mcp__fs__x', { files: { a: { path: 'src/a' }, b: { path: 'src/b' } } }).decision).toBe('allow');
    expect(decide(p, 'mcp__fs__x', { files: { a: { path: 'src/a' }, b: { path: 'lib/b' } } }).decision).toBe('ask');
    expect(decide(p, 'mcp__fs__x', { files: {} }).decision).toBe('ask');
    expect(decide(p, 'mcp__fs__x', { files: [{ path: 'src/a' }] }).decision).toBe('allow');
    expect(decide(p, 'mcp__fs__x', { files: [{ path: 'src/a' }, { path: 'src/.ENV' }] })).toMatchObject({ decision: 'deny', rule: 'no-env-anywhere' });
    expect(decide(p, 'mcp__other__y', { deep: [{ x: { y: ['ok', 'prod.env'] } }] }).decision).toBe('deny');
    expect(decide(p, 'mcp__other__y', { deep: [{ x: { y: ['ok', 'prod.txt'] } }] }).decision).toBe('ask');
    expect(decide(p, 'mcp__star__y', { a: { '*': 1 } }).decision).toBe('deny');
    expect(decide(p, 'mcp__star__y', { a: { b: 1 } }).decision).toBe('ask');
  });

  it('`**` in an allow rule or with absent is refused', async () => {
    const allow = await problemsOf(['rules:', '  - id: r', '    decision: allow', '    tool: mcp__a__*', '    args: { "**": "x" }']);
    expect(allow[0]).toMatchObject({ key: 'rules[0].args.**', line: 6 });
    expect(allow[0]!.message).toMatch(/for ask and deny rules/);
    expect((await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__*', '    args: { "a.**": { absent: true } }']))[0]!.message).toMatch(/cannot be combined with absent/);
  });
});

describe('explain and intersection', () => {
  it('the trace names the argument and the value the deciding rule saw', async () => {
    const p = await policy(GITHUB);
    const v = decide(p, 'mcp__github__push', { owner: 'myorg', repo: 'icode-core', options: { force: true } });
    expect(v.trace[0]!.args).toEqual(['options.force = true matched equals true']);
    const a = decide(p, 'mcp__github__x', { owner: 'myorg', repo: 'icode-core' });
    expect(a.trace[0]!.args).toEqual(['owner = "myorg" matched glob "myorg"', 'repo = "icode-core" matched glob "icode-*"']);
  });

  it('a sub-agent chain: an argument deny anywhere in the chain wins over an allow', async () => {
    const parent = await policy(GITHUB);
    const child = await policy(['default: allow', 'rules: []']);
    const req = { tool: 'mcp__github__push', input: { owner: 'myorg', repo: 'icode-x', options: { force: 'TRUE' } }, workspace: WS, home: HOME };
    expect(decideIntersection([child, parent], req)).toMatchObject({ decision: 'deny', rule: 'no-force' });
    expect(decideIntersection([parent, child], req)).toMatchObject({ decision: 'deny', rule: 'no-force' });
    // A child narrower by argument: the parent allows, the child asks.
    const narrow = await policy(['default: allow', 'rules:', '  - id: ask-issues', '    decision: ask', '    tool: mcp__github__*', '    args: { title: "*" }']);
    expect(decideIntersection([parent, narrow], { ...req, input: { owner: 'myorg', repo: 'icode-x', title: 't' } }).decision).toBe('ask');
  });

  it('rule examples with inputs prove args rules when the policy loads', async () => {
    await expect(
      policy(['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__*', '    args: { x: "y*" }', '    examples:', '      match: [{ tool: mcp__a__t, input: { x: yes } }]', '      not_match: [{ tool: mcp__a__t, input: { x: no } }]']),
    ).resolves.toBeDefined();
    const probs = await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__*', '    args: { x: "y*" }', '    examples:', '      match: [{ tool: mcp__a__t, input: { x: no } }]']);
    expect(probs[0]!.message).toMatch(/should match rule "r"/);
  });
});

describe('compile errors are policy errors at file:line:col with the argument key', () => {
  const rule = (args: string[]): string[] => ['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__*', '    args:', ...args.map((a) => '      ' + a)];

  it.each([
    [['x: { regex: "(a)\\\\1" }'], /bad regex.*re2 syntax/],
    [['x: { regex: "(?<=a)b" }'], /bad regex/],
    [['x: "@(a|b)"'], /bad glob.*extglob/],
    [['x: { glob: a, regex: b }'], /one operator per pattern/],
    [['x: { glob: a, absent: true }'], /"absent" stands alone/],
    [['x: { absent: maybe }'], /"absent" must be true or false/],
    [['x: { like: a }'], /unknown operator "like"/],
    [['x: { equals: 1, nocase: true }'], /"nocase" applies to glob and regex only/],
    [['x: []'], /empty list of alternatives/],
    [['x: [[a]]'], /a list inside a list/],
    [['"a..b": 1'], /empty segment/],
    [['x: { path: "" }'], /"path" must be a non-empty glob/],
  ])('%j', async (args, message) => {
    const probs = await problemsOf(rule(args));
    expect(probs).toHaveLength(1);
    expect(probs[0]).toMatchObject({ file: 'args.yaml', line: 7 });
    expect(probs[0]!.key).toMatch(/^rules\[0\]\.args\./);
    expect(probs[0]!.message).toMatch(message);
  });

  it('args on a shell rule, with command patterns, or not a mapping, is refused', async () => {
    expect((await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: shell', '    args: { command: "*rm*" }']))[0]!.message).toMatch(/do not apply to shell commands/);
    expect((await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: Bash', '    args: { command: "*rm*" }']))[0]!.message).toMatch(/do not apply to shell commands/);
    expect((await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__b', '    args: x']))[0]!.message).toMatch(/expected a mapping/);
    expect((await problemsOf(['rules:', '  - id: r', '    decision: deny', '    tool: mcp__a__b', '    args: {}']))[0]!.message).toMatch(/at least one/);
  });

  it('an args rule for every tool never matches the parts of a shell command', async () => {
    const p = await policy(['default: allow', 'rules:', '  - id: r', '    decision: deny', '    tool: "*"', '    args: { content: "*KEY*" }']);
    expect(decide(p, 'write', { path: 'a', content: 'a KEY' }).decision).toBe('deny');
    expect(decide(p, 'shell', { command: 'echo KEY > a' }).decision).toBe('allow');
  });
});
