/** Public types of the shell jail (sandbox/jail). */
import type { Change, Refusal } from './gate.js';
import { AGENT_CONFIG_GLOBS, ALWAYS_PROTECTED as POLICY_PROTECTED, PROTECTED_NOT_PINNABLE } from '../../policies/types.js';

export interface JailLimits {
  /**
   * Live processes in the jail (default 256). Enforced with RLIMIT_NPROC inside the jail's user
   * namespace when icode runs as a regular user; when icode runs as root (where the kernel ignores
   * RLIMIT_NPROC) with the jail's own pid_max (Linux ≥ 6.14), which bounds it at about this number
   * (up to +300 while the jail is young). 0 = no limit (explicit opt-out).
   */
  processes?: number;
  /** Address space of each command process (RLIMIT_AS, default 4 GiB). */
  memoryBytes?: number;
  /** Largest file a command may write (RLIMIT_FSIZE, default 4 GiB). */
  fileSizeBytes?: number;
  /** CPU seconds of each command process (RLIMIT_CPU, default 600). */
  cpuSeconds?: number;
  /** Size of each scratch tmpfs: /tmp, $HOME (/home/agent) and /dev/shm (default 512 MiB each). */
  tmpBytes?: number;
}

export type JailMode = 'bwrap' | 'none';

export interface JailOptions {
  /** Absolute path of the workspace: the only read-write host path. Mounted at the same path. */
  workspace: string;
  /** false = a new, empty network namespace (no loopback to the host). */
  network: boolean;
  /** Extra environment variables the policy allows (names checked against a denylist). */
  env?: Record<string, string>;
  /**
   * Workspace-relative paths kept read-only inside the jail even if they do not exist yet. Always
   * includes `.git/hooks`, `.git/config` and `.icode` (and a relative `core.hooksPath` of .git/config).
   */
  protectedPaths?: string[];
  limits?: JailLimits;
  /**
   * Workspace-relative paths of the session's own control files (policy and what it extends, hook files,
   * configuration, audit and sessions databases): the change gate never lets a command change them or
   * replace a parent folder of theirs.
   */
  controlPaths?: string[];
  /** Workspace-relative paths the policy denies reading (`.env`, `secrets`): masked inside the jail. */
  maskedPaths?: string[];
  /**
   * Workspace-relative path patterns the policy denies reading, at any depth (`**\/.env`, `secrets/**`,
   * `**\/*.pem`): every existing match is masked inside the jail, found again before each command (masks.ts).
   */
  maskedGlobs?: string[];
  /** Confirms a match of maskedGlobs with the policy itself (true: denied, mask it). */
  maskCheck?: (rel: string) => boolean;
  /** The policy allows no writes: the workspace is mounted read-only (no overlay, no gate). */
  readOnly?: boolean;
  /**
   * Benchmarks only (`bench/scenarios/gate.ts`): the workspace bound read-write with read-only pinned
   * protected paths, as before the change gate, to measure the gate's cost. Never set from a policy.
   */
  benchmarkWithoutGate?: boolean;
  /** 'none' = explicit weaker mode a policy opted into: no namespaces (still pty, env allowlist, limits, timeout). */
  mode?: JailMode;
}

export interface ShellRunOptions {
  /** Wall-clock limit (default 120 000 ms); at expiry every process the command started is killed. */
  timeoutMs?: number;
  /** Output kept (default 100 000 bytes): head and tail, with a truncation marker between. */
  maxOutputBytes?: number;
  /** Aborting kills the command's processes and rejects with an AbortError. */
  signal?: AbortSignal;
  cols?: number;
  rows?: number;
}

export interface ShellResult {
  /** Exit status, or null when the command was ended by a signal. */
  exitCode: number | null;
  /** Name of the signal that ended the command (e.g. SIGKILL after a timeout), or null. */
  signal: string | null;
  /** What the terminal showed, escape sequences and control characters removed, \r\n → \n. */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
  /** What the command changed in the workspace, as applied by the change gate (bwrap mode). */
  changes?: Change[];
  /** Changes the gate refused, each with its path and reason. */
  refusals?: Refusal[];
}

export type ProbeResult = { ok: true } | { ok: false; reason: string; fix: string };

/** Raised when the jail cannot be started (fail closed); the message says how to fix it. */
export class JailError extends Error {
  override readonly name = 'JailError';
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(fix ? `${message}\nfix: ${fix}` : message);
  }
}

export const DEFAULT_LIMITS: Readonly<Required<JailLimits>> = Object.freeze({
  processes: 256,
  memoryBytes: 4 * 1024 ** 3,
  fileSizeBytes: 4 * 1024 ** 3,
  cpuSeconds: 600,
  tmpBytes: 512 * 1024 ** 2,
});

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 100_000;
/** Protected paths every jail has, whatever the policy says. */
// The policy's always-protected globs as paths to mount read-only, less the ones a placeholder would break.
export const ALWAYS_PROTECTED: readonly string[] = Object.freeze(
  // Paths at any depth (`**/…`) cannot be mounted ahead of time: the shell executor sweeps nested repositories.
  POLICY_PROTECTED.filter((g) => !PROTECTED_NOT_PINNABLE.includes(g) && !g.startsWith('**/') && !AGENT_CONFIG_GLOBS.includes(g)).map((g) => g.replace(/\/\*\*$/, '')),
);

/**
 * Other agents' configuration at the workspace root (`.claude/settings.json`, `.mcp.json`…): mounted
 * read-only where it exists, but never given a placeholder (an empty settings file or `.mcp.json` in
 * every workspace would break those tools). The change gate refuses it at any depth (GATE_PROTECTED).
 */
export const AGENT_CONFIG_PATHS: readonly string[] = Object.freeze(AGENT_CONFIG_GLOBS.filter((g) => !g.startsWith('**/')).map((g) => g.replace(/\/\*\*$/, '')));

/** Globs the change gate refuses beyond the jail's protected paths: other agents' configuration at any depth. */
export const GATE_PROTECTED: readonly string[] = Object.freeze(AGENT_CONFIG_GLOBS.flatMap((g) => (g.endsWith('/**') ? [g, g.slice(0, -3)] : [g])));
