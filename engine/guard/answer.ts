/**
 * Answers in each agent's hook output format (stdout JSON, exit code).
 *
 * Claude Code (https://code.claude.com/docs/en/hooks, "PreToolUse decision control"): exit 0 with
 * `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"|"deny"|"ask",
 * "permissionDecisionReason": "…"}}`; the reason of a deny is shown to Claude, of an ask to the user.
 * Other events: exit 0 and an empty object continues. (Exit 2 with stderr also blocks, but JSON on
 * exit 0 is the documented structured path, so icode always answers that way; a broken icode that
 * cannot even print exits 2, which Claude Code also treats as a block.)
 *
 * Gemini CLI (https://geminicli.com/docs/hooks/reference): exit 0 with JSON on stdout; BeforeTool
 * takes `{"decision": "allow"|"deny"|"ask", "reason": "…"}` (a deny's reason goes back to the model);
 * exit 2 blocks with stderr as the reason.
 */
import type { Decision } from '../audit/log.js';
import type { GuardAgent } from './events.js';

export interface GuardAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function preToolAnswer(agent: GuardAgent, decision: Decision, reason: string): GuardAnswer {
  const out =
    agent === 'claude-code'
      ? { hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: decision, permissionDecisionReason: reason } }
      : { decision, reason };
  return { stdout: JSON.stringify(out) + '\n', stderr: '', exitCode: 0 };
}

/** Events icode only records: continue. A note (not shown to the model) goes to stderr. */
export function continueAnswer(note = ''): GuardAnswer {
  return { stdout: '{}\n', stderr: note ? `icode guard: ${note}\n` : '', exitCode: 0 };
}
