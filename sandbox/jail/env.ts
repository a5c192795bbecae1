/**
 * The jail's environment: empty plus an allowlist. icode's own variables (API keys, cloud credentials,
 * ICODE_*) never reach it: the jail starts from nothing (`bwrap --clearenv`, and an explicit env for
 * every spawn), and the only additions are the fixed base below and the policy's `env`, whose names
 * are checked against a denylist of variables that make shells or runtimes load code or change how a
 * command line is interpreted.
 */
import { JailError } from './types.js';

export const JAIL_HOME = '/home/agent';
export const JAIL_USER = 'agent';
export const JAIL_PATH = '/usr/local/bin:/usr/bin:/bin';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Exact names refused in `JailOptions.env`. */
const DENIED = new Set([
  'BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'IFS', 'GLOBIGNORE', 'CDPATH', 'FIGNORE', 'EXECIGNORE',
  'PATH', 'HOME', 'SHELL', 'TERM', 'USER', 'LOGNAME', 'TMPDIR',
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE',
  'PYTHONSTARTUP', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONINSPECT', 'PYTHONUSERBASE',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'RUBYOPT', 'RUBYLIB', 'GEM_HOME', 'GEM_PATH',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH',
  'GCONV_PATH', 'HOSTALIASES', 'LOCALDOMAIN', 'RESOLV_HOST_CONF', 'NLSPATH', 'TZDIR',
  'GIT_EXEC_PATH', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_ASKPASS', 'SSH_ASKPASS', 'GIT_PROXY_COMMAND', 'GIT_EXTERNAL_DIFF',
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_TEMPLATE_DIR', 'GIT_CONFIG', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_CONFIG_COUNT',
  'EDITOR', 'VISUAL', 'PAGER', 'GIT_PAGER', 'MANPAGER', 'LESSOPEN', 'LESSCLOSE',
]);

/** Name prefixes refused in `JailOptions.env`. */
const DENIED_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_', 'MALLOC_', 'GLIBC_', 'ICODE_', 'GIT_CONFIG_KEY_', 'GIT_CONFIG_VALUE_', 'NPM_CONFIG_SCRIPT', 'npm_config_script'];

const MAX_VARS = 256;
const MAX_VALUE = 32 * 1024;

/** Throws JailError on a name the policy may not set or a value that cannot be passed. */
export function checkExtraEnv(env: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env) return out;
  const names = Object.keys(env);
  if (names.length > MAX_VARS) throw new JailError(`jail env: more than ${MAX_VARS} variables`);
  for (const name of names) {
    const value = env[name];
    if (!NAME.test(name)) throw new JailError(`jail env: invalid variable name ${JSON.stringify(name)}`);
    const upper = name.toUpperCase();
    if (DENIED.has(upper) || DENIED_PREFIXES.some((p) => upper.startsWith(p.toUpperCase()))) {
      throw new JailError(`jail env: ${name} may not be set by a policy (it can make commands load code or change how they are interpreted)`);
    }
    if (typeof value !== 'string') throw new JailError(`jail env: ${name} must be a string`);
    if (value.includes('\0')) throw new JailError(`jail env: ${name} contains a NUL byte`);
    if (value.length > MAX_VALUE) throw new JailError(`jail env: ${name} is longer than ${MAX_VALUE} characters`);
    out[name] = value;
  }
  return out;
}

/** The complete environment of a jailed command. */
export function jailEnv(extra: Record<string, string>, opts: { term: string; home: string }): Record<string, string> {
  return {
    LANG: 'C.UTF-8',
    ...extra,
    PATH: JAIL_PATH,
    HOME: opts.home,
    USER: JAIL_USER,
    LOGNAME: JAIL_USER,
    SHELL: '/bin/bash',
    TERM: opts.term,
    TMPDIR: '/tmp',
    // A command has no person at its terminal: pagers would wait for a key until the timeout.
    PAGER: 'cat',
    GIT_PAGER: 'cat',
  };
}
