// The example hook of README.md and docs/hooks.md: a pre_tool hook that denies force pushes.
// Try it: icode hooks test hooks/no-force-push.ts --point pre_tool --event '{"tool":"shell","input":{"command":"git push -f"}}'
export default function (event: { tool: string; input: { command?: string } }, api: { log(...a: unknown[]): void }) {
  const cmd = event.input.command ?? '';
  if (/\bgit\s+push\b/.test(cmd) && /\s(-f|--force)\b/.test(cmd)) {
    api.log('blocked', cmd);
    return { decision: 'deny', reason: 'force pushes are reviewed by a human' };
  }
  return {}; // no opinion
}
