/**
 * `icode policy import-claude`: a Claude Code settings.json permission block → an icode policy.
 * What cannot be translated faithfully is reported, never dropped silently.
 */
import { stringify } from 'yaml';
import type { PolicyDoc, RuleDoc } from './compiler/doc.js';
import { PolicyError } from './compiler/errors.js';
import { FS_READ_TOOLS, FS_WRITE_TOOLS } from './tools.js';
import type { Decision } from './types.js';

export interface Untranslated {
  rule: string;
  why: string;
}

export interface ClaudeImport {
  policy: PolicyDoc;
  yaml: string;
  translated: number;
  untranslated: Untranslated[];
}

// The policy's own lists of the path tools (policies/tools.ts), copied so that rules get plain arrays.
const READ_TOOLS = [...FS_READ_TOOLS];
const EDIT_TOOLS = [...FS_WRITE_TOOLS];

/** Claude Code tool names → icode tools (rules without a specifier). */
const SIMPLE_TOOLS: Readonly<Record<string, string[]>> = {
  Bash: ['shell'],
  Read: READ_TOOLS,
  Glob: ['glob'],
  Grep: ['grep'],
  LS: ['list'],
  Edit: EDIT_TOOLS,
  MultiEdit: EDIT_TOOLS,
  Write: EDIT_TOOLS,
  WebFetch: ['web_fetch'],
  WebSearch: ['web_search'],
  Task: ['task'],
  TodoWrite: ['todo_write'],
};

