/**
 * Loading a policy: read YAML (keeping positions) → validate against the JSON Schema (ajv) → compile
 * rules → compose `extends` → prove the rules' examples. Any problem throws PolicyError; a bad policy
 * never loads.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { MAX_HOOK_FILE_BYTES, MAX_POLICY_FILE_BYTES, readRegularFileSync } from '../pure/read-bounded.js';
import { packageRoot } from '../package-root.js';
import { initShellParser } from '../shell/analyze.js';
import { ALWAYS_PROTECTED, type Decision } from '../types.js';
import { CompiledPolicy, type McpServerLimits, type PolicySettings } from './compiled.js';
import { asList, type PolicyDoc, type RuleDoc, type SettingsDoc } from './doc.js';
import { PolicyError, PositionFinder, type PathSegment, type PolicyProblem } from './errors.js';
import { checkExamples } from './examples.js';
import { compileRule, RuleCompileError, type CompiledRule } from './rule.js';

export { PolicyError };

/** Paths no policy can make writable. */
export { ALWAYS_PROTECTED };

const BUILTIN_PREFIX = 'builtin:';

export interface LoadOptions {
  /** Home directory for `~` in patterns (default: os.homedir()). */
  home?: string;
  /**
   * A directory remembering policies whose examples were already proven (keyed by the hash of every
   * layer's content, examples included, and icode's version): a short-lived process (a hook) skips
   * proving them again. Rules are compiled and enforced either way; only the self-test is skipped.
   */
  provenCache?: string;
}

interface Layer {
  source: string;
  doc: PolicyDoc;
  rules: CompiledRule[];
}

let ajvValidate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

function validator(): ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } {
  if (!ajvValidate) {
    const schema = JSON.parse(readFileSync(join(packageRoot(), 'policies/schema/policy.schema.json'), 'utf8')) as object;
    // The schema is icode's own (shipped, tested): checking it against JSON Schema's meta-schema in
    // every process cost ~0.5 s of each cold start (measured), so it is not (validateSchema: false).
    ajvValidate = new Ajv({ allErrors: true, strict: false, verbose: true, validateSchema: false }).compile(schema);
  }
  return ajvValidate;
}

export function builtinPolicyNames(): string[] {
  return ['readonly', 'workspace-write', 'untrusted', 'jailed', 'safety'];
}

/** Load `builtin:NAME` or a policy file. */
export async function loadPolicy(spec: string, opts: LoadOptions = {}): Promise<CompiledPolicy> {
  await initShellParser();
  const layers = loadLayers(spec, opts.home ?? homedir(), []);
  const policy = compose(spec, layers, opts.home ?? homedir());
  const provenKey = opts.provenCache ? provenMarker(opts.provenCache, layers, opts.home ?? homedir()) : null;
  if (provenKey && existsSync(provenKey)) return policy;
  // Each layer's examples are proven against the policy as composed up to that layer.
  for (let i = 0; i < layers.length; i++) {
    const upTo = i === layers.length - 1 ? policy : compose(layers[i].source, layers.slice(0, i + 1), opts.home ?? homedir());
    const problems = checkExamples(upTo, layers[i].rules, finderFor(layers[i].source));
    if (problems.length) throw new PolicyError(problems);
  }
  if (provenKey) {
    try {
      mkdirSync(dirname(provenKey), { recursive: true, mode: 0o700 });
      writeFileSync(provenKey, '');
    } catch {
      // A cache that cannot be written only costs the next process the proof.
    }
  }
  return policy;
}

function provenMarker(dir: string, layers: readonly Layer[], home: string): string {
  let version = '';
  try {
    version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    /* unversioned: the content still keys it */
  }
  const key = createHash('sha256').update(canonicalJson({ version, home, layers: layers.map((l) => ({ source: l.source, doc: l.doc })) })).digest('hex');
  return join(dir, `${key}.proven`);
}

/** Load a policy from text (tests, stdin). `source` names it in errors. */
export async function loadPolicyText(text: string, source = '<policy>', opts: LoadOptions = {}): Promise<CompiledPolicy> {
  await initShellParser();
  textOverrides.set(source, text);
  try {
    return await loadPolicy(source, opts);
  } finally {
    textOverrides.delete(source);
  }
}

const textOverrides = new Map<string, string>();
const finders = new Map<string, PositionFinder>();

function finderFor(source: string): PositionFinder {
  const f = finders.get(source);
  if (!f) throw new Error(`no positions for ${source}`);
  return f;
}

