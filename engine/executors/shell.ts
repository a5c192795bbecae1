/**
 * The shell tool → one persistent jail per session (bubblewrap + pty, started on the session's first
 * command). Where bwrap cannot create namespaces the call is refused with the fix, never run unjailed,
 * unless the policy opted into `jail: none` (which every audit row records).
 */
import { randomBytes } from 'node:crypto';
import type { PolicySettings } from '../../policies/index.js';
import type { RunCommandHook } from '../../sandbox/hooks/index.js';
import { probeJail, ShellJail } from '../../sandbox/jail/index.js';
import { sweepAfterCommand } from './git-sweep.js';
import { jailOptionsFor, type GateOptions } from './jail-options.js';
import type { ExecContext, ExecResult, Executor } from './types.js';

const DEFAULT_TIMEOUT_MS = 120_000;
/** Session key of the jail that Claude Code–style command hooks run in. */
const HOOKS_SESSION = '\0hooks';

export class ShellExecutor implements Executor {
  private readonly jails = new Map<string, Promise<ShellJail>>();
  private closed = false;
  /** Mode 'none': nested repository configs written since this moment are swept after each command. */
  private readonly startedAt = Date.now() - 1000;

  constructor(
    private readonly workspace: string,
    private readonly settings: Readonly<PolicySettings> | undefined,
    /** The change gate's inputs (see jail-options.ts: gateOptionsFor). */
    private readonly gate: GateOptions = { readOnly: false, controlPaths: [], maskedPaths: [] },
  ) {}

  describe(): string {
    return this.mode();
  }

  private mode(): 'bwrap' | 'none' {
    return this.settings?.jail ?? 'bwrap';
  }

  async run(_tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult> {
    const command = input.command as string; // validated against the shell schema by the pipeline
    const timeoutMs = typeof input.timeout_ms === 'number' ? input.timeout_ms : (this.settings?.shellTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    let jail: ShellJail;
    try {
      jail = await this.jailFor(ctx.session);
    } catch (e) {
      return { ok: false, output: '', error: `shell refused: ${(e as Error).message}`, code: 'jail_unavailable', truncated: false, bytes: 0 };
    }
    const r = await jail.run(command, { timeoutMs, signal: ctx.signal });
    if (jail.mode === 'none') {
      // No overlay, no change gate in the weaker mode: the bounded sweep is all there is.
      const swept = sweepAfterCommand(this.workspace, this.startedAt);
      if (swept.length) r.refusals = swept.map((p) => ({ path: p, reason: 'removed after the command: a protected path a command may not create or change' }));
    }
    const refused = r.refusals?.length ?? 0;
    // A command whose changes were (partly) refused failed: the workspace is not what it left behind.
    const ok = r.exitCode === 0 && !r.timedOut && refused === 0;
    const why = r.timedOut
      ? `timed out after ${timeoutMs} ms; every process it started was killed`
      : r.signal
        ? `killed by ${r.signal}`
        : r.exitCode !== 0
          ? `exit code ${r.exitCode}`
          : `the change gate refused ${refused} change${refused === 1 ? '' : 's'} (see the output)`;
    return {
      ok,
      output: r.output,
      ...(ok ? {} : { error: why, code: r.timedOut ? 'timeout' : r.signal ? 'killed' : r.exitCode !== 0 ? 'exit_code' : 'change_refused' }),
      exitCode: r.exitCode,
      truncated: r.truncated,
      bytes: Buffer.byteLength(r.output),
      ...(r.changes ? { changes: r.changes } : {}),
      ...(r.refusals ? { refusals: r.refusals } : {}),
    };
  }

  private jailFor(session: string): Promise<ShellJail> {
    if (this.closed) return Promise.reject(new Error('the session is closed'));
    let jail = this.jails.get(session);
    if (!jail) {
      jail = this.startJail();
      // A failed start is not cached: the next command tries again (and fails closed again).
      jail.catch(() => this.jails.delete(session));
      this.jails.set(session, jail);
    }
    return jail;
  }

  private async startJail(): Promise<ShellJail> {
    const mode = this.mode();
    if (mode === 'bwrap') {
      const probe = probeJail();
      if (!probe.ok) throw new Error(`${probe.reason}; fix: ${probe.fix}`);
    } else if (this.gate.controlPaths.length > 0) {
      // Without the jail's change gate nothing keeps a command off the session's own controls.
      throw new Error(`the session's own control files are inside the workspace (${this.gate.controlPaths.join(', ')}) and jail: none cannot protect them; move them out of the workspace or use the bwrap jail`);
    }
    return ShellJail.start({ ...jailOptionsFor(this.workspace, this.settings), ...this.gate });
  }

  /**
   * Claude Code–style command hooks (event JSON on stdin, exit 2 blocks, JSON on stdout) run in a jail
   * of their own, like any agent command: a hook program gets no more than the agent's shell.
   */
  commandHookRunner(): RunCommandHook {
    return async (argv, stdin, o) => {
      const jail = await this.jailFor(HOOKS_SESSION);
      const nonce = randomBytes(12).toString('hex');
      const errFile = `/tmp/icode-hook-${nonce}`;
      const script =
        `printf '%s' '${Buffer.from(stdin).toString('base64')}' | base64 -d | ${argv.map(shellQuote).join(' ')} 2>${errFile}; ` +
        `code=$?; printf '\\n${nonce}\\n'; cat ${errFile}; rm -f ${errFile}; exit $code`;
      const r = await jail.run(script, { timeoutMs: o.timeoutMs });
      const at = r.output.lastIndexOf(`\n${nonce}\n`);
      const stdout = at < 0 ? r.output : r.output.slice(0, at);
      const stderr = at < 0 ? '' : r.output.slice(at + nonce.length + 2);
      return { exitCode: r.exitCode, stdout, stderr, timedOut: r.timedOut };
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const jails = [...this.jails.values()];
    this.jails.clear();
    await Promise.allSettled(jails.map(async (j) => (await j).close()));
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
