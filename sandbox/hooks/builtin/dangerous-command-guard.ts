/**
 * dangerous_command_guard (pre_tool, tool `shell`): asks before destructive or remote-code commands —
 * forced git pushes, recursive rm of /, ~, $HOME, *, ., .. or a top-level folder, chmod -R to a
 * world-writable mode, downloaded code piped into an interpreter, mkfs, dd to a device, writes to block
 * devices, fork bombs — wherever they sit in the command line (see dangerous-commands.ts).
 * Commands are read by the project's shell analyzer (policies/shell, tree-sitter-bash); without it the
 * guard answers `decision` for every shell command (fail closed).
 * Options: `decision` (`ask` default, or `deny`), `disable` (rule ids to switch off).
 */
import { HookConfigError } from '../errors.js';
import type { HookApi, HookEvent, HookPoint, PreToolEvent, PreToolResult } from '../types.js';
import { DANGER_RULES, findDangers, type DangerRule } from './dangerous-commands.js';
import { checkKeys, enumOption, stringListOption } from './options.js';
import { analyzeForGuard, loadAnalyzer } from './shell-analysis.js';
import type { BuiltinHook } from './types.js';

export const DANGEROUS_COMMAND_GUARD = 'dangerous_command_guard';

export async function createDangerousCommandGuard(options: Record<string, unknown>): Promise<BuiltinHook> {
  checkKeys(DANGEROUS_COMMAND_GUARD, options, ['decision', 'disable']);
  const decision = enumOption(DANGEROUS_COMMAND_GUARD, options, 'decision', 'ask', ['ask', 'deny'] as const);
  const disabled = stringListOption(DANGEROUS_COMMAND_GUARD, options, 'disable', []);
  for (const r of disabled) {
    if (!(DANGER_RULES as readonly string[]).includes(r)) {
      throw new HookConfigError(`${DANGEROUS_COMMAND_GUARD}: unknown rule "${r}" in "disable" (known: ${DANGER_RULES.join(', ')})`);
    }
  }
  const analyzer = await loadAnalyzer();
  return {
    name: DANGEROUS_COMMAND_GUARD,
    points: ['pre_tool'],
    invoke(_point: HookPoint, raw: HookEvent, api: HookApi): PreToolResult {
      const event = raw as PreToolEvent;
      if (event.tool !== 'shell') return {};
      const command = event.input?.command;
      if (typeof command !== 'string') return {};
      const analysis = analyzeForGuard(analyzer, command);
      // No analysis means nothing can be ruled out: fail closed.
      if (!analysis) return { decision, reason: 'dangerous command: the shell analyzer is unavailable, so the command cannot be checked' };
      const dangers = findDangers(analysis.commands, analysis.redirects, command).filter((d) => !disabled.includes(d.rule as DangerRule));
      if (dangers.length === 0) return {};
      api.log(`parser: ${analysis.parser}; rules: ${dangers.map((d) => d.rule).join(', ')}`);
      return { decision, reason: `dangerous command: ${dangers.map((d) => d.why).join('; ')}` };
    },
  };
}
