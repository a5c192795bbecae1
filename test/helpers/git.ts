/** The host's own git, with a clean environment (no system config, a given HOME, a fixed identity). */
import { spawnSync } from 'node:child_process';

export function hostGit(args: string[], cwd: string, home: string): { status: number | null; out: string } {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' },
    timeout: 20_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
