/**
 * Sub-agent definitions: the built-ins (`explorer`, `librarian`, `fixer`) and the user's, read from
 * `.icode/agents/*.md` and `.claude/agents/*.md` (Claude Code's files, read as they are). A definition
 * is a markdown file whose YAML front matter says who the agent is and the body is its system prompt:
 *
 *   ---
 *   name: reviewer
 *   description: Reviews a diff
 *   tools: Read, Grep, Glob          # or a YAML list; Claude Code's names are accepted
 *   model: inherit                   # or provider/model; a bare name (sonnet) runs on the parent's model
 *   policy: builtin:readonly         # icode's own: builtin:NAME, a file, or inline rules
 *   max_turns: 20                    # optional budgets and delegation
 *   max_tokens: 200000
 *   timeout_ms: 600000
 *   can_delegate: false
 *   max_depth: 1
 *   ---
 *   You review diffs…
 *
 * A bad definition is an AgentDefinitionError naming `file:line:col` (exit 2, like a bad policy).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify, type Node } from 'yaml';
import { loadPolicy, loadPolicyText, type CompiledPolicy } from '../../../policies/index.js';
import { FS_READ_TOOLS } from '../../../policies/tools.js';
import { InputError } from '../../errors.js';

/** A sub-agent as the task tool runs it. */
export interface AgentDefinition {
  name: string;
  description: string;
  /** Tool names as written (aliases allowed); null: every tool of its parent. */
  tools: string[] | null;
  model: string | null;
  /** Its own policy (intersected with its parent's), or null: its parent's alone. */
  policy: CompiledPolicy | null;
  /** Builds a policy from the task prompt (the fixer: writes limited to the paths the task names). */
  policyForTask?: (prompt: string) => Promise<CompiledPolicy>;
  /** The system prompt. */
  system: string;
  maxTurns: number | null;
  maxTokens: number | null;
  timeoutMs: number | null;
  /** May it call `task` itself? (default no) */
  canDelegate: boolean;
  /** Deepest nesting below which it may still delegate (default 1: only the main agent delegates). */
  maxDepth: number;
  /** `builtin` or the file it came from. */
  source: string;
}

