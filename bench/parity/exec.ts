/** Running the reference programs: synchronously, bytes out, never through a shell unless asked. */
import { spawnSync } from 'node:child_process';
import { MissingReferenceError } from './types.js';

const HINTS: Record<string, string> = {
  rg: 'install ripgrep: apt-get install -y ripgrep',
  python3: 'install Python 3: apt-get install -y python3',
  bash: 'install bash: apt-get install -y bash',
  cat: 'install coreutils: apt-get install -y coreutils',
  find: 'install findutils: apt-get install -y findutils',
  base64: 'install coreutils: apt-get install -y coreutils',
};

export interface RefResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number | null;
}

export function runRef(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): RefResult {
  // stdin: the input, else /dev/null (rg searches a piped stdin instead of the directory)
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' }, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingReferenceError(`the reference program ${cmd} is not installed; ${HINTS[cmd] ?? `install ${cmd}`}`);
    throw r.error;
  }
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Fails with the install hint when a reference program is missing. */
export function requireReferences(cmds: string[]): void {
  for (const c of cmds) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new MissingReferenceError(`the reference program ${c} is not installed; ${HINTS[c] ?? `install ${c}`}`);
  }
}
