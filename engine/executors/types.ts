/** What the pipeline needs from something that runs tools. */

export interface ExecContext {
  session: string;
  callId: string;
  /** The agent that made the call (executors that decide again while they run: web_fetch). */
  agent?: string;
  signal?: AbortSignal;
}

export interface ExecResult {
  ok: boolean;
  /** Output for the model (for a failed shell command: what it printed). */
  output: string;
  error?: string;
  /**
   * Why the call failed, as a stable machine-readable code (the fs worker's NOT_FOUND, NOT_UNIQUE, …;
   * `timeout`, `exit_code`, `killed` for the shell), kept apart from the message down to the audit row.
   */
  code?: string;
  exitCode?: number | null;
  truncated: boolean;
  /** Payload size in bytes. */
  bytes: number;
  /** A fact the audit log keeps beside the outcome (web_fetch: the final URL after redirects). */
  auditNote?: { note: string; data?: Record<string, unknown> };
  /** Shell: what the command changed in the workspace (the change gate's change set). */
  changes?: { path: string; kind: 'created' | 'modified' | 'deleted'; type: string; sha256?: string }[];
  /** Shell: changes the change gate refused, each with its path and reason (audited beside the call). */
  refusals?: { path: string; reason: string }[];
}

export interface Executor {
  run(tool: string, input: Record<string, unknown>, ctx: ExecContext): Promise<ExecResult>;
  /** What the audit row records about confinement (e.g. "bwrap", "none"). */
  describe(): string;
  close(): Promise<void>;
}
