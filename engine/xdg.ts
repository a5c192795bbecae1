/**
 * Where icode keeps its files, computed in one place (XDG Base Directory spec): state (audit log,
 * sessions) under `$XDG_STATE_HOME/icode` else `~/.local/state/icode`; configuration under
 * `$XDG_CONFIG_HOME/icode` else `~/.config/icode`. A relative XDG variable is invalid per the spec and
 * ignored; so is a relative HOME (then the OS's home directory is used). Always outside any workspace.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

function home(env: Env): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}

function base(env: Env, variable: 'XDG_STATE_HOME' | 'XDG_CONFIG_HOME', fallback: string[]): string {
  const v = env[variable];
  return join(v && isAbsolute(v) ? v : join(home(env), ...fallback), 'icode');
}

/** `$XDG_STATE_HOME/icode`, else `~/.local/state/icode`. */
export function stateDir(env: Env = process.env): string {
  return base(env, 'XDG_STATE_HOME', ['.local', 'state']);
}

/** `$XDG_CONFIG_HOME/icode`, else `~/.config/icode`. */
export function configDir(env: Env = process.env): string {
  return base(env, 'XDG_CONFIG_HOME', ['.config']);
}
