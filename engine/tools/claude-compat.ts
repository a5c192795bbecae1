/**
 * Claude Code's tool inputs → icode's. A call made under a Claude Code tool name (`Read`, `Bash`, …: a
 * replayed transcript, a scripted model) uses Claude Code's field names; they are renamed here, before
 * validation, so that the same schema checks every call. Fields with no icode equivalent are left in
 * place: validation then refuses the call with a message naming them.
 */

const RENAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Read: { file_path: 'path' },
  Write: { file_path: 'path' },
  Edit: { file_path: 'path' },
  Bash: { timeout: 'timeout_ms' },
  Grep: { '-i': 'case_insensitive', '-C': 'context' },
};

/** Fields Claude Code sends that change nothing for icode (dropped when they hold their default). */
const NEUTRAL: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  Bash: { run_in_background: false },
  Grep: { '-n': true },
};

export function fromClaudeInput(toolName: string, input: unknown): unknown {
  const renames = RENAMES[toolName];
  const neutral = NEUTRAL[toolName];
  if ((!renames && !neutral) || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (neutral && Object.prototype.hasOwnProperty.call(neutral, k) && neutral[k] === v) continue;
    const to = renames && Object.prototype.hasOwnProperty.call(renames, k) ? renames[k] : k;
    // A call that names both spellings is not renamed: validation refuses the Claude Code field.
    out[to !== k && Object.prototype.hasOwnProperty.call(input, to) ? k : to] = v;
  }
  return out;
}
