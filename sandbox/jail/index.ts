/** The shell jail: node-pty commands inside a persistent bubblewrap sandbox confined to the workspace. */
export { ShellJail, type InteractiveShell } from './jail.js';
export { probeJail } from './probe.js';
export { sanitizeTerminalOutput } from './sanitize.js';
export {
  ALWAYS_PROTECTED,
  DEFAULT_LIMITS,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_MS,
  JailError,
  type JailLimits,
  type JailMode,
  type JailOptions,
  type ProbeResult,
  type ShellResult,
  type ShellRunOptions,
} from './types.js';
export { stdioJailCommand, type StdioJailCommand, type StdioJailOptions } from './stdio.js';
export { checkExtraEnv, jailEnv } from './env.js';
