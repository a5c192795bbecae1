/**
 * analyzeShell(): every simple command bash could run, every file redirection, and a problem for
 * everything the analysis cannot fully understand. Commands are rendered compactly by `show()`:
 *   [wrapper > wrapper] NAME=value name arg <dynamic> <dynamic-maybe-several-words>* …(dynamicTail)
 * Literal words containing blanks, quotes or <> are JSON-quoted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeShell, decodeAnsiC, initShellParser, MAX_INPUT_BYTES } from '../../policies/shell/analyze.js';
import type { ShellAnalysis, SimpleCommand, Word } from '../../policies/shell/types.js';

beforeAll(async () => {
  await initShellParser();
});

function w(x: Word): string {
  if (x.kind === 'dynamic') return `<${x.text}>${x.multi ? '*' : ''}`;
  return /^[^\s"'<>]+$/.test(x.value) ? x.value : JSON.stringify(x.value);
}

function show(c: SimpleCommand): string {
  const parts: string[] = [];
  if (c.wrappers.length) parts.push(`[${c.wrappers.join(' > ')}]`);
  for (const a of c.assignments) parts.push(`${a.name}=${w(a.value)}`);
  if (c.name) parts.push(w(c.name));
  for (const a of c.args) parts.push(w(a));
  if (c.dynamicTail) parts.push('…');
  return parts.join(' ');
}

function cmds(src: string): string[] {
  return analyzeShell(src).commands.map(show);
}

/** Commands of a script that must analyse without problems. */
function clean(src: string): string[] {
  const a = analyzeShell(src);
  expect(a.problems).toEqual([]);
  return a.commands.map(show);
}

function redirs(src: string): string[] {
  return analyzeShell(src).redirects.map((r) => `${r.op} ${w(r.target)} ${r.access}`);
}

function problems(src: string): string[] {
  return analyzeShell(src).problems;
}

/** Asserts there is at least one problem, and that one of them matches `re`. */
function expectProblem(src: string, re: RegExp): ShellAnalysis {
  const a = analyzeShell(src);
  expect(a.problems.some((p) => re.test(p)), `problems of ${JSON.stringify(src)}: ${JSON.stringify(a.problems)}`).toBe(true);
  return a;
}

describe('structure of the result', () => {
  it('returns exact SimpleCommand objects', () => {
    const a = analyzeShell('FOO=1 git -C "$dir" log --oneline *.ts');
    expect(a).toEqual({
      commands: [
        {
          name: { kind: 'literal', value: 'git' },
          args: [
            { kind: 'literal', value: '-C' },
            { kind: 'dynamic', text: '"$dir"' },
            { kind: 'literal', value: 'log' },
            { kind: 'literal', value: '--oneline' },
            { kind: 'dynamic', text: '*.ts', multi: true },
          ],
          assignments: [{ name: 'FOO', value: { kind: 'literal', value: '1' } }],
          wrappers: [],
          dynamicTail: false,
          text: 'FOO=1 git -C "$dir" log --oneline *.ts',
        },
      ],
      redirects: [],
      problems: [],
    });
  });

  it('returns exact Redirect objects', () => {
    expect(analyzeShell('cat <in >out 2>&1').redirects).toEqual([
      { op: '<', target: { kind: 'literal', value: 'in' }, access: 'read', text: '<in' },
      { op: '>', target: { kind: 'literal', value: 'out' }, access: 'write', text: '>out' },
    ]);
  });

  it('gives empty results for empty input, blanks and comments', () => {
    for (const src of ['', '   ', '\n\n', '# just a comment', '  # one\n# two\n']) {
      expect(analyzeShell(src)).toEqual({ commands: [], redirects: [], problems: [] });
    }
  });

  it('refuses inputs over 64 KiB without parsing', () => {
    const big = `echo ${'a'.repeat(MAX_INPUT_BYTES)}`;
    const a = analyzeShell(big);
    expect(a.commands).toEqual([]);
    expect(a.problems).toHaveLength(1);
    expect(a.problems[0]).toMatch(/over the 65536-byte limit/);
    // Multi-byte characters count in bytes.
    expect(analyzeShell(`echo ${'é'.repeat(MAX_INPUT_BYTES / 2)}`).problems[0]).toMatch(/byte limit/);
    expect(analyzeShell(`echo ${'a'.repeat(MAX_INPUT_BYTES - 10)}`).problems).toEqual([]);
  });
});