function sourcePath(spec: string, fromDir: string): string {
  if (spec.startsWith(BUILTIN_PREFIX)) {
    const name = spec.slice(BUILTIN_PREFIX.length);
    if (!builtinPolicyNames().includes(name)) throw new Error(`unknown built-in policy ${spec} (known: ${builtinPolicyNames().map((n) => BUILTIN_PREFIX + n).join(', ')})`);
    return spec;
  }
  if (textOverrides.has(spec)) return spec;
  return resolve(fromDir, spec);
}

function readSource(source: string): string {
  const override = textOverrides.get(source);
  if (override !== undefined) return override;
  if (source.startsWith(BUILTIN_PREFIX)) {
    return readFileSync(join(packageRoot(), 'policies/builtin', source.slice(BUILTIN_PREFIX.length) + '.yaml'), 'utf8');
  }
  // A planted /dev/zero, FIFO, directory or 50 MB file is a clear error, not a hang (read-bounded.ts).
  return readRegularFileSync(source, MAX_POLICY_FILE_BYTES, 'policy');
}

/** Layers in composition order: the deepest parent first, the policy itself last. */
function loadLayers(spec: string, home: string, stack: string[], fromDir = process.cwd()): Layer[] {
  const source = sourcePath(spec, fromDir);
  const identity = source.startsWith(BUILTIN_PREFIX) || textOverrides.has(source) ? source : safeRealpath(source);
  if (stack.includes(identity)) {
    throw new PolicyError([{ file: source, line: 1, col: 1, key: 'extends', message: `extends cycle: ${[...stack, identity].join(' → ')}` }]);
  }
  let text: string;
  try {
    text = readSource(source);
  } catch (e) {
    throw new PolicyError([{ file: source, line: 0, col: 0, key: '', message: `cannot read policy: ${(e as Error).message}` }]);
  }
  const { doc, finder } = parseAndValidate(source, text);
  finders.set(source, finder);
  const baseDir = source.startsWith(BUILTIN_PREFIX) || textOverrides.has(source) ? process.cwd() : dirname(source);
  const parents: Layer[] = [];
  asList(doc.extends).forEach((parent, i) => {
    try {
      for (const layer of loadLayers(parent, home, [...stack, identity], baseDir)) {
        if (!parents.some((p) => p.source === layer.source)) parents.push(layer);
      }
    } catch (e) {
      if (e instanceof PolicyError) throw e;
      const at: PathSegment[] = Array.isArray(doc.extends) ? ['extends', i] : ['extends'];
      throw new PolicyError([finder.problem(at, (e as Error).message)]);
    }
  });
  const problems: PolicyProblem[] = hookDeclProblems(doc, finder, stack.length === 0 ? baseDir : null);
  const rules: CompiledRule[] = [];
  const seen = new Map<string, number>();
  (doc.rules ?? []).forEach((r: RuleDoc, i: number) => {
    if (seen.has(r.id)) problems.push(finder.problem(['rules', i, 'id'], `duplicate rule id "${r.id}" (first used by rules[${seen.get(r.id)}])`));
    seen.set(r.id, i);
    try {
      rules.push(compileRule(r, source, home));
    } catch (e) {
      if (e instanceof RuleCompileError) {
        const at: PathSegment[] = e.index === null ? ['rules', i, e.field] : ['rules', i, e.field, e.index];
        problems.push(finder.problem(at, e.message));
      } else throw e;
    }
  });
  if (problems.length) throw new PolicyError(problems);
  return [...parents, { source, doc, rules }];
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function parseAndValidate(source: string, text: string): { doc: PolicyDoc; finder: PositionFinder } {
  const lines = new LineCounter();
  const yamlDoc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const finder = new PositionFinder(source, yamlDoc, lines);
  if (yamlDoc.errors.length) {
    throw new PolicyError(
      yamlDoc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { file: source, line, col, key: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = yamlDoc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // A billion-laughs document: too many alias expansions (the yaml package's bound).
    throw new PolicyError([{ file: source, line: 1, col: 1, key: '', message: `YAML: ${(e as Error).message.split('\n')[0]}` }]);
  }
  const validate = validator();
  if (!validate(data)) throw new PolicyError(schemaProblems(validate.errors ?? [], finder));
  return { doc: data as PolicyDoc, finder };
}

/** One readable problem per offending value; anyOf noise is folded into "expected …". */
function schemaProblems(errors: ErrorObject[], finder: PositionFinder): PolicyProblem[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const problems: PolicyProblem[] = [];
  for (const [instancePath, errs] of byPath) {
    // A deeper error explains a parent's anyOf failure better than the parent does.
    const deeper = [...byPath.keys()].some((k) => k !== instancePath && k.startsWith(instancePath + '/'));
    const path: PathSegment[] = instancePath === '' ? [] : instancePath.slice(1).split('/').map(decodePointer);
    const specific = errs.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if');
    if (specific.length === 0 && deeper) continue;
    for (const e of specific.length ? uniqueMessages(specific) : errs.slice(0, 1)) {
      problems.push(problemFor(e, path, finder));
    }
  }
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

function uniqueMessages(errs: ErrorObject[]): ErrorObject[] {
  const types = errs.filter((e) => e.keyword === 'type');
  const others = errs.filter((e) => e.keyword !== 'type');
  // Several failed `type` branches of one anyOf read better as one "expected a or b".
  if (types.length > 1) {
    const merged: ErrorObject = { ...types[0], params: { type: [...new Set(types.map((t) => String(t.params.type)))].join(' or ') } };
    return [...others, merged];
  }
  return errs;
}

function decodePointer(seg: string): PathSegment {
  const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
  return /^[0-9]+$/.test(s) ? Number(s) : s;
}

function problemFor(e: ErrorObject, path: PathSegment[], finder: PositionFinder): PolicyProblem {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperty':
    case 'additionalProperties':
      return finder.problem(path, `unknown key "${String(p.additionalProperty)}"; expected one of: ${allowedKeys(e)}`, String(p.additionalProperty));
    case 'required':
      return finder.problem(path, `missing required key "${String(p.missingProperty)}"`);
    case 'enum':
      return finder.problem(path, `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`);
    case 'const':
      return finder.problem(path, `expected ${JSON.stringify(p.allowedValue)}`);
    case 'type':
      return finder.problem(path, `expected ${String(p.type).replace('array', 'a list').replace('object', 'a mapping')}`);
    case 'minLength':
      return finder.problem(path, 'expected a non-empty string');
    case 'minItems':
      return finder.problem(path, 'expected a non-empty list');
    case 'pattern':
      return finder.problem(path, `does not match ${String(p.pattern)}`);
    case 'anyOf':
      return finder.problem(path, 'expected a string or a list of strings');
    default:
      return finder.problem(path, e.message ?? e.keyword);
  }
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props).join(', ') : '(see the schema)';
}

const DEFAULT_SETTINGS: PolicySettings = {
  jail: 'bwrap',
  network: false,
  env: [],
  allowHardlinks: false,
  protectedPaths: [...ALWAYS_PROTECTED],
  shellTimeoutMs: 120_000,
  approvalTimeoutMs: 300_000,
  mcp: {},
  redactSecrets: false,
};

function compose(source: string, layers: Layer[], home: string): CompiledPolicy {
  const settings: PolicySettings = { ...DEFAULT_SETTINGS, env: [], protectedPaths: [...ALWAYS_PROTECTED], mcp: {} };
  let defaultDecision: Decision = 'ask';
  const hooks: Record<string, unknown[]> = {};
  for (const { doc } of layers) {
    if (doc.default) defaultDecision = doc.default;
    const s = doc.settings ?? {};
    if (s.jail) settings.jail = s.jail;
    if (s.network !== undefined) settings.network = s.network;
    if (s.allow_hardlinks !== undefined) settings.allowHardlinks = s.allow_hardlinks;
    if (s.shell_timeout_ms !== undefined) settings.shellTimeoutMs = s.shell_timeout_ms;
    if (s.approval_timeout_ms !== undefined) settings.approvalTimeoutMs = s.approval_timeout_ms;
    for (const [server, m] of Object.entries(s.mcp ?? {})) {
      const limits = mcpLimits(settings.mcp[server]?.limits, m.limits);
      settings.mcp[server] = { network: m.network ?? settings.mcp[server]?.network ?? false, readOnly: [...new Set([...(settings.mcp[server]?.readOnly ?? []), ...(m.read_only ?? [])])], ...(limits ? { limits } : {}) };
      const workspace = m.workspace ?? settings.mcp[server]?.workspace;
      if (workspace) settings.mcp[server]!.workspace = workspace;
    }
    if (s.redact_secrets !== undefined) settings.redactSecrets = s.redact_secrets;
    for (const e of s.env ?? []) if (!settings.env.includes(e)) settings.env.push(e);
    for (const p of s.protected_paths ?? []) if (!settings.protectedPaths.includes(p)) settings.protectedPaths.push(p);
    for (const [point, list] of Object.entries(doc.hooks ?? {})) {
      hooks[point] = [...(hooks[point] ?? []), ...(Array.isArray(list) ? list : [list])];
    }
  }
  if (settings.redactSecrets) addSecretRedactor(hooks);
  const guard = compileRule(
    {
      id: 'builtin:protected-paths',
      decision: 'deny',
      reason: "protected path: git's hooks, config, commondir, worktrees and modules, .icode, other agents' settings and hooks (.claude, .gemini, .codex, MCP server lists), and the policy's protected_paths are never writable",
      tool: ['write', 'edit'],
      paths: settings.protectedPaths,
    },
    'builtin',
    home,
  );
  const rules = [...layers.flatMap((l) => l.rules), guard];
  const top = layers[layers.length - 1];
  const name = top.doc.name ?? source;
  const hash = createHash('sha256')
    .update(canonicalJson({ default: defaultDecision, settings: hashedSettings(settings), hooks, rules: rules.map((r) => ({ ...r.doc, examples: undefined })) }))
    .digest('hex');
  return new CompiledPolicy(source, name, rules, defaultDecision, settings, hooks, hash, home);
}

/** A server's limits: a layer's fields over the ones below it (undefined when no layer sets any). */
function mcpLimits(below: McpServerLimits | undefined, doc: NonNullable<NonNullable<SettingsDoc['mcp']>[string]['limits']> | undefined): McpServerLimits | undefined {
  if (!doc) return below;
  const out: McpServerLimits = { ...below };
  if (doc.memory_bytes !== undefined) out.memoryBytes = doc.memory_bytes;
  if (doc.file_size_bytes !== undefined) out.fileSizeBytes = doc.file_size_bytes;
  if (doc.cpu_seconds !== undefined) out.cpuSeconds = doc.cpu_seconds;
  if (doc.processes !== undefined) out.processes = doc.processes;
  return out;
}

/** Settings as hashed: an empty `mcp` map is left out, so policies without it keep their hashes. */
function hashedSettings(s: PolicySettings): unknown {
  return Object.keys(s.mcp).length > 0 ? s : { ...s, mcp: undefined };
}

/**
 * `settings.redact_secrets: true` runs the secret_redactor hook on every tool result, once: a policy
 * that also declares it itself keeps its own declaration (and options).
 */
function addSecretRedactor(hooks: Record<string, unknown[]>): void {
  const post = hooks.post_tool ?? [];
  const declared = post.some((h) => typeof h === 'object' && h !== null && (h as { builtin?: unknown }).builtin === 'secret_redactor');
  if (!declared) hooks.post_tool = [...post, { builtin: 'secret_redactor' }];
}

/** JSON with sorted keys and no undefined values: the same policy hashes the same everywhere. */
function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, x]) => JSON.stringify(k) + ':' + canonicalJson(x)).join(',') + '}';
}

