/**
 * Types of the hooks engine: hook points, the event each point receives, what a hook may answer, how
 * hooks are declared, and the outcome record the caller audits. Everything that crosses into a hook is
 * plain JSON data.
 */
import type { Decision } from '../../policies/types.js';

export type { Decision };

export const HOOK_POINTS = [
  'session_start',
  'user_prompt',
  'pre_tool',
  'post_tool',
  'stop',
  'subagent_stop',
  'pre_compact',
] as const;

export type HookPoint = (typeof HOOK_POINTS)[number];

export function isHookPoint(value: unknown): value is HookPoint {
  return typeof value === 'string' && (HOOK_POINTS as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------------
// Events (input of a hook). The runner sets `point`; every other field comes from the caller.

export interface TodoItem {
  content: string;
  status: 'pending' | 'in_progress' | 'completed';
  id?: string;
}

interface EventBase {
  /** Session id; the per-session key-value store of a hook is keyed by it. */
  session: string;
  /** Agent name; the top-level agent is "main". */
  agent: string;
  /** Workspace root (absolute). */
  cwd?: string;
  /** Canonical names of the tools this agent may use. */
  tools?: string[];
  /** Names of hooks the user switched off for this session (honoured by the hooks that support it). */
  disabled_hooks?: string[];
}

export interface SessionStartEvent extends EventBase {
  point: 'session_start';
  source?: 'startup' | 'resume' | 'clear';
  model?: string;
}

export interface UserPromptEvent extends EventBase {
  point: 'user_prompt';
  prompt: string;
}

export interface PreToolEvent extends EventBase {
  point: 'pre_tool';
  /** Canonical tool name: read, write, edit, glob, grep, list, shell, task, mcp__server__tool. */
  tool: string;
  input: Record<string, unknown>;
  call_id?: string;
  /** The policy's verdict on this call, for information. Hooks cannot loosen it. */
  decision?: Decision;
  reason?: string;
}

export interface PostToolEvent extends EventBase {
  point: 'post_tool';
  tool: string;
  input: Record<string, unknown>;
  call_id?: string;
  /** Text the model is about to see. */
  output: string;
  status: 'ok' | 'error' | 'denied';
  exit_code?: number | null;
  decision?: Decision;
  duration_ms?: number;
}

export interface StopEvent extends EventBase {
  point: 'stop' | 'subagent_stop';
  todos?: TodoItem[];
  /** Set when the turn ended on an error (provider error, tool crash…). */
  last_error?: string | null;
  /** The user interrupted the turn. */
  aborted?: boolean;
  /** The agent's last message. */
  final_message?: string;
  stop_reason?: string;
  /** True when a stop hook already refused a stop in this turn (Claude Code's `stop_hook_active`). */
  stop_hook_active?: boolean;
}

export interface PreCompactEvent extends EventBase {
  point: 'pre_compact';
  trigger?: 'auto' | 'manual';
  tokens?: number;
}

export interface HookEventMap {
  session_start: SessionStartEvent;
  user_prompt: UserPromptEvent;
  pre_tool: PreToolEvent;
  post_tool: PostToolEvent;
  stop: StopEvent;
  subagent_stop: StopEvent;
  pre_compact: PreCompactEvent;
}

export type HookEvent = HookEventMap[HookPoint];

/** What the caller hands to `HookRunner.run`: the event without `point` (the runner sets it). */
export type HookEventInput<P extends HookPoint> = Omit<HookEventMap[P], 'point'> & { point?: P };

// ---------------------------------------------------------------------------------------------------
// Results (what one hook answers). Every field is optional; `{}` or nothing means "no opinion".

export interface PreToolResult {
  decision?: Decision;
  reason?: string;
  /** Rewritten input. The caller must run the policy on it again; it is never trusted. */
  input?: Record<string, unknown>;
  context?: string;
}

export interface PostToolResult {
  /** Replacement (e.g. redacted) output. */
  output?: string;
  context?: string;
}

export interface StopResult {
  /** Refuse the stop: the agent goes on with `message` as its next input. */
  block?: boolean;
  message?: string;
}

export interface UserPromptResult {
  context?: string;
  /** Claude Code compatibility (exit 2 / `decision: block` of a UserPromptSubmit hook): refuse the prompt. */
  block?: boolean;
  reason?: string;
}

export interface ContextResult {
  context?: string;
}

/** pre_compact: add context to the summary, or veto the compaction. */
export interface PreCompactResult {
  context?: string;
  block?: boolean;
  reason?: string;
}

export interface HookResultMap {
  session_start: ContextResult;
  user_prompt: UserPromptResult;
  pre_tool: PreToolResult;
  post_tool: PostToolResult;
  stop: StopResult;
  subagent_stop: StopResult;
  pre_compact: PreCompactResult;
}

export type HookResult = HookResultMap[HookPoint];

// ---------------------------------------------------------------------------------------------------
// Merged results (what `HookRunner.run` returns for all hooks of a point together).

export interface MergedPreTool {
  /** Strictest decision of all hooks (deny > ask > allow); 'allow' means "no hook objected". Combine it
   * with the policy's verdict using `strictest()` — a hook can never loosen the policy. */
  decision: Decision;
  /** Reasons given by the hooks that asked or denied (and by failures turned into ask/deny). */
  reason: string;
  /** The last rewritten input, when some hook rewrote it. Run the policy on it again. */
  input?: Record<string, unknown>;
  context: string[];
}

export interface MergedPostTool {
  /** The replacement output, when some hook replaced, redacted or withheld it. */
  output?: string;
  context: string[];
}

export interface MergedStop {
  block: boolean;
  /** Messages of the hooks that refused the stop, joined by blank lines. */
  message?: string;
}

export interface MergedUserPrompt {
  context: string[];
  block: boolean;
  reason?: string;
}

export interface MergedContext {
  context: string[];
}

export interface MergedPreCompact {
  context: string[];
  /** Some hook vetoed the compaction. */
  block: boolean;
  reason?: string;
}

export interface MergedResultMap {
  session_start: MergedContext;
  user_prompt: MergedUserPrompt;
  pre_tool: MergedPreTool;
  post_tool: MergedPostTool;
  stop: MergedStop;
  subagent_stop: MergedStop;
  pre_compact: MergedPreCompact;
}

// ---------------------------------------------------------------------------------------------------
// Declarations

/**
 * What happens when a hook fails (throws, times out, runs out of memory, returns garbage, cannot be run):
 * - pre_tool: `deny` (default), `ask`, or `allow` (= the failed hook has no opinion).
 * - post_tool: `ignore` (default: keep the output as it was) or `withhold` (replace the output with a
 *   notice; the default of `secret_redactor`, which must not leak on failure).
 * - every other point: `ignore` (the only choice: a broken stop hook must not trap the agent).
 */
export type OnError = 'deny' | 'ask' | 'allow' | 'ignore' | 'withhold';

export const ON_ERROR_CHOICES: Readonly<Record<HookPoint, readonly OnError[]>> = Object.freeze({
  session_start: ['ignore'],
  user_prompt: ['ignore'],
  pre_tool: ['deny', 'ask', 'allow'],
  post_tool: ['ignore', 'withhold'],
  stop: ['ignore'],
  subagent_stop: ['ignore'],
  pre_compact: ['ignore'],
});

export const DEFAULT_ON_ERROR: Readonly<Record<HookPoint, OnError>> = Object.freeze({
  session_start: 'ignore',
  user_prompt: 'ignore',
  pre_tool: 'deny',
  post_tool: 'ignore',
  stop: 'ignore',
  subagent_stop: 'ignore',
  pre_compact: 'ignore',
});

export interface HookMatch {
  /** Canonical tool names or globs (`*`, `?`; `a|b` alternatives), e.g. `shell`, `mcp__github__*`. */
  tool?: string | string[];
  /** Agent names or globs, e.g. `main`. */
  agent?: string | string[];
}

/** One hook as written in the policy (`hooks: {pre_tool: [...]}`) or a hooks config file. Exactly one of
 * `script`, `builtin`, `command`. */
export interface HookDeclaration {
  /** Label used in outcomes and the audit log; defaults to the builtin name, script file or command. */
  name?: string;
  match?: HookMatch;
  /** Path of a .js/.mjs/.ts/.mts module, relative to the policy file's folder. */
  script?: string;
  builtin?: string;
  /** Claude Code–compatible external program: a shell command line or an argv array. */
  command?: string | string[];
  /** Options of a builtin hook. */
  options?: Record<string, unknown>;
  on_error?: OnError;
  /** Wall-clock bound of one call, async work included. Default 500 ms for scripts, 10 000 for commands. */
  timeout_ms?: number;
  /** Heap limit of the script's isolate. Minimum 8, default 32, maximum 1024. */
  memory_mb?: number;
}

export type HooksConfig = { [P in HookPoint]?: HookDeclaration[] };

// ---------------------------------------------------------------------------------------------------
// Outcomes (one per hook considered, for the audit log)

export type HookKind = 'script' | 'builtin' | 'command';

export type HookFailureKind =
  | 'throw' // the hook threw (or rejected)
  | 'timeout' // wall-clock bound exceeded (sync or async)
  | 'oom' // memory limit: the isolate was disposed
  | 'never_settled' // returned a promise that can no longer settle
  | 'invalid_result' // malformed result (wrong types, functions, cycles, too big…)
  | 'disposed' // the runtime was disposed during the call
  | 'command' // a command hook could not be run, was killed, or printed malformed JSON
  | 'internal'; // anything else

export interface HookOutcome {
  /** Hook label (declaration `name`, builtin name, script path or command). */
  hook: string;
  kind: HookKind;
  point: HookPoint;
  /** Index of the declaration in its point's list. */
  index: number;
  /** `ok`: the result was used; `failed`: `on_error` was applied; `skipped`: not run (see `note`). */
  status: 'ok' | 'failed' | 'skipped';
  /** The validated result (status ok). */
  result?: HookResult;
  failure?: HookFailureKind;
  /** Why the hook failed or was skipped. */
  error?: string;
  /** The failure mode applied (status failed). */
  applied?: OnError;
  /** Non-fatal remarks (e.g. a command hook's non-blocking error). */
  note?: string;
  /** Lines written with `api.log` (bounded), or a command hook's stderr. */
  logs?: string[];
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------------
// The API a hook receives as its second argument (frozen; values are copied both ways).

export interface HookKv {
  /** A copy of the stored JSON value, or undefined. */
  get(key: string): unknown;
  /** Stores a copy of a JSON value; throws when a size limit would be exceeded. `undefined` deletes. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

export interface HookApi {
  /** Appends a line to the call's bounded log (recorded in the outcome). */
  log(...args: unknown[]): void;
  /** Per-session, per-hook key-value store. */
  kv: HookKv;
}

/** External runner of command hooks (the lead injects one that runs inside the shell jail). */
export type RunCommandHook = (
  argv: string[],
  stdin: string,
  opts: { timeoutMs: number; cwd?: string },
) => Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut?: boolean }>;
