/**
 * Command patterns: `must` (allow rules, certain match) and `could` (ask/deny rules, possible match)
 * against SimpleCommands from the real analyzer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeShell, initShellParser } from '../../policies/shell/analyze.js';
import { compileCommandPattern, isInertBareAssignment, isSafeAssignment, tokenizePattern } from '../../policies/shell/patterns.js';
import type { MatchMode, SimpleCommand } from '../../policies/shell/types.js';

beforeAll(async () => {
  await initShellParser();
});

/** The single command of `src` (or the last one, for wrappers such as xargs). */
function last(src: string): SimpleCommand {
  const a = analyzeShell(src);
  expect(a.commands.length).toBeGreaterThan(0);
  return a.commands[a.commands.length - 1];
}

function m(pattern: string | string[], src: string, mode: MatchMode): boolean {
  return compileCommandPattern(pattern).match(last(src), mode);
}

/** [must, could] */
function both(pattern: string | string[], src: string): [boolean, boolean] {
  return [m(pattern, src, 'must'), m(pattern, src, 'could')];
}

describe('tokenizePattern', () => {
  it('splits like a shell line and escapes quoted glob characters', () => {
    expect(tokenizePattern('git  commit -m "a b" \'c d\' e\\ f')).toEqual(['git', 'commit', '-m', 'a b', 'c d', 'e f']);
    expect(tokenizePattern('grep "*" \'?\' \\[x]')).toEqual(['grep', '\\*', '\\?', '\\[x]']);
    expect(tokenizePattern('echo "a\\"b" ""')).toEqual(['echo', 'a"b', '']);
    expect(() => tokenizePattern('echo "oops')).toThrow(/unterminated/);
    expect(() => tokenizePattern("echo 'oops")).toThrow(/unterminated/);
  });

  it('needs a command name', () => {
    expect(() => compileCommandPattern('A=1')).toThrow(/no command name/);
    expect(() => compileCommandPattern('')).toThrow(/no command name/);
  });

  it('keeps the source', () => {
    expect(compileCommandPattern('git diff **').source).toBe('git diff **');
    expect(compileCommandPattern(['git', 'diff', '**']).source).toBe('git diff **');
  });
});

describe('exact, prefix and ** patterns', () => {
  it('an exact pattern matches exactly', () => {
    expect(both('git status', 'git status')).toEqual([true, true]);
    expect(both('git status', 'git status -s')).toEqual([false, false]);
    expect(both('git status', 'git')).toEqual([false, false]);
    expect(both('git status', 'git stat')).toEqual([false, false]);
    expect(both('git status', 'gh status')).toEqual([false, false]);
  });

  it('a trailing lone * or ** is a prefix, including no arguments', () => {
    for (const p of ['git diff *', 'git diff **']) {
      expect(both(p, 'git diff')).toEqual([true, true]);
      expect(both(p, 'git diff HEAD~1 -- src/a.ts')).toEqual([true, true]);
      expect(both(p, 'git difftool')).toEqual([false, false]);
      expect(both(p, 'git log')).toEqual([false, false]);
    }
    expect(both('git *', 'git')).toEqual([true, true]);
  });

  it('** in the middle matches zero or more whole arguments', () => {
    const p = 'find ** -delete **';
    expect(both(p, 'find . -name x -delete')).toEqual([true, true]);
    expect(both(p, 'find -delete')).toEqual([true, true]);
    expect(both(p, 'find . -name x')).toEqual([false, false]);
    expect(both('git ** --force **', 'git push origin main --force')).toEqual([true, true]);
    expect(both('rm ** -rf **', 'rm -r -f /')).toEqual([false, false]); // patterns are syntactic
    expect(both('curl ** -o *', 'curl -s url -o out')).toEqual([true, true]);
    expect(both('curl ** -o * **', 'curl -o out url')).toEqual([true, true]);
  });

  it('a lone * or ** pattern matches any command', () => {
    expect(both('*', 'rm -rf /')).toEqual([true, true]);
    expect(both('**', 'ls')).toEqual([true, true]);
  });
});

