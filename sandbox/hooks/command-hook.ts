/**
 * Claude Code–compatible command hooks: the event goes to an external program as JSON on stdin
 * (`session_id`, `hook_event_name`, `tool_name`, `tool_input`, `cwd`, …); its exit code and stdout decide.
 *   exit 0  go on; stdout may be JSON: `{"decision": "block", "reason"}`, `{"continue": false, "stopReason"}`,
 *           `{"hookSpecificOutput": {"permissionDecision": "allow|deny|ask", "permissionDecisionReason",
 *           "additionalContext", "updatedInput"}}`; plain stdout of user_prompt/session_start is context
 *   exit 2  block: stderr is the reason (pre_tool deny, stop refused, prompt refused; post_tool: context)
 *   other   non-blocking error: no effect, recorded in the outcome's note
 * A program that cannot be run, is killed, times out or prints malformed JSON is a hook failure
 * (`on_error` applies). The program runs through the injected `RunCommandHook` (the shell jail).
 */
import { HookFailure, cap } from './errors.js';
import type { HookEvent, HookPoint, HookResult, PostToolEvent, PreToolEvent, PreToolResult, StopEvent } from './types.js';

export const CLAUDE_EVENT_NAMES: Readonly<Record<HookPoint, string>> = Object.freeze({
  session_start: 'SessionStart',
  user_prompt: 'UserPromptSubmit',
  pre_tool: 'PreToolUse',
  post_tool: 'PostToolUse',
  stop: 'Stop',
  subagent_stop: 'SubagentStop',
  pre_compact: 'PreCompact',
});

/** icode canonical tool → Claude Code tool name (so existing hook scripts keep matching). */
export const CLAUDE_TOOL_NAMES: Readonly<Record<string, string>> = Object.freeze({
  read: 'Read',
  write: 'Write',
  edit: 'Edit',
  glob: 'Glob',
  grep: 'Grep',
  list: 'LS',
  shell: 'Bash',
  task: 'Task',
});

const MAX_REASON = 4000;

/** argv of a declaration's `command`: a string is a shell command line (`/bin/sh -c`). */
export function commandArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

function claudeToolInput(input: Record<string, unknown>): Record<string, unknown> {
  // Claude Code's file tools call the path `file_path`; many hook scripts read that.
  if (typeof input.path === 'string' && input.file_path === undefined) return { ...input, file_path: input.path };
  return input;
}

/** The JSON a command hook reads on stdin. */
export function claudeHookInput(point: HookPoint, event: HookEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    session_id: event.session,
    transcript_path: '',
    cwd: event.cwd ?? '',
    hook_event_name: CLAUDE_EVENT_NAMES[point],
    icode: { point, agent: event.agent },
  };
  switch (event.point) {
    case 'pre_tool':
    case 'post_tool': {
      const e = event as PreToolEvent | PostToolEvent;
      out.tool_name = CLAUDE_TOOL_NAMES[e.tool] ?? e.tool;
      out.tool_input = claudeToolInput(e.input);
      (out.icode as Record<string, unknown>).tool = e.tool;
      if (e.call_id) out.tool_use_id = e.call_id;
      if (e.point === 'post_tool') out.tool_response = { output: e.output, status: e.status, exit_code: e.exit_code ?? null };
      break;
    }
    case 'user_prompt':
      out.prompt = event.prompt;
      break;
    case 'stop':
    case 'subagent_stop':
      out.stop_hook_active = (event as StopEvent).stop_hook_active ?? false;
      break;
    case 'pre_compact':
      out.trigger = event.trigger ?? 'auto';
      out.custom_instructions = '';
      break;
    case 'session_start':
      out.source = event.source ?? 'startup';
      break;
    default:
      break;
  }
  return out;
}

export interface CommandRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

export interface CommandInterpretation {
  result: HookResult;
  note?: string;
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HookFailure('command', `"${field}" in the hook's JSON output must be a string`);
  return cap(v, MAX_REASON);
}

/** Turns `updatedInput` back into icode's field names (`file_path` → `path`). */
function icodeInput(updated: unknown, original: Record<string, unknown>): Record<string, unknown> {
  if (typeof updated !== 'object' || updated === null || Array.isArray(updated)) {
    throw new HookFailure('command', '"updatedInput" must be an object');
  }
  const input = { ...(updated as Record<string, unknown>) };
  if (typeof original.path === 'string' && original.file_path === undefined && 'file_path' in input) {
    if (input.path === undefined || input.path === original.path) input.path = input.file_path;
    delete input.file_path;
  }
  return input;
}