export function importClaudeSettings(text: string, file: string): ClaudeImport {
  let settings: unknown;
  try {
    settings = JSON.parse(text);
  } catch (e) {
    throw new PolicyError([{ file, line: 0, col: 0, key: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  const perms = (settings as { permissions?: unknown } | null)?.permissions;
  if (!perms || typeof perms !== 'object') {
    throw new PolicyError([{ file, line: 0, col: 0, key: 'permissions', message: 'no "permissions" object found' }]);
  }
  const p = perms as Record<string, unknown>;
  const untranslated: Untranslated[] = [];
  const rules: RuleDoc[] = [];
  let counter = 0;
  for (const decision of ['deny', 'ask', 'allow'] as const) {
    const list = p[decision];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      untranslated.push({ rule: `permissions.${decision}`, why: 'expected a list of rules' });
      continue;
    }
    for (const entry of list) {
      if (typeof entry !== 'string') {
        untranslated.push({ rule: JSON.stringify(entry), why: 'a rule must be a string' });
        continue;
      }
      const r = translateRule(entry, decision);
      if ('why' in r) untranslated.push({ rule: `${decision}: ${entry}`, why: r.why });
      else rules.push({ id: `claude.${decision}.${++counter}`, ...r.rule });
    }
  }
  let defaultDecision: Decision = 'ask';
  switch (p.defaultMode) {
    case undefined:
    case 'default':
      break;
    case 'acceptEdits':
      rules.push({ id: `claude.accept-edits`, decision: 'allow', reason: 'imported from Claude Code: defaultMode acceptEdits', tool: EDIT_TOOLS, outside_workspace: false });
      break;
    case 'bypassPermissions':
      defaultDecision = 'allow';
      untranslated.push({ rule: 'defaultMode: bypassPermissions', why: 'translated as default: allow; consider extends: builtin:jailed so the jail still confines every call' });
      break;
    case 'plan':
      untranslated.push({ rule: 'defaultMode: plan', why: 'plan mode has no icode equivalent; consider extends: builtin:readonly' });
      break;
    default:
      untranslated.push({ rule: `defaultMode: ${String(p.defaultMode)}`, why: 'unknown mode' });
  }
  for (const key of Object.keys(p)) {
    if (['allow', 'ask', 'deny', 'defaultMode'].includes(key)) continue;
    const why = key === 'additionalDirectories'
      ? 'icode confines every tool to one workspace root; extra directories cannot be granted'
      : 'no icode equivalent';
    untranslated.push({ rule: `permissions.${key}: ${JSON.stringify(p[key])}`, why });
  }
  // Every other setting is reported, never dropped silently.
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
    if (key === 'permissions' || key === '$schema') continue;
    const why =
      key === 'hooks'
        ? 'Claude Code hooks are not imported here; declare them as command hooks in the policy (docs/hooks.md)'
        : key === 'env'
          ? 'environment variables are not part of a policy; pass names into the jail with settings.env'
          : 'no icode equivalent';
    untranslated.push({ rule: `${key}: ${JSON.stringify(value)}`, why });
  }
  // Claude Code lets the agent read inside the project without asking.
  rules.push({ id: 'claude.read-workspace', decision: 'allow', reason: "imported from Claude Code: reading inside the project is Claude Code's default", tool: READ_TOOLS, outside_workspace: false });
  const policy: PolicyDoc = { version: 1, name: `imported from ${file}`, default: defaultDecision, rules };
  const header = [
    `# Imported from Claude Code settings: ${file}`,
    '# Precedence is deny > ask > allow, as in Claude Code.',
    ...(untranslated.length ? ['# Not translated:', ...untranslated.map((u) => `#   ${u.rule} — ${u.why}`)] : []),
  ].join('\n');
  return { policy, yaml: `${header}\n${stringify(policy, { lineWidth: 0, aliasDuplicateObjects: false })}`, translated: rules.length - 1, untranslated };
}

type Translation = { rule: Omit<RuleDoc, 'id'> } | { why: string };

function translateRule(entry: string, decision: Decision): Translation {
  const m = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\((.*)\))?$/s.exec(entry.trim());
  if (!m) return { why: 'not of the form Tool or Tool(specifier)' };
  const [, tool, spec] = m;
  const reason = `imported from Claude Code: ${entry}`;
  if (tool.startsWith('mcp__')) {
    if (spec !== undefined) return { why: 'MCP rules take no specifier' };
    const parts = tool.split('__');
    const name = parts.length === 2 || (parts.length === 3 && parts[2] === '*') ? `mcp__${parts[1]}__*` : tool;
    return { rule: { decision, reason, tool: name } };
  }
  const tools = SIMPLE_TOOLS[tool];
  if (!tools) return { why: `unknown Claude Code tool "${tool}"` };
  if (spec === undefined || spec === '*' || spec === '') return { rule: { decision, reason, tool: tools } };
  if (tool === 'Bash') return { rule: { decision, reason, command: bashPattern(spec) } };
  if (tool === 'WebFetch') {
    const d = /^domain:(.+)$/.exec(spec);
    return d ? { rule: { decision, reason, tool: tools, host: d[1].trim() } } : { why: 'WebFetch specifiers other than domain:… are not supported' };
  }
  if (tools === READ_TOOLS || tools === EDIT_TOOLS || tool === 'Glob' || tool === 'Grep' || tool === 'LS') {
    return { rule: { decision, reason, tool: tools, paths: pathPattern(spec) } };
  }
  return { why: `${tool}(…) specifiers have no icode equivalent` };
}

/**
 * Claude Code's `Bash(prefix:*)` is a prefix match on the command text: `npm run test:*` allows
 * `npm run test`, `npm run test:unit` and `npm run test -- -u`, so the last word becomes a glob
 * (`npm run test* **`). `git diff *` is the same prefix on whole words; anything else is exact.
 */
function bashPattern(spec: string): string {
  const s = spec.trim();
  if (s.endsWith(':*')) {
    const prefix = s.slice(0, -2);
    if (prefix.endsWith(' ') || prefix === '') return `${prefix.trim()} **`.trim();
    return `${prefix}* **`;
  }
  if (s.endsWith(' *')) return `${s.slice(0, -2).trim()} **`;
  return s;
}

/**
 * Claude Code path specifiers are gitignore-style: `//abs` is absolute, `~/x` is in home, `/x` is
 * relative to the project root, `./x` and `x` to the working directory (both: the workspace), and a
 * pattern without a slash matches at any depth.
 */
function pathPattern(spec: string): string {
  const s = spec.trim();
  if (s.startsWith('//')) return s.slice(1);
  if (s.startsWith('~/') || s === '~') return s;
  let rel = s.startsWith('/') ? s.slice(1) : s.replace(/^\.\//, '');
  if (!rel.includes('/') && rel !== '**') rel = `**/${rel}`;
  return rel;
}
