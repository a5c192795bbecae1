/** fs tools → the piscina worker pool, which confines every path to the workspace root itself. */
import { FsPool } from '../../sandbox/fs/pool.js';
import { DEFAULT_FS_OPTIONS, type FsGuardRule, type FsOptions, type FsRequest } from '../../sandbox/fs/types.js';
import type { ExecContext, ExecResult, Executor } from './types.js';

export class FsExecutor implements Executor {
  private readonly options: FsOptions;
  private pool: FsPool | null = null;

  constructor(
    private readonly root: string,
    /** `guard`: the policy's deny/ask path rules, re-applied by the worker to resolved paths (fs-guard.ts). */
    opts: { allowHardlinks: boolean; protectedPaths: string[]; guard?: FsGuardRule[] },
    private readonly sharedPool?: FsPool,
  ) {
    this.options = {
      ...DEFAULT_FS_OPTIONS,
      allowHardlinks: opts.allowHardlinks,
      protectedPaths: [...new Set([...DEFAULT_FS_OPTIONS.protectedPaths, ...opts.protectedPaths])],
      guard: opts.guard ?? [],
    };
  }

  describe(): string {
    return 'fs-worker';
  }

  async run(tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult> {
    const pool = this.sharedPool ?? (this.pool ??= new FsPool());
    // The input was validated against the tool's schema by the pipeline.
    const req = { tool, input, root: this.root, options: this.options } as FsRequest;
    const r = await pool.run(req, ctx.signal);
    if (r.ok) return { ok: true, output: r.output, truncated: r.truncated, bytes: r.bytes };
    // The code stays a field of its own down to the audit row; the model sees it in the message too.
    return { ok: false, output: '', error: `${r.code}: ${r.error}`, code: r.code, truncated: false, bytes: 0 };
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