describe('globs inside tokens', () => {
  it('* matches any characters including / and dots, ? one, [..] a class', () => {
    expect(both('npm run test:*', 'npm run test:unit')).toEqual([true, true]);
    expect(both('npm run test:*', 'npm run build')).toEqual([false, false]);
    expect(both('cat src/*', 'cat src/a/b.ts')).toEqual([true, true]);
    expect(both('cat *.ts', 'cat .hidden.ts')).toEqual([true, true]);
    expect(both('cat * x', 'cat "" x')).toEqual([true, true]); // * matches the empty string
    expect(both('cat ?.md', 'cat a.md')).toEqual([true, true]);
    expect(both('cat ?.md', 'cat ab.md')).toEqual([false, false]);
    expect(both('cat [ab].md', 'cat b.md')).toEqual([true, true]);
    expect(both('cat [!ab].md', 'cat b.md')).toEqual([false, false]);
    expect(both('cat [!ab].md', 'cat c.md')).toEqual([true, true]);
    expect(both('python3*', 'python3.12 -V')).toEqual([false, false]);
    expect(both('python3* **', 'python3.12 -V')).toEqual([true, true]);
  });

  it('quoted glob characters are literal; ! and ./ have no special meaning', () => {
    expect(both('grep "*" f', 'grep "*" f')).toEqual([true, true]);
    expect(both('grep "*" f', 'grep x f')).toEqual([false, false]);
    expect(both("find ** '!' -name x", "find . '!' -name x")).toEqual([true, true]);
    expect(both('find . ! -name x', 'find . ! -name x')).toEqual([true, true]);
    expect(both('find . ! -name x', 'find . -name x')).toEqual([false, false]);
    expect(both('rm ./x', 'rm x')).toEqual([false, false]);
    expect(both('rm x', 'rm ./x')).toEqual([false, false]);
    expect(both('echo (a|b)', 'echo "(a|b)"')).toEqual([true, true]);
    expect(both('echo a.b', 'echo axb')).toEqual([false, false]);
  });
});

describe('run-time words', () => {
  it('must: a dynamic word matches only *, ** or the trailing wildcard', () => {
    expect(both('git diff *', 'git diff $x')).toEqual([true, true]);
    expect(both('git show * --stat', 'git show "$x" --stat')).toEqual([true, true]);
    expect(both('git show -* --stat', 'git show "$x" --stat')).toEqual([false, true]);
    expect(both('git show HEAD --stat', 'git show "$x" --stat')).toEqual([false, true]);
    expect(both('rm -rf /', 'rm -rf "$x"')).toEqual([false, true]);
  });

  it('must: a word that may be several words matches only ** or the trailing wildcard', () => {
    // `$x` unquoted could be `a --output=/etc/passwd`: a lone * in the middle is one word.
    expect(both('git show * --stat', 'git show $x --stat')).toEqual([false, true]);
    expect(both('git show ** --stat', 'git show $x --stat')).toEqual([true, true]);
    expect(both('ls *', 'ls *.txt')).toEqual([true, true]);
    expect(both('ls * -l', 'ls *.txt -l')).toEqual([false, true]);
  });

  it('could: a word that may be several words may also be none', () => {
    expect(both('rm -rf /', 'rm $x')).toEqual([false, true]);
    expect(both('rm -rf /', 'rm $x /')).toEqual([false, true]);
    expect(both('rm -rf /', 'rm -rf / $x')).toEqual([false, true]);
    expect(both('rm -rf /', 'rm "$x" /')).toEqual([false, true]); // x=-rf
    expect(both('rm -rf /', 'rm "$x"')).toEqual([false, false]); // exactly one word, two needed
    expect(both('rm -rf /', 'rm -rf / "$x"')).toEqual([false, false]);
  });

  it('a dynamic command name: never in must, always in could', () => {
    expect(both('rm -rf /', '$cmd -rf /')).toEqual([false, true]);
    expect(both('git status', '"$cmd"')).toEqual([false, true]);
    expect(both('*', '$cmd')).toEqual([false, true]);
  });

  it('dynamicTail: must needs a trailing wildcard, could lets the tail supply arguments', () => {
    expect(both('rm *', 'xargs rm')).toEqual([true, true]);
    expect(both('rm', 'xargs rm')).toEqual([false, true]);
    expect(both('rm -rf /', 'xargs rm')).toEqual([false, true]);
    expect(both('rm -rf /', 'xargs rm -rf')).toEqual([false, true]);
    expect(both('rm ** -rf', 'xargs rm')).toEqual([false, true]);
    expect(both('grep -l foo **', 'find . -exec grep -l foo {} +')).toEqual([true, true]);
    expect(both('grep -l foo *', 'find . -exec grep -l foo {} \\;')).toEqual([true, true]);
    expect(both('rm -rf /', 'xargs echo')).toEqual([false, false]);
  });
});

describe('command names', () => {
  it('must compares exactly, could also by basename', () => {
    expect(both('git status', '/usr/bin/git status')).toEqual([false, true]);
    expect(both('git status', './git status')).toEqual([false, true]);
    expect(both('rm -rf /', '/bin/rm -rf /')).toEqual([false, true]);
    expect(both('/usr/bin/git status', '/usr/bin/git status')).toEqual([true, true]);
    expect(both('/usr/bin/git status', 'git status')).toEqual([false, false]);
  });

  it('wrappers are transparent to patterns (the inner command is what is matched)', () => {
    expect(both('git push', 'timeout 5 nice git push')).toEqual([true, true]);
    expect(both('rm -rf /', 'sudo -u root rm -rf /')).toEqual([true, true]);
    expect(both('rm -rf /', 'bash -c "rm -rf /"')).toEqual([true, true]);
  });

  it('a bare assignment matches no pattern', () => {
    expect(both('*', 'X=1')).toEqual([false, false]);
    expect(both('X=1 *', 'X=1')).toEqual([false, false]);
  });
});