/**
 * Hook declarations that cannot load, found when the policy loads (so `policy check` fails and a run
 * refuses to start, instead of a pipeline that denies every call): not exactly one of script, builtin,
 * command; a script that is not a readable regular file (checked for the top-level policy, whose
 * directory scripts are resolved against).
 */
function hookDeclProblems(doc: PolicyDoc, finder: PositionFinder, scriptDir: string | null): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const [point, value] of Object.entries((doc.hooks ?? {}) as Record<string, unknown>)) {
    const list = Array.isArray(value) ? value : [value];
    list.forEach((decl, i) => {
      if (decl === null || typeof decl !== 'object') return;
      const at: PathSegment[] = Array.isArray(value) ? ['hooks', point, i] : ['hooks', point];
      const d = decl as Record<string, unknown>;
      const given = (['script', 'builtin', 'command'] as const).filter((k) => d[k] !== undefined);
      if (given.length !== 1) {
        problems.push(finder.problem(at, given.length ? `give exactly one of script, builtin, command (found ${given.join(' and ')})` : 'give one of script, builtin, command'));
        return;
      }
      if (scriptDir !== null && typeof d.script === 'string') {
        const file = resolve(scriptDir, d.script);
        try {
          readRegularFileSync(file, MAX_HOOK_FILE_BYTES, 'hook script');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          problems.push(finder.problem([...at, 'script'], code ? `cannot read hook script ${file}: ${code}` : (e as Error).message));
        }
      }
    });
  }
  return problems;
}
