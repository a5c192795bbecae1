/** The shell tool → one persistent bwrap jail per session (started on the session's first command). */
import type { PolicySettings } from '../../policies/index.js';
import type { RunCommandHook } from '../../sandbox/hooks/index.js';
import type { ExecContext, ExecResult, Executor } from './types.js';

export class ShellExecutor implements Executor {
  constructor(
    private readonly workspace: string,
    private readonly settings: Readonly<PolicySettings> | undefined,
  ) {}

  describe(): string {
    return this.settings?.jail ?? 'bwrap';
  }

  async run(_tool: string, _input: Record<string, unknown>, _ctx: ExecContext): Promise<ExecResult> {
    return { ok: false, output: '', error: `the shell jail is not available yet in this build; shell is refused (workspace ${this.workspace})`, truncated: false, bytes: 0 };
  }

  /** Runs Claude Code–style command hooks inside the session's jail. */
  commandHookRunner(): RunCommandHook | undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