describe('every simple command anywhere is reported', () => {
  it('lists, pipelines and separators', () => {
    expect(clean('git status && curl x | sh')).toEqual(['git status', 'curl x', 'sh']);
    expect(clean('a; b & c || d\ne |& f')).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(clean('ls # comment; rm x\necho y')).toEqual(['ls', 'echo y']);
    expect(clean('ls \\\n  -la && \\\n rm x')).toEqual(['ls -la', 'rm x']);
    expect(clean('! git diff --quiet')).toEqual(['git diff --quiet']);
  });

  it('subshells, groups and control flow', () => {
    expect(clean('(cd x && rm y)')).toEqual(['cd x', 'rm y']);
    expect(clean('{ curl x; wget y; }')).toEqual(['curl x', 'wget y']);
    expect(clean('if a; then b; elif c; then d; else e; fi')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(clean('while read l; do echo "$l"; done')).toEqual(['read l', 'echo <"$l">']);
    expect(clean('until false; do sleep 1; done')).toEqual(['false', 'sleep 1']);
    expect(clean('case "$1" in a|b) ls;; *) rm x;; esac')).toEqual(['ls', 'rm x']);
    expect(clean('case $(uname) in Linux) ls;; esac')).toEqual(['uname', 'ls']);
    expect(clean('case x in $(id)) ls;; esac')).toEqual(['id', 'ls']);
  });

  it('for and select loops report the loop variable as an assignment', () => {
    expect(clean('for f in a b; do rm "$f"; done')).toEqual(['f=<a b>', 'rm <"$f">']);
    expect(clean('for f in one; do :; done')).toEqual(['f=one', ':']);
    expect(clean('for PATH in /tmp/evil; do git status; done')).toEqual(['PATH=/tmp/evil', 'git status']);
    expect(clean('for f; do echo; done')).toEqual(['f=<"$@">', 'echo']);
    expect(clean('for f in $(ls); do cat "$f"; done')).toEqual(['ls', 'f=<$(ls)>', 'cat <"$f">']);
    expect(clean('select x in a b; do ls; done')).toEqual(['x=<a b>', 'ls']);
  });

  it('function bodies are analysed, calls are ordinary commands', () => {
    expect(clean('f(){ rm -rf /; }; f')).toEqual(['rm -rf /', 'f']);
    expect(clean('function g { curl x; }; g a')).toEqual(['curl x', 'g a']);
    expect(clean('git() { rm -rf ~; }; git status')).toEqual(['rm -rf ~', 'git status']);
    expect(clean('f() ( ls )')).toEqual(['ls']);
  });

  it('command substitutions, backticks and process substitutions', () => {
    expect(clean('echo $(cat ~/.ssh/id_rsa)')).toEqual(['cat ~/.ssh/id_rsa', 'echo <$(cat ~/.ssh/id_rsa)>*']);
    expect(clean('echo `id`')).toEqual(['id', 'echo <`id`>*']);
    expect(clean('echo "a $(id) b"')).toEqual(['id', 'echo <"a $(id) b">']);
    expect(clean('echo "$(echo $(whoami))"')).toEqual(['whoami', 'echo <$(whoami)>*', 'echo <"$(echo $(whoami))">']);
    expect(clean('diff <(curl x) >(tee y)')).toEqual(['curl x', 'tee y', 'diff <<(curl x)> <>(tee y)>']);
    expect(clean('cat < <(curl x)')).toEqual(['curl x', 'cat']);
  });

  it('code in assignments, expansions, here-strings, redirect targets and case words', () => {
    expect(clean('x=$(curl x)')).toEqual(['curl x', 'x=<$(curl x)>']);
    expect(clean('X=`id` ls')).toEqual(['id', 'X=<`id`> ls']);
    expect(clean('echo ${x:-$(curl y)}')).toEqual(['curl y', 'echo <${x:-$(curl y)}>*']);
    expect(clean('cat <<<"$(id) x"')).toEqual(['id', 'cat']);
    expect(clean('ls > "$(mktemp)"')).toEqual(['mktemp', 'ls']);
    expect(clean('a=(x $(id) y)')).toEqual(['id', 'a=<(x $(id) y)>']);
    expect(clean('export X=$(pwd)')).toEqual(['pwd', 'export <X=$(pwd)>']);
    expect(clean('local y="$(hostname)"')).toEqual(['hostname', 'local <y="$(hostname)">']);
  });

  it('code inside [[ ]], arithmetic and array subscripts (reported, and a problem)', () => {
    const a = analyzeShell('[[ -v x[$(id)] ]]');
    expect(a.commands.map(show)).toEqual(['id', '[[ -v <x[$(id)]>']);
    expect(a.problems).toHaveLength(1);
    const b = analyzeShell('echo $(( a[$(id)] ))');
    expect(b.commands.map(show)).toEqual(['id', 'echo <$(( a[$(id)] ))>*']);
    expect(b.problems).toHaveLength(1);
    expect(cmds('(( a[$(whoami)] ))')).toEqual(['whoami']);
    expect(cmds('a[$(id)]=1')).toEqual(['id', 'a[$(id)]=1']);
    expect(clean('[[ -n "$(id)" ]]')).toEqual(['id', '[[ -n <"$(id)">']);
  });

  it('heredoc bodies with an unquoted delimiter are analysed, quoted ones are data', () => {
    expect(clean('cat <<EOF\nhello $(id) ${HOME}\nEOF')).toEqual(['id', 'cat']);
    expect(clean("cat <<'EOF'\n$(id) `x`\nEOF")).toEqual(['cat']);
    expect(clean('cat <<"EOF"\n$(id)\nEOF')).toEqual(['cat']);
    expect(clean('cat <<\\EOF\n$(id)\nEOF')).toEqual(['cat']);
    expect(clean('cat <<EOF | sh\nrm -rf /\nEOF')).toEqual(['cat', 'sh']);
    expect(clean('cat <<EOF > out && rm y\nz\nEOF')).toEqual(['cat', 'rm y']);
    // The body is data, and the substitution's value is that text (see "$(cat <<'EOF' … EOF)" below).
    expect(clean('git commit -m "$(cat <<\'EOF\'\nfix: $(x)\nEOF\n)"')).toEqual(['cat', 'git commit -m "fix: $(x)"']);
  });
});

describe('expansions the parser misses are found by a second scan', () => {
  it('in heredoc bodies (lines starting with blanks and $, backticks, <<-)', () => {
    expect(clean('cat <<EOF\n`id`\nEOF')).toEqual(['id', 'cat']);
    expect(clean('cat <<-EOF\n\t$(id)\n\tEOF')).toEqual(['id', 'cat']);
    expect(clean('cat <<EOF\n  $(a)\n  ${x:-$(b)}\n  $y `c`\nEOF')).toEqual(['a', 'b', 'c', 'cat']);
    expect(clean('cat <<EOF\n$ $(id)\nEOF')).toEqual(['id', 'cat']);
    expect(clean('cat > f.sh <<EOF\nif true; then\n  $HOME/bin/x\nfi\nEOF')).toEqual(['cat']);
  });

  it('in double-quoted strings ("$ " confuses the parser)', () => {
    expect(clean('echo "$ $(id)"')).toEqual(['id', 'echo <"$ $(id)">']);
    expect(clean('echo "quoted $ is fine"')).toEqual(['echo "quoted $ is fine"']);
    expect(clean('echo "$ a $b"')).toEqual(['echo <"$ a $b">']);
    expect(clean('echo "$\nx"')).toEqual(['echo "$\\nx"']);
    expect(clean('echo "a $x $(id) ${y} $((1)) `w` \\$z $"')).toEqual(['id', 'w', 'echo <"a $x $(id) ${y} $((1)) `w` \\$z $">']);
  });
});

describe('"$(cat <<\'EOF\' … EOF)" is the heredoc\'s text', () => {
  const args = (src: string): string[] => {
    const a = analyzeShell(src);
    const git = a.commands.find((c) => c.name?.kind === 'literal' && c.name.value === 'git');
    return git ? git.args.map(w) : [];
  };

  it('a quoted substitution of cat reading a heredoc without expansions is a literal', () => {
    const msg = 'git commit -m "$(cat <<\'EOF\'\nfeat: x\n\nbody $HOME `id`\nEOF\n)"';
    expect(analyzeShell(msg).problems).toEqual([]);
    expect(args(msg)).toEqual(['commit', '-m', JSON.stringify('feat: x\n\nbody $HOME `id`')]);
    // cat itself still runs, and is reported.
    expect(cmds(msg)).toContain('cat');
    expect(args('git commit -m "$(cat <<EOF\nfeat: x\nEOF\n)"')).toEqual(['commit', '-m', '"feat: x"']);
    expect(args('git commit -m "$(cat <<-\'EOF\'\n\tfeat: x\n\tEOF\n)"')).toEqual(['commit', '-m', '"feat: x"']);
    expect(args('git commit -m "a: $(cat <<\'EOF\'\nx\nEOF\n) b"')).toEqual(['commit', '-m', '"a: x b"']);
  });

  it('anything else stays a run-time value', () => {
    for (const src of [
      'git log $(cat <<\'EOF\'\nHEAD\nEOF\n)', // unquoted: split and globbed
      'git log "$(cat <<EOF\n$X\nEOF\n)"', // unquoted delimiter with an expansion
      'git log "$(cat x <<\'EOF\'\nHEAD\nEOF\n)"',
      'git log "$(cat <<\'EOF\' > out\nHEAD\nEOF\n)"',
      'git log "$(X=1 cat <<\'EOF\'\nHEAD\nEOF\n)"',
      'git log "$(tac <<\'EOF\'\nHEAD\nEOF\n)"',
      'git log "$(cat <<\'EOF\'\nHEAD\nEOF\necho x\n)"',
      'git log "`cat <<\'EOF\'\nHEAD\nEOF\n`"',
    ]) {
      expect(args(src)[1], src).toMatch(/^</);
    }
  });

  it('is refused when the script may redefine cat', () => {
    for (const pre of ['cat() { echo --output=/tmp/x; }; ', 'function cat { :; }; ', 'source ./x.sh; ', '. ./x.sh; ', 'alias cat=tac; ', 'hash -p /tmp/x cat; ', 'eval "cat() { :; }"; ']) {
      const a = analyzeShell(pre + 'git log "$(cat <<\'EOF\'\nHEAD\nEOF\n)"');
      expect(a.problems.join('\n'), pre).toMatch(/may redefine cat/);
    }
  });
});

describe('words: literal values after quote removal', () => {
  const one = (src: string): string[] => {
    const a = analyzeShell(src);
    expect(a.problems).toEqual([]);
    expect(a.commands).toHaveLength(1);
    const c = a.commands[0];
    return [c.name as Word, ...c.args].map(w);
  };

  it('concatenations, quotes and backslashes', () => {
    expect(one('g"i"t push')).toEqual(['git', 'push']);
    expect(one("'r''m' -rf /")).toEqual(['rm', '-rf', '/']);
    expect(one('\\rm -rf /')).toEqual(['rm', '-rf', '/']);
    expect(one('e\\cho a\\ b')).toEqual(['echo', '"a b"']);
    expect(one("echo 'a'\\''b'")).toEqual(['echo', '"a\'b"']);
    expect(one('echo "a\\"b" "\\$(id)" "\\\\" "a\\x"')).toEqual(['echo', '"a\\"b"', '$(id)', '\\', 'a\\x']);
    expect(one('echo "" \'\' a""b')).toEqual(['echo', '""', '""', 'ab']);
    expect(one('echo $ "$" "a$" a$')).toEqual(['echo', '$', '$', 'a$', 'a$']);
    expect(one('echo \\; ";" a\\;b')).toEqual(['echo', ';', ';', 'a;b']);
    expect(one('echo "a\\\nb"')).toEqual(['echo', 'ab']);
    expect(one("echo 'a\\\nb'")).toEqual(['echo', '"a\\\\\\nb"']);
    expect(one('echo a#b --x=#y')).toEqual(['echo', 'a#b', '--x=#y']);
  });

  it("ANSI-C $'…' strings are decoded", () => {
    expect(one("$'\\x72m' -rf /")).toEqual(['rm', '-rf', '/']);
    expect(one("$'\\162\\155' x")).toEqual(['rm', 'x']);
    expect(one("$'\\u0072m' x")).toEqual(['rm', 'x']);
    expect(decodeAnsiC('a\\tb\\nc\\\\d\\\'e\\"f\\?g')).toBe('a\tb\nc\\d\'e"f?g');
    expect(decodeAnsiC('\\a\\b\\e\\E\\f\\r\\v')).toBe('\x07\b\x1b\x1b\f\r\v');
    expect(decodeAnsiC('\\cA\\x41\\101\\x4')).toBe('\x01AA\x04');
    expect(decodeAnsiC('\\q\\x\\')).toBe('\\q\\x\\');
    expect(decodeAnsiC('a\\\nb')).toBe('a\\\nb');
    // NUL truncates in bash, bytes ≥ 0x80 and \u beyond ASCII depend on the locale: not literal.
    expect(decodeAnsiC('rm\\x00x')).toBeNull();
    expect(decodeAnsiC('\\0')).toBeNull();
    expect(decodeAnsiC('\\xff')).toBeNull();
    expect(decodeAnsiC('\\u00e9')).toBeNull();
    expect(one("echo $'\\x00' $'\\xff'")).toEqual(['echo', "<$'\\x00'>", "<$'\\xff'>"]);
  });

  it('expansions are dynamic; unquoted ones may be several words', () => {
    expect(one('echo $x "$x" ${x} "${x}" $1 "$@" "$*" $@ "${a[@]}" "${a[*]}"')).toEqual([
      'echo', '<$x>*', '<"$x">', '<${x}>*', '<"${x}">', '<$1>*', '<"$@">*', '<"$*">', '<$@>*', '<"${a[@]}">*', '<"${a[*]}">',
    ]);
    expect(one('$cmd -rf /')).toEqual(['<$cmd>*', '-rf', '/']);
    expect(one('cat$IFS/etc/passwd')).toEqual(['<cat$IFS/etc/passwd>*']);
    expect(one('echo a"$x"b')).toEqual(['echo', '<a"$x"b>']);
    expect(one('echo $((1+2)) "$((3))"')).toEqual(['echo', '<$((1+2))>*', '<"$((3))">']);
  });

  it('unquoted globs and brace expansions are dynamic, quoted or escaped ones literal', () => {
    expect(one('echo *.txt a?b [ab] x[0-9]')).toEqual(['echo', '<*.txt>*', '<a?b>*', '<[ab]>*', '<x[0-9]>*']);
    expect(one('echo \\* "*" \'?\' a[ "[ab]" a\\[b]')).toEqual(['echo', '*', '*', '?', 'a[', '[ab]', 'a[b]']);
    expect(one('echo {a,b} {1..3} a{,}b x{a..z}y {a,"b c"}')).toEqual(['echo', '<{a,b}>*', '<{1..3}>*', '<a{,}b>*', '<x{a..z}y>*', '<{a,"b c"}>*']);
    expect(one('echo {} {x} HEAD@{1} stash@{0} \\{a,b}')).toEqual(['echo', '{}', '{x}', 'HEAD@{1}', 'stash@{0}', '{a,b}']);
    expect(one('x{ls,-la}')).toEqual(['<x{ls,-la}>*']);
    // bash runs `ls -la`; the parser fails on it, which is a problem.
    expectProblem('{ls,-la}', /syntax error/);
    expect(one('/bin/r? x')).toEqual(['</bin/r?>*', 'x']);
  });

  it('tilde: ~ and ~/… stay literal for the caller, other forms are dynamic', () => {
    expect(one('ls ~ ~/x ~root ~+ ~- a~b "~" \\~ ~"root"')).toEqual(['ls', '~', '~/x', '<~root>', '<~+>', '<~->', 'a~b', '~', '~', '~root']);
    // bash expands ~ after = and : in assignment-like arguments and in assignments.
    expect(one('echo a=~/x --prefix=~/x a=b:~/c')).toEqual(['echo', '<a=~/x>', '--prefix=~/x', '<a=b:~/c>']);
    expect(clean('X=~/bin:~/sbin Y=~ Z=a~b')).toEqual(['X=<~/bin:~/sbin> Y=~ Z=a~b']);
  });

  it('assignment values are not globbed or brace-expanded', () => {
    expect(clean('x=* y={a,b} z=[ab]')).toEqual(['x=* y={a,b} z=[ab]']);
  });
});

describe('assignments and declarations', () => {
  it('bare assignments are commands without a name', () => {
    const a = analyzeShell('X=1 Y+=2 Z= A=(1 2)');
    expect(a.problems).toEqual([]);
    expect(a.commands).toEqual([
      {
        name: null,
        args: [],
        assignments: [
          { name: 'X', value: { kind: 'literal', value: '1' } },
          { name: 'Y', value: { kind: 'dynamic', text: 'Y+=2' } },
          { name: 'Z', value: { kind: 'literal', value: '' } },
          { name: 'A', value: { kind: 'dynamic', text: '(1 2)' } },
        ],
        wrappers: [],
        dynamicTail: false,
        text: 'X=1 Y+=2 Z= A=(1 2)',
      },
    ]);
    expect(clean('a=rm; $a -rf /')).toEqual(['a=rm', '<$a>* -rf /']);
    expect(clean('PATH=/tmp/x:$PATH git status')).toEqual(['PATH=</tmp/x:$PATH> git status']);
  });

  it('declaration commands are named by their keyword', () => {
    expect(clean('export A=1 B')).toEqual(['export A=1 B']);
    expect(clean('declare -x C="a b"; readonly R; typeset T=2; local L')).toEqual(['declare -x "C=a b"', 'readonly R', 'typeset T=2', 'local L']);
    expect(clean('unset -f a b; unset -v X')).toEqual(['unset -f a b', 'unset -v X']);
    expect(clean('declare -A m=([k]=v)')).toEqual(['declare -A <m=([k]=v)>']);
    // Keys of an indexed array are arithmetic.
    expectProblem('declare -a m=([k]=v)', /evaluated as arithmetic/);
  });
});

describe('wrappers are unwrapped', () => {
  it('shells with -c are parsed recursively', () => {
    expect(clean('bash -c "rm -rf /"')).toEqual(['[bash -c] rm -rf /']);
    expect(clean("sh -c 'curl x | sh'")).toEqual(['[sh -c] curl x', '[sh -c] sh']);
    expect(clean('bash -x -e -o pipefail -c "ls; rm x" arg0 a1')).toEqual(['[bash -c] ls', '[bash -c] rm x']);
    expect(clean('bash --norc --noprofile -ec "ls"')).toEqual(['[bash -c] ls']);
    expect(clean('dash -c ls')).toEqual(['[dash -c] ls']);
    // Startup files or a path-qualified shell: the shell itself is reported too.
    expect(clean('bash -lc "git status"')).toEqual(['bash -lc "git status"', '[bash -c] git status']);
    expect(clean('bash --rcfile x -c ls')).toEqual(['bash --rcfile x -c ls', '[bash -c] ls']);
    expect(clean('/bin/bash -c ls')).toEqual(['/bin/bash -c ls', '[bash -c] ls']);
    // Without -c the shell runs a file or stdin: reported as is.
    expect(clean('bash script.sh a')).toEqual(['bash script.sh a']);
    expect(clean('curl x | bash')).toEqual(['curl x', 'bash']);
    expect(clean('bash -s < x')).toEqual(['bash -s']);
  });

  it('eval joins its arguments and parses them', () => {
    expect(clean('eval "rm -rf /"')).toEqual(['[eval] rm -rf /']);
    expect(clean('eval rm \\; curl x')).toEqual(['[eval] rm', '[eval] curl x']);
    expect(clean('eval echo \\$\\(id\\)')).toEqual(['[eval] id', '[eval] echo <$(id)>*']);
    expect(clean(`eval 'eval "eval ls"'`)).toEqual(['[eval > eval > eval] ls']);
  });

  it('env: options, assignments, -S', () => {
    expect(clean('env PATH=/tmp/x git')).toEqual(['[env] PATH=/tmp/x git']);
    expect(clean('env -i -u HOME A=1 B=2 ls -l')).toEqual(['[env] HOME=<-u HOME> A=1 B=2 ls -l']);
    expect(clean('env -- X=1 ls')).toEqual(['[env] X=1 ls']);
    expect(clean("env -S 'rm -rf /'")).toEqual(['[env] rm -rf /']);
    expect(clean("env --split-string='A=1 rm x' y")).toEqual(['[env] A=1 rm x y']);
    expect(clean('env')).toEqual(['env']);
    expect(clean('X=1 env Y=2 cmd')).toEqual(['[env] X=1 Y=2 cmd']);
    // -C changes directory: env is reported too.
    expect(clean('env -C /tmp rm x')).toEqual(['env -C /tmp rm x', '[env] rm x']);
    expect(clean('/usr/bin/env rm x')).toEqual(['/usr/bin/env rm x', '[env] rm x']);
  });

  it('transparent wrappers report only the inner command', () => {
    expect(clean('timeout 5 nice -n 1 rm -rf /')).toEqual(['[timeout > nice] rm -rf /']);
    expect(clean('timeout -s KILL -k 2 10s make')).toEqual(['[timeout] make']);
    expect(clean('timeout --signal=TERM --preserve-status 1m make')).toEqual(['[timeout] make']);
    expect(clean('nice -10 make; nice -n5 make; nice --adjustment=3 make')).toEqual(['[nice] make', '[nice] make', '[nice] make']);
    expect(clean('nohup rm x &')).toEqual(['[nohup] rm x']);
    expect(clean('stdbuf -oL -e0 grep x')).toEqual(['[stdbuf] grep x']);
    expect(clean('setsid -f rm x')).toEqual(['[setsid] rm x']);
    expect(clean('ionice -c3 rm x')).toEqual(['[ionice] rm x']);
    expect(clean('time rm x; time -p rm y')).toEqual(['[time] rm x', '[time] rm y']);
    expect(clean('command git push')).toEqual(['[command] git push']);
    expect(clean('command -p rm x')).toEqual(['[command] rm x']);
    expect(clean('builtin cd /')).toEqual(['[builtin] cd /']);
    expect(clean('exec rm -rf /')).toEqual(['[exec] rm -rf /']);
    expect(clean('exec -a name rm x')).toEqual(['[exec] rm x']);
    expect(clean('unbuffer -p rm x')).toEqual(['[unbuffer] rm x']);
    expect(clean('sudo timeout 5 env A=1 nice bash -c "id"')).toEqual([
      'sudo timeout 5 env A=1 nice bash -c id',
      '[sudo > timeout > env > nice > bash -c] A=1 id',
    ]);
  });

  it('wrappers without an inner command are reported themselves', () => {
    expect(clean('command -v git')).toEqual(['command -v git']);
    expect(clean('command -V git')).toEqual(['command -V git']);
    expect(clean('nice')).toEqual(['nice']);
    expect(clean('ionice -p 12')).toEqual(['ionice -p 12']);
    expect(clean('timeout 5')).toEqual(['timeout 5']);
    expect(clean('nohup --version')).toEqual(['nohup --version']);
  });

  it('exec without a command only redirects', () => {
    expect(clean('exec >log 2>&1')).toEqual([]);
    expect(redirs('exec >log 2>&1')).toEqual(['> log write']);
  });

  it('privilege and launcher wrappers report both commands', () => {
    expect(clean("sudo -u root sh -c 'rm -rf /'")).toEqual(["sudo -u root sh -c \"rm -rf /\"", '[sudo > sh -c] rm -rf /']);
    expect(clean('sudo -E -u bob VAR=1 git push')).toEqual(['sudo -E -u bob VAR=1 git push', '[sudo] VAR=1 git push']);
    expect(clean('sudo --user=x -g wheel rm')).toEqual(['sudo --user=x -g wheel rm', '[sudo] rm']);
    expect(clean('sudo -iu root rm')).toEqual(['sudo -iu root rm', '[sudo] rm']);
    expect(clean('sudo -l rm')).toEqual(['sudo -l rm']);
    expect(clean('sudo -e /etc/passwd')).toEqual(['sudo -e /etc/passwd']);
    expect(clean('sudo -s')).toEqual(['sudo -s']);
    expect(clean('doas -u root rm x')).toEqual(['doas -u root rm x', '[doas] rm x']);
    expect(clean('pkexec --user root rm x')).toEqual(['pkexec --user root rm x', '[pkexec] rm x']);
    expect(clean("su - root -c 'rm x'")).toEqual(['su - root -c "rm x"', '[su -c] rm x']);
    expect(clean('su root')).toEqual(['su root']);
    expect(clean('runuser -u bob -- rm x')).toEqual(['runuser -u bob -- rm x', '[runuser] rm x']);
    expect(clean('chroot /mnt rm x')).toEqual(['chroot /mnt rm x', '[chroot] rm x']);
    expect(clean('busybox sh -c "rm x"')).toEqual(['busybox sh -c "rm x"', '[busybox > sh -c] rm x']);
    expect(clean('flock /tmp/l rm x')).toEqual(['flock /tmp/l rm x', '[flock] rm x']);
    expect(clean("flock -n -w 3 /tmp/l -c 'rm x'")).toEqual(['flock -n -w 3 /tmp/l -c "rm x"', '[flock -c] rm x']);
    expect(clean('watch -n1 "ls | wc -l"')).toEqual(['watch -n1 "ls | wc -l"', '[watch] ls', '[watch] wc -l']);
    expect(clean('watch -x ls -l')).toEqual(['watch -x ls -l', '[watch] ls -l']);
    expect(clean("script -q /dev/null -c 'rm x'")).toEqual(['script -q /dev/null -c "rm x"', '[script -c] rm x']);
    expect(clean('/usr/bin/time -o out rm x')).toEqual(['/usr/bin/time -o out rm x', '[time] rm x']);
    expect(clean('nice time -o out -f %e rm x')).toEqual(['[nice] time -o out -f %e rm x', '[nice > time] rm x']);
    // A path-qualified "transparent" wrapper might be anything: report it too.
    expect(clean('./timeout 5 git status')).toEqual(['./timeout 5 git status', '[timeout] git status']);
  });

  it('xargs: inner command with appended arguments', () => {
    expect(clean('xargs rm')).toEqual(['xargs rm', '[xargs] rm …']);
    expect(clean('xargs')).toEqual(['xargs', '[xargs] echo …']);
    expect(clean('find . | xargs -0 -n1 -P4 grep -l foo')).toEqual(['find .', 'xargs -0 -n1 -P4 grep -l foo', '[xargs] grep -l foo …']);
    expect(clean('xargs -I{} cp {} /tmp/{}.bak')).toEqual(['xargs -I{} cp {} /tmp/{}.bak', '[xargs] cp <{}> </tmp/{}.bak>']);
    expect(clean('xargs -i echo {}')).toEqual(['xargs -i echo {}', '[xargs] echo <{}>']);
    expect(clean('xargs --null --max-args=2 rm')).toEqual(['xargs --null --max-args=2 rm', '[xargs] rm …']);
  });

  it('xargs into a shell with a dynamic string is a problem', () => {
    const a = expectProblem('xargs -I % sh -c "echo %"', /sh -c runs a run-time string/);
    expect(a.commands.map(show)).toEqual(['xargs -I % sh -c "echo %"']);
  });

  it('find -exec/-execdir/-ok/-okdir', () => {
    expect(clean('find . -exec rm {} \\;')).toEqual(['find . -exec rm {} ;', '[find -exec] rm <{}>']);
    expect(clean("find . -name '*.js' -exec grep -l foo {} + -delete")).toEqual([
      'find . -name *.js -exec grep -l foo {} + -delete',
      '[find -exec] grep -l foo <{}> …',
    ]);
    expect(clean("find -L . -execdir mv {} {}.bak ';' -okdir rm {} \\;")).toEqual([
      'find -L . -execdir mv {} {}.bak ; -okdir rm {} ;',
      '[find -execdir] mv <{}> <{}.bak>',
      '[find -okdir] rm <{}>',
    ]);
    expect(clean('find . -exec echo + \\;')).toEqual(['find . -exec echo + ;', '[find -exec] echo +']);
    expect(clean('find . -exec bash -c "rm x" \\;')).toEqual(['find . -exec bash -c "rm x" ;', '[find -exec > bash -c] rm x']);
  });

  it('trap and alias strings are parsed as code', () => {
    expect(clean("trap 'rm -rf /' EXIT")).toEqual(['trap "rm -rf /" EXIT', '[trap] rm -rf /']);
    expect(clean('trap -- "curl x" INT TERM')).toEqual(['trap -- "curl x" INT TERM', '[trap] curl x']);
    expect(clean('trap - INT; trap -p; trap INT')).toEqual(['trap - INT', 'trap -p', 'trap INT']);
    expect(clean("alias ls='rm -rf /'")).toEqual(['alias "ls=rm -rf /"', '[alias] rm -rf /']);
    expect(clean('alias')).toEqual(['alias']);
  });

  it('nesting is limited', () => {
    let s = 'ls';
    for (let i = 0; i < 12; i++) s = `eval ${JSON.stringify(s).replace(/\$/g, '\\$')}`;
    expectProblem(s, /nesting deeper than 8/);
    let t = 'ls';
    for (let i = 0; i < 12; i++) t = `nice ${t}`;
    expectProblem(t, /nesting deeper than 8/);
    expect(clean('nice nice nice ls')).toEqual(['[nice > nice > nice] ls']);
  });
});

describe('redirects', () => {
  it('writes, reads, fd duplications and closes', () => {
    expect(redirs('ls >f 2>&1 3<&- >&2 &>g &>>h >>i >|j <k 2>/dev/null >&file <&3 >&$x 4>&-')).toEqual([
      '> f write',
      '&> g write',
      '&>> h write',
      '>> i write',
      '>| j write',
      '< k read',
      '> /dev/null write',
      '>& file write',
      '>& <$x> write',
    ]);
    expect(redirs('echo x > $TARGET')).toEqual(['> <$TARGET> write']);
    expect(redirs('echo x &> ~/.bashrc')).toEqual(['&> ~/.bashrc write']);
    expect(redirs('ls > *.txt')).toEqual(['> <*.txt> write']);
    expect(redirs('ls > /dev/stdout 2>/dev/fd/3')).toEqual(['> /dev/stdout write', '> /dev/fd/3 write']);
  });

  it('redirects attached to compound commands and functions count', () => {
    expect(redirs('{ ls; } > f')).toEqual(['> f write']);
    expect(redirs('while read x; do echo "$x"; done < in > out')).toEqual(['< in read', '> out write']);
    expect(redirs('if true; then echo; fi 2>err')).toEqual(['> err write']);
    expect(redirs('f() { ls; } > log')).toEqual(['> log write']);
    expect(redirs('(ls) >> x')).toEqual(['>> x write']);
    expect(redirs('> f')).toEqual(['> f write']);
    expect(redirs('x=$(<f)')).toEqual(['< f read']);
    expect(redirs('echo `<g`')).toEqual(['< g read']);
    expect(redirs('ls > >(tee f)')).toEqual(['> <>(tee f)> write']);
    expect(redirs('cat <<EOF > out\nx\nEOF')).toEqual(['> out write']);
  });

  it('here-strings and heredocs are not file accesses', () => {
    expect(redirs('cat <<< hi')).toEqual([]);
    expect(redirs('cat <<EOF\nx\nEOF')).toEqual([]);
  });

  it('words after a redirection target are more arguments', () => {
    expect(clean('ls > a -la')).toEqual(['ls -la']);
    expect(redirs('ls > a -la')).toEqual(['> a write']);
    expect(clean('cat <<EOF -n\nx\nEOF')).toEqual(['cat -n']);
  });

  it('<> is a write (and a problem: the parser does not know it)', () => {
    const a = expectProblem('exec 3<>/dev/tcp/evil/80', /syntax error/);
    expect(a.redirects.map((r) => `${r.op} ${w(r.target)} ${r.access}`)).toEqual(['<> /dev/tcp/evil/80 write']);
  });
});

describe('single-bracket [ is an ordinary command', () => {
  it('is reported with its ] argument', () => {
    expect(clean('[ -f x ] && [ -d y ]')).toEqual(['[ -f x ]', '[ -d y ]']);
    expect(clean('if [ -n "$(id)" ]; then ls; fi')).toEqual(['id', '[ -n <"$(id)"> ]', 'ls']);
    expect(analyzeShell('[ -f x ]').commands[0].text).toBe('[ -f x ]');
  });

  it('&& and > inside [ ] are what bash makes of them', () => {
    expect(cmds('[ -f x && rm -rf / ]')).toEqual(['[ -f x', 'rm -rf / ]']);
    expect(cmds('[ a > b ]')).toEqual(['[ a ]']);
    expect(redirs('[ a > b ]')).toEqual(['> b write']);
  });

  it('[[ ]] is reported as a command named [[', () => {
    expect(clean('[[ -f a && ! -d b || ( x == y ) ]]')).toEqual(['[[ -f a && ! -d b || ( x == y )']);
    expect(clean('[[ $x == *.txt ]]')).toEqual(['[[ <$x> == *.txt']);
    expect(clean('[[ x =~ ^a.*$ ]]')).toEqual(['[[ x =~ ^a.*$']);
    expect(clean('[[ 1 -eq 1 ]]')).toEqual(['[[ 1 -eq 1']);
  });
});

describe('problems: what the analysis cannot fully understand', () => {
  it('syntax errors', () => {
    expectProblem('echo "unterminated', /syntax error/);
    expectProblem('ls &&', /syntax error/);
    expectProblem('echo $((echo a); rm x)', /syntax error/);
    expectProblem('case x in a) ls;& esac', /syntax error/);
    expectProblem('ls !(x)', /syntax error/);
    expectProblem('echo \\$(id)', /syntax error/);
  });

  it('keeps reporting what it can find in a broken script', () => {
    expect(cmds('echo $((echo a); rm x)')).toContain('rm x');
  });

  it('{ without a following blank is not a group for bash', () => {
    expectProblem('{ls;}', /blank after "\{"/);
    expect(problems('{ ls;}')).toEqual([]);
    expect(problems('{\nls\n}')).toEqual([]);
  });

  it('coproc and time { } are misread by the parser', () => {
    expectProblem('coproc foo { rm -rf /; }', /reserved word "coproc"/);
    expectProblem('time { rm -rf /; }', /reserved word "\{"/);
    expectProblem('coproc rm x', /coproc/);
  });

  it('line continuation inside a word', () => {
    const a = expectProblem('r\\\nm -rf /', /line continuation inside a word/);
    expect(a.problems.some((p) => /split one shell word/.test(p))).toBe(true);
    expectProblem('gi\\\nt push', /line continuation/);
    expectProblem('PA\\\nTH=/tmp ls', /line continuation/);
    expectProblem('echo "$(r\\\nm x)"', /line continuation/);
    // In single quotes and comments a backslash-newline is not a continuation.
    expect(problems("echo 'a\\\nb'")).toEqual([]);
    expect(problems('ls # a\\\nrm x')).toEqual([]);
    expect(cmds('ls # a\\\nrm x')).toEqual(['ls', 'rm x']);
  });

  it('control characters such as carriage returns', () => {
    expectProblem('ls\rrm x', /control character \\x0d/);
    expectProblem('git status\r\n', /control character/);
    expectProblem('echo a\x00b', /control character \\x00/);
  });

  it('escaped blanks the parser drops or treats as separators', () => {
    // bash passes " x" and "a b" here.
    expectProblem('echo \\ x', /escaped blank/);
    expectProblem('echo a""\\ "b"', /split one shell word/);
    expect(problems('echo a\\ b')).toEqual([]);
  });

  it("$\"…\" is split by the parser", () => {
    expectProblem('echo $"hi"', /split one shell word/);
  });

  it('backslashes inside backticks', () => {
    expectProblem('echo `echo \\`id\\``', /backslashes inside backticks/);
  });

  it('heredoc bodies the parser did not analyse or ended early', () => {
    expectProblem('cat <<EOF\nx\n  $(a "b)\nEOF', /expansions the parser did not analyse/);
    expectProblem('cat <<EOF\nfoo\n EOF\nEOF\nrm x', /disagree on where its body ends/);
    expectProblem('cat <<EOF\na\nEOF ', /disagree on where its body ends/);
    expectProblem('cat <<EOF\n$(id)', /syntax error|disagree/);
    expect(problems('cat <<-EOF\n\tplain\n\tEOF')).toEqual([]);
    expect(problems('cat <<EOF\nescaped \\$(id) \\`x\\`\nEOF')).toEqual([]);
  });

  it('arithmetic on run-time values can run code', () => {
    for (const src of [
      'echo $((x+1))',
      'echo $[x]',
      '(( x ))',
      'echo $(( $x ))',
      'echo $(( $(cat f) + 1 ))',
      'for ((i=0;i<3;i++)); do ls; done',
      '[[ $x -eq 1 ]]',
      '[[ x -lt 3 ]]',
      'echo ${a[i]}',
      'echo ${a[$i]}',
      'echo ${#a[i]}',
      'echo ${y:0:x}',
      'echo ${y:$o}',
      'b[x]=1',
      'c[$i]=1',
      'a=(1 [x]=2)',
      'let x++',
      'echo $((16#$x))',
    ]) {
      expectProblem(src, /arithmetic/);
    }
    for (const src of ['echo $((1+2)) $[3*4] $((${#a}+$#)) $(( $? ))', '(( 1 ))', '[[ 1 -eq 1 ]]', '[ "$x" -eq 1 ]', 'echo ${a[0]} ${a[@]} ${a[*]} ${#a[@]} ${y:1:2} ${y: -1}', 'a[3]=x', 'let 1+2']) {
      expect(problems(src), src).toEqual([]);
    }
  });

  it('indirect and prompt expansions, namerefs and integer variables', () => {
    expectProblem('echo ${!x}', /indirect expansion/);
    expectProblem('echo "${x@P}"', /prompt expansion/);
    expectProblem('declare -n r=x', /namerefs/);
    expectProblem('local -i x=1', /integer/);
    expectProblem('typeset -ni y', /namerefs/);
    expect(problems('echo ${!a[@]} ${!pre*} ${!pre@} ${x@Q} ${x@U}')).toEqual([]);
    expect(problems('declare -a a; declare +i x; export -n X')).toEqual([]);
  });

  it('builtins that take a variable name at run time', () => {
    for (const src of ['read "$x"', 'read -a "$x"', 'printf -v "$x" %s 1', 'declare "$x=1"', 'unset "a[$i]"', "unset 'a[$(id)]'", 'export "$x"', 'getopts ab "$x"', 'wait -n -p "$x"', 'test -v "$x"', '[ -v "$x" ]', 'mapfile -t "$x"', 'read "a[x]"']) {
      expectProblem(src, /run-time variable name|subscript/);
    }
    for (const src of ['read -r line', 'read -a arr', 'printf -v out %s 1', 'test -v x', 'unset -f foo', 'mapfile -t lines', 'unset "a[0]"']) {
      expect(problems(src), src).toEqual([]);
    }
    expectProblem('mapfile -C cb -c 1 arr', /callback/);
  });

  it('variables bash runs or prompt-expands', () => {
    expectProblem('PROMPT_COMMAND="rm x"', /PROMPT_COMMAND/);
    expectProblem('export PS1="\\$(id)"', /PS1/);
    expectProblem('BASH_ENV=/tmp/x bash s.sh', /BASH_ENV/);
    expectProblem('env PS4=x bash -x s', /PS4/);
    expectProblem('for PS1 in x; do :; done', /PS1/);
  });

  it('{var}> redirections are not modelled', () => {
    expectProblem('exec {fd}>file', /\{fd\}/);
  });

  it('run-time code strings', () => {
    expectProblem('bash -c "$cmd"', /bash -c runs a run-time string/);
    expectProblem('eval "$x"', /eval of run-time text/);
    expectProblem('eval ls $x', /eval of run-time text/);
    expectProblem('trap "$x" EXIT', /trap runs a run-time string/);
    expectProblem('alias x="$y"', /alias with run-time text/);
    expectProblem('watch "$x"', /watch runs run-time text/);
    expectProblem('find . -exec sh -c "rm {}" \\;', /sh -c runs a run-time string/);
    expectProblem('su -c "$x"', /su -c runs a run-time string/);
  });

  it('shells other than bash', () => {
    expectProblem("sh -c \"echo \\$'x\\' ; rm -rf / ; echo '\"", /dash reads it differently/);
    expectProblem('zsh -c ls', /non-bash shell/);
    expectProblem('fish -c ls', /non-bash shell/);
    expect(problems('sh -c "ls -la"')).toEqual([]);
  });

  it('unknown wrapper options, dynamic options and missing parts', () => {
    const a = expectProblem('sudo -Q rm', /sudo: unknown option -Q/);
    expect(a.commands.map(show)).toEqual(['sudo -Q rm']);
    expectProblem('timeout --bogus 5 rm', /unknown option --bogus/);
    expectProblem('nice -z rm', /unknown option -z/);
    expectProblem('env -Z rm', /unknown option -Z/);
    expectProblem('xargs --frobnicate rm', /unknown option/);
    expectProblem('bash -O extglob -c ls', /changes how the script is parsed/);
    expectProblem('bash -k -c ls', /changes how the script is parsed/);
    expectProblem('bash -c', /-c without a command string/);
    expectProblem('timeout $d git status', /may expand to several words/);
    expectProblem('nice -n $n git status', /may expand to several words/);
    expectProblem('env $x git status', /could be an assignment or the command/);
    expectProblem('sudo $x git', /could be an assignment or the command/);
    expectProblem('env ./x=1 git', /unusual name/);
    expectProblem("env -S 'rm $HOME'", /-S string/);
    expectProblem('su $x -c ls', /could be an option/);
    expectProblem('find . -exec rm', /without a command and a terminating/);
    expectProblem('find $d -name x', /could be an action/);
    expectProblem('find . -exec echo $x \\;', /several words/);
    expectProblem('flock -c', /needs a value|cannot tell/);
  });

  it('a dynamic wrapper operand in the command position stays a dynamic command name', () => {
    const a = analyzeShell('nice "$cmd" x');
    expect(a.problems).toEqual([]);
    expect(a.commands.map(show)).toEqual(['[nice] <"$cmd"> x']);
    // After sudo a run-time word could also be VAR=value, hiding the real command.
    expect(expectProblem('sudo "$cmd"', /could be an assignment/).commands.map(show)).toEqual(['sudo <"$cmd">']);
  });
});

describe('attacker-chosen arguments are exposed precisely', () => {
  it.each([
    ["git -c core.pager='sh -c id' log", ['git -c "core.pager=sh -c id" log']],
    ['git --exec-path=/tmp/x status', ['git --exec-path=/tmp/x status']],
    ['rg --pre ./x foo', ['rg --pre ./x foo']],
    ['sort -o /etc/passwd x', ['sort -o /etc/passwd x']],
    ['sed -i s/a/b/ f', ['sed -i s/a/b/ f']],
    ["sed -n '1e id' f", ['sed -n "1e id" f']],
    ['tar --to-command=sh -xf x.tar', ['tar --to-command=sh -xf x.tar']],
    ["tar -xf x.tar --checkpoint-action=exec='sh x'", ['tar -xf x.tar "--checkpoint-action=exec=sh x"']],
    ["awk 'BEGIN{system(\"id\")}'", ['awk "BEGIN{system(\\"id\\")}"']],
    ['git push --force origin HEAD:main', ['git push --force origin HEAD:main']],
    ['npm run build -- --watch', ['npm run build -- --watch']],
    ['python3 -c "import os; os.system(\'id\')"', ['python3 -c "import os; os.system(\'id\')"']],
    ['ssh host rm -rf /', ['ssh host rm -rf /']],
    ['git log --output=/tmp/x', ['git log --output=/tmp/x']],
    ['less +!id f', ['less +!id f']],
  ])('%s', (src, expected) => {
    expect(clean(src)).toEqual(expected);
  });
});