describe('assignments', () => {
  it('must: unsafe prefix assignments must be named by the pattern', () => {
    expect(both('git status', 'FOO=1 git status')).toEqual([false, true]);
    expect(both('git status', 'PATH=/tmp git status')).toEqual([false, true]);
    expect(both('git status', 'GIT_SSH_COMMAND=x git status')).toEqual([false, true]);
    expect(both('git status', 'env LD_PRELOAD=/tmp/x.so git status')).toEqual([false, true]);
    expect(both('git status', 'CI=1 NO_COLOR=1 LC_ALL=C LANG=C.UTF-8 TERM=dumb git status')).toEqual([true, true]);
    expect(both('FOO=1 git status', 'FOO=1 git status')).toEqual([true, true]);
    expect(both('FOO=* git status', 'FOO=anything git status')).toEqual([true, true]);
    expect(both('FOO=1 git status', 'FOO=2 git status')).toEqual([false, false]);
  });

  it('a leading *=* accepts any prefix assignment, and only changes must', () => {
    expect(both('*=* npm test **', 'FOO=1 PORT=3001 npm test')).toEqual([true, true]);
    expect(both('*=* npm test **', 'NODE_OPTIONS=--max-old-space-size=4096 npm test')).toEqual([true, true]);
    expect(both('*=* npm test **', 'env PATH=/x LD_PRELOAD=y.so npm test')).toEqual([true, true]);
    expect(both('*=* npm test **', 'npm test')).toEqual([true, true]);
    expect(both('*=* npm test **', 'FOO=1 npm install')).toEqual([false, false]);
    expect(both('*=* NODE_ENV=test npm test', 'FOO=1 npm test')).toEqual([false, false]);
    expect(both('*=* NODE_ENV=test npm test', 'FOO=1 NODE_ENV=test npm test')).toEqual([true, true]);
    // Quoted, it is a command name like any other.
    expect(both('"*=*" npm', 'FOO=1 npm')).toEqual([false, false]);
  });

  it('pattern assignments must be present', () => {
    expect(both('NODE_ENV=test npm test', 'npm test')).toEqual([false, false]);
    expect(both('NODE_ENV=test npm test', 'NODE_ENV=test npm test')).toEqual([true, true]);
    expect(both('GIT_SSH_COMMAND=* git **', 'GIT_SSH_COMMAND="sh -c id" git fetch')).toEqual([true, true]);
    expect(both('GIT_SSH_COMMAND=* git **', 'git fetch')).toEqual([false, false]);
  });

  it('dynamic assignment values: only * in must, anything in could', () => {
    expect(both('NODE_ENV=test npm test', 'NODE_ENV=$x npm test')).toEqual([false, true]);
    expect(both('NODE_ENV=* npm test', 'NODE_ENV=$x npm test')).toEqual([true, true]);
    expect(both('NODE_ENV=test npm test', 'NODE_ENV+=x npm test')).toEqual([false, true]);
  });

  it('isSafeAssignment', () => {
    for (const n of ['CI', 'NODE_ENV', 'DEBUG', 'FORCE_COLOR', 'NO_COLOR', 'TZ', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'COLUMNS', 'LINES', 'RUST_BACKTRACE', 'RUST_LOG', 'PYTHONUNBUFFERED', 'PYTHONDONTWRITEBYTECODE', 'VERBOSE']) {
      expect(isSafeAssignment(n), n).toBe(true);
    }
    for (const n of ['PATH', 'LD_PRELOAD', 'NODE_OPTIONS', 'LC_', 'lc_all', 'GIT_DIR']) {
      expect(isSafeAssignment(n), n).toBe(false);
    }
  });
});

describe('isInertBareAssignment', () => {
  it('is false for variables that change later commands or the environment', () => {
    for (const n of [
      'PATH', 'IFS', 'HOME', 'CDPATH', 'GLOBIGNORE', 'BASHOPTS', 'SHELLOPTS', 'PS4', 'PS1', 'PROMPT_COMMAND', 'BASH_ENV', 'ENV',
      'BASH_XTRACEFD', 'SHELL', 'TMPDIR', 'PWD', 'OLDPWD', 'BASH_FUNC_x%%', 'BASH_ANYTHING', 'LD_PRELOAD', 'LD_LIBRARY_PATH',
      'DYLD_INSERT_LIBRARIES', 'LANG', 'TERM', 'LC_ALL', 'TZ', 'GIT_SSH_COMMAND', 'GIT_DIR', 'http_proxy', 'HTTPS_PROXY',
      'NODE_OPTIONS', 'PYTHONPATH', 'PERL5OPT', 'EDITOR', 'PAGER', 'SSH_AUTH_SOCK', 'PATH[0]', 'not-a-name',
    ]) {
      expect(isInertBareAssignment(n), n).toBe(false);
    }
  });

  it('is true for ordinary variables', () => {
    for (const n of ['x', 'foo', 'MY_VAR', 'count', 'a[1]', 'RESULT', 'path', 'home', 'files']) {
      expect(isInertBareAssignment(n), n).toBe(true);
    }
  });
});
