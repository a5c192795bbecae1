/**
 * shell vs `bash -c CMD 2>&1` run outside the jail, in the same directory: the same bytes (CRLF,
 * a missing final newline and UTF-8 intact) and the same exit code (a field of the result). The one
 * normalisation is the jail's documented terminal rule, applied to bash's bytes: escape sequences and
 * control characters other than \t, \n and a \r before \n are dropped (sandbox/jail/sanitize.ts).
 */
import { runRef } from './exec.js';
import { terminalText } from './normalise.js';
import type { CaseEnv, ParityCase } from './types.js';

export function shellCase(command: string): ParityCase {
  return {
    tool: 'shell',
    name: `shell ${command}`,
    input: { command },
    reference: (env: CaseEnv) => {
      const r = runRef('bash', ['-c', `exec 2>&1\n${command}`], { cwd: env.corpus.ws, env: { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C.UTF-8' } });
      return `${terminalText(r.stdout.toString('utf8'))}\n[exit ${r.status}]`;
    },
    actual: (r) => `${r.output ?? ''}\n[exit ${r.exitCode ?? 'none'}]`,
  };
}

const COMMANDS = [
  'cat docs/guide.md',
  'cat docs/mixed.txt',
  'cat no-final-newline.txt',
  "printf 'no newline'",
  "printf 'crlf\\r\\nline\\r\\n'",
  'echo héllo 日本 😀',
  'cat ünïcödé/日本語.txt',
  'cat bom.txt',
  'cat "spaces in name.txt"',
  'exit 3',
  'false',
  'true',
  'echo out; echo err >&2; exit 4',
  "printf '\\033[31mred\\033[0m\\n'",
  'seq 1 500',
  'wc -l many.txt',
  'LC_ALL=C ls -1 src',
  "printf 'a\\tb\\n'",
  'head -c 100 long.txt',
  'sort words.txt',
  "sh -c 'exit 7'",
  'cat empty.txt',
  'echo',
  "printf '\\n\\n'",
  'grep -c line many.txt',
  'tail -n 3 build/big.txt',
  "printf 'x\\r\\r\\ny\\n'",
  'cat latin1.txt | od -An -c',
  'md5sum bom.txt docs/guide.md',
  'test -e missing; echo $?',
  'cat missing 2>&1; echo after',
  'awk \'{print NR": "$0}\' docs/tabs.txt',
  'base64 bin/blob.bin',
  "printf '%s\\n' 'ünï' | tr a-z A-Z",
  'yes TODO | head -n 1000 | uniq -c',
];

export function shellCases(_env: CaseEnv): ParityCase[] {
  return COMMANDS.map(shellCase);
}