export class AgentDefinitionError extends InputError {
  override readonly name = 'AgentDefinitionError';
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const KEYS = new Set(['name', 'description', 'tools', 'model', 'policy', 'max_turns', 'max_tokens', 'timeout_ms', 'max_depth', 'can_delegate', 'color']);

const READ_TOOLS = [...FS_READ_TOOLS];

const READONLY_AGENT_POLICY = (name: string): string => `version: 1
name: agent-${name}
description: the ${name} sub-agent reads inside the workspace; nothing else
default: deny
rules:
  - id: ${name}.read
    decision: allow
    reason: a ${name} reads inside the workspace
    tool: [read, glob, grep, list]
    outside_workspace: false
  - id: ${name}.web
    decision: allow
    reason: a ${name} may fetch documentation (the parent's policy still decides)
    tool: [web_fetch]
`;

/** Words of a task that look like workspace paths (`src/a.ts`, `README.md`). */
export function pathsNamedIn(prompt: string): string[] {
  const out = new Set<string>();
  for (const m of prompt.matchAll(/[A-Za-z0-9_.@-]*[A-Za-z0-9_@-](?:\/[A-Za-z0-9_.@-]+)*\.[A-Za-z0-9]{1,10}|[A-Za-z0-9_.@-]+(?:\/[A-Za-z0-9_.@-]+)+/g)) {
    const p = m[0].replace(/^\.\//, '');
    // Only relative paths inside the workspace: no `..` segments, no absolute paths.
    if (p.split('/').some((s) => s === '..' || s === '') || isAbsolute(p)) continue;
    out.add(p);
  }
  return [...out].slice(0, 50);
}

async function fixerPolicy(prompt: string): Promise<CompiledPolicy> {
  const paths = pathsNamedIn(prompt);
  const text = `version: 1
name: agent-fixer
description: the fixer reads the workspace and changes only the files its task names
default: deny
rules:
  - id: fixer.read
    decision: allow
    reason: a fixer reads inside the workspace
    tool: [read, glob, grep, list]
    outside_workspace: false
${
  paths.length
    ? `  - id: fixer.named-paths
    decision: allow
    reason: a file its task names
    tool: [write, edit]
    outside_workspace: false
    paths: ${JSON.stringify(paths)}
`
    : ''
}  - id: fixer.shell
    decision: allow
    reason: shell commands are decided by the parent's policy
    tool: [shell]
`;
  return loadPolicyText(text, `<fixer task policy>`);
}

/** The built-in definitions (their policies compiled once). */
export async function builtinDefinitions(): Promise<AgentDefinition[]> {
  const base = { model: null, maxTurns: null, maxTokens: null, timeoutMs: null, canDelegate: false, maxDepth: 1, source: 'builtin' };
  return [
    {
      ...base,
      name: 'explorer',
      description: 'Reads and searches the workspace (read, glob, grep, list) and reports what it found. Read-only.',
      tools: READ_TOOLS,
      policy: await loadPolicyText(READONLY_AGENT_POLICY('explorer'), '<explorer policy>'),
      system:
        'You are an explorer sub-agent. Answer the task by reading and searching the workspace with read, glob, grep and list. You cannot change anything. End with a concise report of what you found, naming files and lines.',
    },
    {
      ...base,
      name: 'librarian',
      description: 'Looks up documentation and dependency sources (read-only; web_fetch when available).',
      tools: [...READ_TOOLS, 'web_fetch'],
      policy: await loadPolicyText(READONLY_AGENT_POLICY('librarian'), '<librarian policy>'),
      system:
        'You are a librarian sub-agent. Find the documentation or dependency source that answers the task (node_modules, docs, web_fetch when you have it). You cannot change anything. End with the answer and where you found it.',
    },
    {
      ...base,
      name: 'fixer',
      description: 'Changes the files its task names (read, edit, write, shell); writes to any other file are refused.',
      tools: [...READ_TOOLS, 'edit', 'write', 'shell'],
      policy: null,
      policyForTask: fixerPolicy,
      system:
        'You are a fixer sub-agent. Make the change the task asks for, touching only the files it names (writes to other files are refused). Verify it if you can, then report what you changed.',
    },
  ];
}

interface Located {
  file: string;
  /** Lines before the front matter's first line (the opening `---`). */
  lineOffset: number;
  lc: LineCounter;
}

function fail(at: Located, node: Node | null | undefined, key: string, message: string): never {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = at.lc.linePos(offset);
  throw new AgentDefinitionError(`${at.file}:${line + at.lineOffset}:${col}: ${key ? key + ': ' : ''}${message}`);
}

/** Parses one definition file (the policy it names is loaded, relative to the file). */
export async function parseDefinition(file: string, text: string): Promise<AgentDefinition> {
  const lines = text.split('\n');
  if (lines[0]?.trim() !== '---') throw new AgentDefinitionError(`${file}:1:1: expected YAML front matter opening with ---`);
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
  if (end < 0) throw new AgentDefinitionError(`${file}:1:1: the front matter opened by --- is never closed`);
  const yamlText = lines.slice(1, end).join('\n');
  const at: Located = { file, lineOffset: 1, lc: new LineCounter() };
  const doc = parseDocument(yamlText, { lineCounter: at.lc, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = at.lc.linePos(err.pos[0]);
    throw new AgentDefinitionError(`${file}:${line + at.lineOffset}:${col}: invalid YAML: ${err.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) fail(at, root as Node | null, '', 'the front matter must be a mapping of keys');
  const nodes = new Map<string, Node | null>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!KEYS.has(key)) fail(at, pair.key as Node, key, `unknown key (known: ${[...KEYS].join(', ')})`);
    nodes.set(key, (pair.value as Node | null) ?? null);
  }
  const str = (key: string, required: boolean): string | null => {
    const n = nodes.get(key);
    if (n === undefined || n === null) {
      if (required) fail(at, root, key, 'is required');
      return null;
    }
    if (!isScalar(n) || typeof n.value !== 'string' || !n.value.trim()) fail(at, n, key, 'must be a non-empty string');
    return (n.value as string).trim();
  };
  const int = (key: string, min: number): number | null => {
    const n = nodes.get(key);
    if (n === undefined || n === null) return null;
    if (!isScalar(n) || typeof n.value !== 'number' || !Number.isInteger(n.value) || n.value < min) fail(at, n, key, `must be a whole number >= ${min}`);
    return n.value as number;
  };
  const name = str('name', true)!;
  if (!NAME.test(name)) fail(at, nodes.get('name'), 'name', 'must be letters, digits, - or _ (at most 64)');
  // "main" is the top-level agent's name in policies: a sub-agent may not take its rules.
  if (name.toLowerCase() === 'main') fail(at, nodes.get('name'), 'name', '"main" is the top-level agent; choose another name');
  const description = str('description', true)!;

  let tools: string[] | null = null;
  const tn = nodes.get('tools');
  if (tn !== undefined && tn !== null) {
    if (isScalar(tn) && typeof tn.value === 'string') tools = tn.value.split(',').map((s) => s.trim()).filter(Boolean);
    else if (isSeq(tn) && tn.items.every((i) => isScalar(i) && typeof i.value === 'string')) tools = tn.items.map((i) => String((i as { value: string }).value).trim());
    else fail(at, tn, 'tools', 'must be a comma-separated string or a list of tool names');
    for (const t of tools!) if (!/^[A-Za-z0-9_*-]{1,64}$/.test(t)) fail(at, tn, 'tools', `"${t}" is not a tool name`);
  }
  const model = str('model', false);

  let policy: CompiledPolicy | null = null;
  const pn = nodes.get('policy');
  if (pn !== undefined && pn !== null) {
    try {
      if (isScalar(pn) && typeof pn.value === 'string') {
        const spec = pn.value.trim();
        policy = await loadPolicy(spec.startsWith('builtin:') || isAbsolute(spec) ? spec : resolve(dirname(file), spec));
      } else if (isMap(pn)) {
        const inline = pn.toJSON() as Record<string, unknown>;
        const full = { version: 1, name: `agent-${name}`, default: 'deny', ...inline };
        policy = await loadPolicyText(stringify(full), `${file}#policy`);
      } else fail(at, pn, 'policy', 'must be builtin:NAME, a policy file, or inline rules');
    } catch (e) {
      if (e instanceof AgentDefinitionError) throw e;
      const { line, col } = at.lc.linePos(pn.range?.[0] ?? 0);
      throw new AgentDefinitionError(`${file}:${line + at.lineOffset}:${col}: policy: ${(e as Error).message.split('\n').join('; ')}`);
    }
  }
  const cd = nodes.get('can_delegate');
  if (cd !== undefined && cd !== null && !(isScalar(cd) && typeof cd.value === 'boolean')) fail(at, cd, 'can_delegate', 'must be true or false');
  const canDelegate = cd !== undefined && cd !== null && (cd as { value: boolean }).value === true;
  const maxDepth = int('max_depth', 1) ?? (canDelegate ? 2 : 1);
  return {
    name,
    description,
    tools,
    model: model === 'inherit' ? null : model,
    policy,
    system: lines.slice(end + 1).join('\n').trim(),
    maxTurns: int('max_turns', 1),
    maxTokens: int('max_tokens', 1),
    timeoutMs: int('timeout_ms', 1),
    canDelegate,
    maxDepth,
    source: file,
  };
}

/** Folders searched for user definitions, in order (a later one overrides an earlier name). */
export function definitionDirs(workspace: string): string[] {
  return [join(workspace, '.claude', 'agents'), join(workspace, '.icode', 'agents')];
}

/** The built-ins, then the user's definitions from the workspace (a user definition may replace a built-in). */
export async function loadDefinitions(workspace: string): Promise<Map<string, AgentDefinition>> {
  const out = new Map<string, AgentDefinition>();
  for (const d of await builtinDefinitions()) out.set(d.name, d);
  for (const dir of definitionDirs(workspace)) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.md')).sort()) {
      const file = join(dir, f);
      const def = await parseDefinition(file, readFileSync(file, 'utf8'));
      out.set(def.name, def);
    }
  }
  return out;
}
