/**
 * Is a git configuration file harmless? An allowlist of keys that neither run a program nor make git
 * read anything elsewhere (no includes, no hooks path, no fsmonitor, filters, pagers, editors, ssh
 * commands, alternates…). Parsed by the host's own git (`git config --file F --list --null`, includes
 * not followed, no system or global config), so every syntax git accepts is read as git reads it; a file
 * git cannot parse is not harmless.
 */
import { spawnSync } from 'node:child_process';

const EXACT = new Set([
  'core.repositoryformatversion',
  'core.filemode',
  'core.bare',
  'core.logallrefupdates',
  'core.ignorecase',
  'core.precomposeunicode',
  'core.symlinks',
  'core.autocrlf',
  'core.eol',
  'core.quotepath',
  'user.name',
  'user.email',
  'init.defaultbranch',
  'extensions.objectformat',
  'pull.rebase',
  'pull.ff',
]);
/** section.<subsection>.key */
const SUBSECTION = new Map([
  ['branch', new Set(['remote', 'merge', 'rebase', 'description', 'pushremote'])],
  ['remote', new Set(['url', 'pushurl', 'fetch', 'push', 'tagopt', 'prune'])],
]);

export function harmlessKey(key: string): boolean {
  const k = key.toLowerCase();
  if (EXACT.has(k)) return true;
  const first = k.indexOf('.');
  const last = k.lastIndexOf('.');
  if (first < 0 || first === last) return false;
  const allowed = SUBSECTION.get(k.slice(0, first));
  return allowed !== undefined && allowed.has(k.slice(last + 1));
}

/** null when every key of `file` is allowlisted, else why not. */
export function gitConfigProblem(file: string): string | null {
  const r = spawnSync('/usr/bin/git', ['config', '--file', file, '--list', '--null'], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_DIR: '/nonexistent' },
    encoding: 'utf8',
    timeout: 10_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  if (r.status !== 0) return `git cannot parse it (${(r.stderr || String(r.error ?? r.status)).trim().split('\n')[0]})`;
  for (const entry of r.stdout.split('\0')) {
    if (!entry) continue;
    const key = entry.split('\n', 1)[0]!;
    if (!harmlessKey(key)) return `it sets ${key}, which is not on the allowlist of harmless git settings`;
  }
  return null;
}