function fromJson(point: HookPoint, json: Record<string, unknown>, event: HookEvent): CommandInterpretation {
  const notes: string[] = [];
  const systemMessage = str(json.systemMessage, 'systemMessage');
  if (systemMessage) notes.push(systemMessage);
  const reason = str(json.reason, 'reason');
  const decision = json.decision;
  if (decision !== undefined && decision !== null && decision !== 'block' && decision !== 'approve') {
    throw new HookFailure('command', `unknown "decision" ${JSON.stringify(decision)} in the hook's JSON output`);
  }
  const stopped = json.continue === false;
  const stopReason = str(json.stopReason, 'stopReason');
  const specific = json.hookSpecificOutput;
  if (specific !== undefined && (typeof specific !== 'object' || specific === null || Array.isArray(specific))) {
    throw new HookFailure('command', '"hookSpecificOutput" must be an object');
  }
  const hs = (specific ?? {}) as Record<string, unknown>;
  const context = str(hs.additionalContext, 'additionalContext');
  const note = notes.length > 0 ? notes.join('; ') : undefined;

  switch (point) {
    case 'pre_tool': {
      const result: PreToolResult = {};
      const pd = hs.permissionDecision;
      if (pd !== undefined && pd !== 'allow' && pd !== 'deny' && pd !== 'ask') {
        throw new HookFailure('command', `unknown "permissionDecision" ${JSON.stringify(pd)}`);
      }
      if (pd !== undefined) {
        result.decision = pd;
        const r = str(hs.permissionDecisionReason, 'permissionDecisionReason') ?? reason;
        if (r) result.reason = r;
      } else if (decision === 'block') {
        result.decision = 'deny';
        result.reason = reason ?? 'blocked by the hook';
      } else if (decision === 'approve') {
        result.decision = 'allow';
      }
      if (stopped) {
        result.decision = 'deny';
        result.reason = stopReason ?? reason ?? 'the hook asked to stop';
      }
      if (hs.updatedInput !== undefined) result.input = icodeInput(hs.updatedInput, (event as PreToolEvent).input);
      if (context) result.context = context;
      return { result, note };
    }
    case 'post_tool': {
      const parts = [decision === 'block' ? reason : undefined, context].filter((x): x is string => !!x);
      return { result: parts.length > 0 ? { context: parts.join('\n') } : {}, note };
    }
    case 'stop':
    case 'subagent_stop':
      if (!stopped && decision === 'block') return { result: { block: true, message: reason ?? 'continue' }, note };
      return { result: {}, note };
    case 'user_prompt':
      if (stopped || decision === 'block') return { result: { block: true, reason: stopReason ?? reason ?? 'blocked by the hook' }, note };
      return { result: context ? { context } : {}, note };
    default:
      return { result: context ? { context } : {}, note };
  }
}

/** Interprets a finished command hook. Throws HookFailure for runs that count as failures. */
export function interpretCommandRun(point: HookPoint, run: CommandRun, event: HookEvent, timeoutMs: number): CommandInterpretation {
  if (run.timedOut) throw new HookFailure('timeout', `the command hook exceeded ${timeoutMs} ms`);
  if (run.exitCode === null) throw new HookFailure('command', 'the command hook was killed by a signal');
  const stderr = cap(run.stderr.trim(), MAX_REASON);
  if (run.exitCode === 2) {
    const why = stderr || 'blocked by the hook (exit 2)';
    switch (point) {
      case 'pre_tool':
        return { result: { decision: 'deny', reason: why } };
      case 'post_tool':
        return { result: { context: why } };
      case 'stop':
      case 'subagent_stop':
        return { result: { block: true, message: why } };
      case 'user_prompt':
        return { result: { block: true, reason: why } };
      default:
        return { result: {}, note: `exit 2: ${why}` };
    }
  }
  if (run.exitCode !== 0) return { result: {}, note: `exit ${run.exitCode} (non-blocking error)${stderr ? `: ${stderr}` : ''}` };
  const stdout = run.stdout.trim();
  if (stdout.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(stdout);
    } catch {
      throw new HookFailure('command', 'the command hook printed malformed JSON');
    }
    return fromJson(point, json as Record<string, unknown>, event);
  }
  if (stdout && (point === 'user_prompt' || point === 'session_start')) return { result: { context: cap(stdout, 64 * 1024) } };
  return { result: {}, note: stdout ? `stdout: ${cap(stdout, 500)}` : undefined };
}
