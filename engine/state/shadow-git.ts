/**
 * The host's git, run against a shadow repository: GIT_DIR is icode's own directory under its state
 * directory and GIT_WORK_TREE is the workspace. The environment is built from nothing (never the
 * parent's): no system or global config, HOME an empty directory of the shadow, literal pathspecs, no
 * prompts, no hooks (core.hooksPath=/dev/null is also in the shadow's own config). The user's `.git`
 * — index, refs, hooks, config, stash — is never read or written.
 */
import { spawn } from 'node:child_process';

export class GitError extends Error {
  override readonly name = 'GitError';
}

export interface ShadowGitPaths {
  gitDir: string;
  workTree: string;
  /** An empty directory used as HOME / XDG_CONFIG_HOME. */
  home: string;
}

export function shadowEnv(p: ShadowGitPaths): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
    HOME: p.home,
    XDG_CONFIG_HOME: p.home,
    GIT_DIR: p.gitDir,
    GIT_WORK_TREE: p.workTree,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_LITERAL_PATHSPECS: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'icode',
    GIT_AUTHOR_EMAIL: 'icode@localhost',
    GIT_COMMITTER_NAME: 'icode',
    GIT_COMMITTER_EMAIL: 'icode@localhost',
    LC_ALL: 'C',
  };
}

export interface GitRun {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** Run git in the shadow; rejects on a non-zero exit unless `allowFail`. */
export function git(p: ShadowGitPaths, args: string[], opts: { input?: string | Buffer; allowFail?: boolean } = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: p.workTree, env: shadowEnv(p), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new GitError(`git ${args[0]}: ${e.message}`)));
    child.on('close', (code) => {
      const r = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 };
      if (r.code !== 0 && !opts.allowFail) reject(new GitError(`git ${args[0]} failed (${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`));
      else resolve(r);
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all of stdin; the exit code says why
    child.stdin.end(opts.input ?? '');
  });
}

/** NUL-separated output, without the empty tail. */
export function zsplit(b: Buffer): string[] {
  const s = b.toString('utf8');
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Object contents by id through one `git cat-file --batch`. */
export async function readBlobs(p: ShadowGitPaths, ids: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const unique = [...new Set(ids)];
  if (!unique.length) return out;
  const r = await git(p, ['cat-file', '--batch'], { input: unique.join('\n') + '\n' });
  let pos = 0;
  const buf = r.stdout;
  for (const id of unique) {
    const nl = buf.indexOf(0x0a, pos);
    const header = buf.subarray(pos, nl).toString('utf8');
    const [, type, size] = header.split(' ');
    if (type !== 'blob') throw new GitError(`object ${id} is missing from the checkpoint store (${header})`);
    const n = Number(size);
    out.set(id, buf.subarray(nl + 1, nl + 1 + n));
    pos = nl + 1 + n + 1;
  }
  return out;
}

/** The id of the empty tree (git's well-known constant for sha1 repositories). */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
