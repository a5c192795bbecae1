/**
 * Types shared by the policy compiler and everything that consumes its verdicts.
 * This file imports nothing: sandbox/ and engine/ may import it freely.
 */

export type Decision = 'allow' | 'ask' | 'deny';

/** deny > ask > allow, whatever the order of rules in a file. */
export const DECISION_RANK: Readonly<Record<Decision, number>> = Object.freeze({ allow: 0, ask: 1, deny: 2 });

export function strictest(a: Decision, b: Decision): Decision {
  return DECISION_RANK[a] >= DECISION_RANK[b] ? a : b;
}

/** One tool call as the policy sees it. `tool` is the canonical name (see policies/tools.ts). */
export interface ToolRequest {
  tool: string;
  input: Record<string, unknown>;
  /** Agent name; the top-level agent is "main". */
  agent?: string;
  /** Absolute path of the workspace root. */
  workspace: string;
  /** Home directory used to expand `~` (defaults to os.homedir()). */
  home?: string;
}

/** One step of the reasoning behind a verdict: a sub-command, a redirect, a path. */
export interface TraceEntry {
  subject: string;
  decision: Decision;
  rule: string | null;
  reason: string;
  /** The deciding rule's `args` conditions and the values they saw (`owner = "myorg" matched glob "my*"`). */
  args?: string[];
}

export interface Verdict {
  decision: Decision;
  /** Id of the rule that decided, or null when the policy default (or a built-in guard) decided. */
  rule: string | null;
  reason: string;
  trace: TraceEntry[];
}

/** Agent and tool configuration files that make a later session run programs (see ALWAYS_PROTECTED). */
export const AGENT_CONFIG_GLOBS: readonly string[] = Object.freeze(
  ['.claude/settings.json', '.claude/settings.local.json', '.claude/hooks/**', '.gemini/settings.json', '.codex/**', '.mcp.json', '.cursor/mcp.json', '.vscode/mcp.json'].flatMap(
    (g) => [g, `**/${g}`],
  ),
);

/**
 * Workspace paths no policy can make writable (globs, workspace-relative): what the host's own git would
 * execute or obey — hooks, config, the per-worktree config, a commondir that points git at another
 * config, linked worktrees' and submodules' git dirs — icode's own folder, and other agents' configuration
 * (AGENT_CONFIG_GLOBS). The policy denies writes to them, the fs workers refuse them, the jail mounts
 * them read-only and its change gate refuses them.
 */
export const ALWAYS_PROTECTED: readonly string[] = Object.freeze([
  '.git/hooks/**',
  '.git/config',
  '.git/config.worktree',
  '.git/commondir',
  '.git/worktrees/**',
  '.git/modules/**',
  '.icode/**',
  // The same inside nested repositories: host git runs a staged submodule's config (core.fsmonitor…).
  '**/.git/hooks/**',
  '**/.git/config',
  '**/.git/config.worktree',
  '**/.git/commondir',
  '**/.git/worktrees/**',
  '**/.git/modules/**',
  // Other agents' and tools' project configuration that runs programs, or grants permissions, when a
  // person later works here: Claude Code's settings (hooks, allow rules, enabled MCP servers) and its
  // hook scripts, Gemini CLI's settings (hooks, MCP servers), Codex's project folder, and the MCP server
  // lists that editors start by the name a person once approved (`.mcp.json`, Cursor's, VS Code's). An agent that rewrote one would run unjailed in the next session.
  ...AGENT_CONFIG_GLOBS,
]);

/**
 * Protected paths the jail cannot pin with a read-only placeholder, because their mere existence changes
 * what git does (any `.git/commondir` breaks the host's git): the shell executor removes one a command
 * created instead.
 */
export const PROTECTED_NOT_PINNABLE: readonly string[] = Object.freeze(['.git/commondir']);
