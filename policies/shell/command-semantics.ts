/**
 * Command semantics: what a simple command runs. `emit` records it and unwraps code-running
 * wrappers (`bash -c`, `eval`, `env`, `sudo`, `xargs`, `find -exec`, `timeout`…) with option
 * tables per wrapper (wrapper-options.ts), analysing inner commands and code strings recursively;
 * `builtinChecks` reports builtins that assign or inspect variables by name or run strings.
 */
import { isInertBareAssignment } from './patterns.js';
import { basename, dynamicWord, literalWord, short, splitEnvString, synthArg } from './words.js';
import type { Arg, Assign, Dialect, Pending } from './words.js';
import { has, optValue, parseOpts, SHELLS, SPEC, valueOf } from './wrapper-options.js';
import type { OptSpec } from './wrapper-options.js';
import { CODE_VARS, MAX_DEPTH } from './walker-base.js';
import { SyntaxWalker } from './syntax-walker.js';

/** Words bash treats as reserved in command position; tree-sitter misreads some of them. */
const RESERVED = new Set([
  '{', '}', '!', '[[', ']]', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function',
  'if', 'in', 'select', 'then', 'until', 'while', 'coproc',
]);
const ARITH_TEST_OPS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);

/** The complete walker: syntax (SyntaxWalker) plus what each simple command runs. */
export class Walker extends SyntaxWalker {

  private push(p: Pending): void {
    this.commands.push({
      name: p.argv.length ? p.argv[0].word : null,
      args: p.argv.slice(1).map((a) => a.word),
      assignments: p.assigns.map((a) => ({ ...a })),
      wrappers: [...p.wrappers],
      dynamicTail: p.dynamicTail,
      text: p.text,
    });
  }

  private static argsText(args: Arg[]): string {
    if (!args.length) return '';
    const a = args[0];
    const b = args[args.length - 1];
    if (a.src && a.src === b.src && a.start <= b.end) return a.src.slice(a.start, b.end);
    return args.map((x) => x.text).join(' ');
  }

  /** Builds the pending command for `argv[from..]` run by wrapper `label`. */
  private inner(p: Pending, argv: Arg[], label: string, extra: { assigns?: Assign[]; dynamicTail?: boolean } = {}): Pending {
    return {
      argv,
      assigns: [...p.assigns, ...(extra.assigns ?? [])],
      wrappers: [...p.wrappers, label],
      dynamicTail: extra.dynamicTail ?? false,
      text: Walker.argsText(argv),
      depth: p.depth + 1,
    };
  }

  /** Parses a code string a wrapper will run (`bash -c`, `eval`, `su -c`, `trap`…). */
  private code(p: Pending, code: Arg | string, label: string, dialect: Dialect): void {
    if (typeof code !== 'string' && code.word.kind !== 'literal') {
      this.problem(`${label} runs a run-time string "${short(code.text)}": cannot analyse it`);
      return;
    }
    const src = typeof code === 'string' ? code : code.word.kind === 'literal' ? code.word.value : '';
    this.analyzeSource(src, [...p.wrappers, label], p.depth + 1, dialect, p.assigns);
  }

  /** Reports that the wrapper could not be understood, and the wrapper itself unless `pushed`. */
  private refuse(p: Pending, base: string, error: string, pushed = false): void {
    this.problem(`${base}: ${error} — cannot tell what "${short(p.text)}" runs`);
    if (!pushed) this.push(p);
  }

  protected emit(p: Pending): void {
    if (!p.argv.length) {
      if (p.assigns.length) this.push(p);
      return;
    }
    const first = p.argv[0];
    if (first.bare !== null && RESERVED.has(first.bare)) {
      this.problem(`reserved word "${first.bare}" used as a command name: the parser may have misread "${short(p.text)}"`);
    }
    for (const a of p.argv) {
      if (/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(a.text) && a.src !== '' && /[<>]/.test(a.src[a.end] ?? '')) {
        this.problem(`"${a.text}" looks like a {var}> file-descriptor redirection, which is not modelled`);
      }
    }
    if (first.word.kind !== 'literal') {
      this.push(p);
      return;
    }
    if (p.depth > MAX_DEPTH) {
      this.problem(`nesting deeper than ${MAX_DEPTH} levels: "${short(p.text)}" not unwrapped`);
      this.push(p);
      return;
    }
    const name = first.word.value;
    const base = basename(name);
    const qualified = name !== base;
    this.builtinChecks(name, p);
    if (SHELLS[base] !== undefined) return this.shell(p, base, qualified, SHELLS[base]);
    switch (base) {
      case 'timeout': return this.simpleWrapper(p, base, qualified, SPEC.timeout, 1);
      case 'nice': return this.simpleWrapper(p, base, qualified, SPEC.nice, 0);
      case 'nohup':
      case 'stdbuf':
      case 'setsid':
      case 'unbuffer':
        return this.simpleWrapper(p, base, qualified, SPEC[base], 0);
      case 'ionice': return this.ionice(p, base, qualified);
      case 'time': return this.time(p, qualified);
      case 'command': return this.commandBuiltin(p, qualified);
      case 'builtin': return this.simpleWrapper(p, base, qualified, {}, 0);
      case 'exec': return this.exec(p, qualified);
      case 'env': return this.env(p, qualified);
      case 'flock': return this.flock(p);
      case 'eval': return this.evalBuiltin(p, qualified);
      case 'sudo': return this.sudo(p);
      case 'doas': return this.doas(p);
      case 'pkexec': return this.launcher(p, base, SPEC.pkexec, 0);
      case 'chroot': return this.launcher(p, base, SPEC.chroot, 1);
      case 'busybox': return this.busybox(p);
      case 'su': case 'runuser': return this.su(p, base);
      case 'xargs': return this.xargs(p);
      case 'find': return this.find(p);
      case 'watch': return this.watch(p);
      case 'script': return this.script(p);
      case 'trap': return this.trap(p, qualified);
      case 'alias': return this.alias(p, qualified);
      default:
        this.push(p);
    }
  }

  /** Checks for builtins that assign or inspect variables by name, or run strings. */
  private builtinChecks(name: string, p: Pending): void {
    const args = p.argv.slice(1);
    const lits = args.map((a) => (a.word.kind === 'literal' ? a.word.value : null));
    const dynName = (a: Arg | undefined, what: string, assigns = true): void => {
      if (!a) return;
      if (a.word.kind !== 'literal') this.problem(`${what} "${short(a.text)}" is a run-time variable name (subscripts in it run commands)`);
      else {
        this.checkVarName(a.word.value);
        // read NAME, printf -v NAME, mapfile NAME…: assigning PATH, HOME, IFS, LD_* by name changes what
        // later commands run, like a `PATH=…` statement (which the policy decides as a command of its own).
        const base = a.word.value.replace(/\[.*$/, '');
        if (assigns && name !== 'declare' && name !== 'typeset' && name !== 'local' && name !== 'export' && name !== 'readonly' && name !== 'unset' && !isInertBareAssignment(base)) {
          this.problem(`${what} assigns ${base}, which changes what later commands run or how they are parsed`);
        }
      }
    };
    switch (name) {
      case 'test': case '[': case '[[':
        for (let i = 0; i < args.length; i++) {
          if (lits[i] === '-v') dynName(args[i + 1], `${name} -v`, false);
          if (name === '[[' && lits[i] !== null && ARITH_TEST_OPS.has(lits[i] as string)) {
            for (const side of [args[i - 1], args[i + 1]]) {
              if (side && !(side.word.kind === 'literal' && /^-?\d+$/.test(side.word.value))) {
                this.problem(`"[[ … ${lits[i]} … ]]" evaluates "${short(side.text, 30)}" as arithmetic: a run-time value can make bash run commands`);
              }
            }
          }
        }
        return;
      case 'declare': case 'typeset': case 'local': case 'export': case 'readonly': case 'unset':
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          const v = lits[i];
          if (v === null) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(a.text)) dynName(a, name);
            continue;
          }
          if (/^[-+]/.test(v) && !v.includes('=')) {
            if (v.startsWith('-') && name !== 'export' && name !== 'unset' && name !== 'readonly' && /[ni]/.test(v.slice(1))) {
              this.problem(`${name} ${v}: namerefs and integer variables make later expansions and assignments evaluate code`);
            }
            continue;
          }
          const eq = v.indexOf('=');
          this.checkVarName((eq < 0 ? v : v.slice(0, eq)).replace(/\+$/, ''));
        }
        return;
      case 'read': {
        const r = parseOpts(p.argv, 1, { flags: 'ers', values: 'adinNptu' });
        dynName(valueOf(r, 'a') ?? undefined, 'read -a');
        for (const a of p.argv.slice(r.next)) dynName(a, 'read');
        return;
      }
      case 'mapfile': case 'readarray': {
        const r = parseOpts(p.argv, 1, { flags: 't', values: 'dnOsuCc' });
        if (has(r, 'C')) this.problem(`${name} -C runs a callback string: not analysed`);
        for (const a of p.argv.slice(r.next)) dynName(a, name);
        return;
      }
      case 'printf':
        if (lits[0] === '-v') dynName(args[1], 'printf -v');
        else if (lits[0]?.startsWith('-v')) dynName(synthArg(lits[0].slice(2)), 'printf -v');
        return;
      case 'getopts':
        dynName(args[1], 'getopts');
        return;
      case 'wait':
        for (let i = 0; i < args.length; i++) if (lits[i] === '-p') dynName(args[i + 1], 'wait -p');
        return;
      case 'let':
        if (lits.some((v) => v === null || /[A-Za-z_]/.test(v))) {
          this.problem(`let evaluates "${short(Walker.argsText(args))}" as arithmetic: variables there can make bash run commands`);
        }
        return;
      default:
    }
  }

  /** Transparent wrapper: `WRAPPER [options] [N positional operands] CMD ARGS…`. */
  private simpleWrapper(p: Pending, base: string, qualified: boolean, spec: OptSpec, operands: number): void {
    const r = parseOpts(p.argv, 1, spec);
    if (r.error) return this.refuse(p, base, r.error);
    if (has(r, 'help', 'version')) return this.push(p);
    for (let k = 0; k < operands; k++) {
      const a = p.argv[r.next + k];
      if (a && a.word.kind === 'dynamic' && a.word.multi) return this.refuse(p, base, `operand "${short(a.text)}" may expand to several words`);
    }
    const at = r.next + operands;
    if (at >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(at), base));
  }

  /** Launcher wrapper (both the wrapper and the inner command are reported). */
  private launcher(p: Pending, base: string, spec: OptSpec, operands: number): void {
    const r = parseOpts(p.argv, 1, spec);
    if (r.error) return this.refuse(p, base, r.error);
    this.push(p);
    if (has(r, 'help', 'version')) return;
    for (let k = 0; k < operands; k++) {
      const a = p.argv[r.next + k];
      if (a && a.word.kind === 'dynamic' && a.word.multi) {
        this.problem(`${base}: operand "${short(a.text)}" may expand to several words — cannot tell what "${short(p.text)}" runs`);
        return;
      }
    }
    const at = r.next + operands;
    if (at < p.argv.length) this.emit(this.inner(p, p.argv.slice(at), base));
  }

  private ionice(p: Pending, base: string, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.ionice);
    if (r.error) return this.refuse(p, base, r.error);
    if (has(r, 'p', 'P', 'u', 'pid', 'pgid', 'uid') || r.next >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(r.next), base));
  }

  private time(p: Pending, qualified: boolean): void {
    // The bash keyword: `time [-p] [--] pipeline`.
    let i = 1;
    const litAt = (k: number): string | null => {
      const a = p.argv[k];
      return a && a.word.kind === 'literal' ? a.word.value : null;
    };
    while (litAt(i) === '-p') i++;
    if (litAt(i) === '--') i++;
    if (qualified || (litAt(i)?.startsWith('-') ?? false)) {
      // /usr/bin/time (or `time` after another wrapper, which is the external one): GNU time.
      // `-o FILE` writes a file, so the wrapper is reported too.
      return this.launcher(p, 'time', SPEC.gnuTime, 0);
    }
    if (i >= p.argv.length) return this.push(p);
    this.emit(this.inner(p, p.argv.slice(i), 'time'));
  }

  private commandBuiltin(p: Pending, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.command);
    if (r.error) return this.refuse(p, 'command', r.error);
    if (has(r, 'v', 'V') || r.next >= p.argv.length) return this.push(p);
    if (qualified) this.push(p);
    this.emit(this.inner(p, p.argv.slice(r.next), 'command'));
  }

  private exec(p: Pending, qualified: boolean): void {
    const r = parseOpts(p.argv, 1, SPEC.exec);
    if (r.error) return this.refuse(p, 'exec', r.error);
    if (qualified) this.push(p);
    // `exec` without a command only applies its redirections.
    if (r.next < p.argv.length) this.emit(this.inner(p, p.argv.slice(r.next), 'exec'));
  }

  /** Collects `NAME=VALUE` operands (env, sudo): any word with `=` before the command is one. */
  private envAssignments(p: Pending, from: number, base: string, pushed: boolean): { assigns: Assign[]; next: number } | null {
    const assigns: Assign[] = [];
    let i = from;
    for (; i < p.argv.length; i++) {
      const a = p.argv[i];
      if (a.word.kind !== 'literal') {
        this.refuse(p, base, `dynamic word "${short(a.text)}" could be an assignment or the command`, pushed);
        return null;
      }
      const v = a.word.value;
      const eq = v.indexOf('=');
      if (eq <= 0) break;
      const name = v.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        this.refuse(p, base, `"${short(v)}" sets an environment variable with an unusual name`, pushed);
        return null;
      }
      if (CODE_VARS.has(name)) this.checkVarName(name);
      assigns.push({ name, value: literalWord(v.slice(eq + 1)) });
    }
    return { assigns, next: i };
  }

  private env(p: Pending, qualified: boolean): void {
    const argv = [...p.argv];
    const assigns: Assign[] = [];
    let effect = qualified;
    let i = 1;
    const need = (k: number, opt: string): Arg | null => {
      const a = argv[k];
      if (!a) {
        this.refuse(p, 'env', `option ${opt} needs a value`);
        return null;
      }
      return a;
    };
    const split = (at: number, s: Arg): boolean => {
      if (s.word.kind !== 'literal') {
        this.refuse(p, 'env', `-S string "${short(s.text)}" is only known at run time`);
        return false;
      }
      const parts = splitEnvString(s.word.value);
      if (!parts) {
        this.refuse(p, 'env', `-S string "${short(s.word.value)}" uses escapes or variables that are not modelled`);
        return false;
      }
      argv.splice(at, 0, ...parts.map(synthArg));
      return true;
    };
    const unset = (a: Arg): void => {
      assigns.push({ name: a.word.kind === 'literal' ? a.word.value : a.text, value: dynamicWord(`-u ${a.text}`) });
    };
    for (;;) {
      const a = argv[i];
      if (!a || a.word.kind !== 'literal') break;
      const v = a.word.value;
      if (v === '--') {
        i++;
        break;
      }
      if (v === '-') {
        i++;
        continue;
      }
      if (v.startsWith('--')) {
        const eq = v.indexOf('=');
        const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
        const inline = eq < 0 ? null : optValue(a, v.slice(eq + 1));
        if (['ignore-environment', 'null', 'debug', 'list-signal-handling'].includes(name) && !inline) {
          i++;
        } else if (['block-signal', 'default-signal', 'ignore-signal'].includes(name)) {
          i++;
        } else if (name === 'help' || name === 'version') {
          return this.push(p);
        } else if (name === 'unset' || name === 'chdir' || name === 'split-string') {
          let val = inline;
          let next = i + 1;
          if (!val) {
            val = need(i + 1, `--${name}`);
            if (!val) return;
            next = i + 2;
          }
          i = next;
          if (name === 'unset') unset(val);
          else if (name === 'chdir') effect = true;
          else if (!split(i, val)) return;
        } else {
          return this.refuse(p, 'env', `unknown option ${v}`);
        }
        continue;
      }
      if (v[0] !== '-' || v.length < 2) break;
      let next = i + 1;
      for (let j = 1; j < v.length; j++) {
        const ch = v[j];
        if (ch === 'i' || ch === '0' || ch === 'v') continue;
        if (ch === 'u' || ch === 'C' || ch === 'S') {
          const rest = v.slice(j + 1);
          let val: Arg | null;
          if (rest) val = optValue(a, rest);
          else {
            val = need(i + 1, `-${ch}`);
            if (!val) return;
            next = i + 2;
          }
          if (ch === 'u') unset(val);
          else if (ch === 'C') effect = true;
          else if (!split(next, val)) return;
          break;
        }
        return this.refuse(p, 'env', `unknown option -${ch} in "${v}"`);
      }
      i = next;
    }
    const envs = this.envAssignments({ ...p, argv }, i, 'env', false);
    if (!envs) return;
    assigns.push(...envs.assigns);
    if (envs.next >= argv.length) return this.push(p);
    if (effect) this.push(p);
    this.emit(this.inner(p, argv.slice(envs.next), 'env', { assigns }));
  }

  private flock(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.flock);
    if (r.error) return this.refuse(p, 'flock', r.error);
    // flock creates its lock file, so it is reported as a command too.
    this.push(p);
    if (has(r, 'help', 'version', 'h', 'V')) return;
    const file = p.argv[r.next];
    if (!file) return;
    if (file.word.kind === 'dynamic' && file.word.multi) {
      this.problem(`flock: lock file "${short(file.text)}" may expand to several words — cannot tell what "${short(p.text)}" runs`);
      return;
    }
    const after = p.argv[r.next + 1];
    if (!after) return;
    if (after.word.kind === 'literal' && (after.word.value === '-c' || after.word.value === '--command')) {
      const str = p.argv[r.next + 2];
      if (!str) return void this.problem('flock -c needs a command string');
      return this.code(p, str, 'flock -c', 'sh');
    }
    this.emit(this.inner(p, p.argv.slice(r.next + 1), 'flock'));
  }

  private evalBuiltin(p: Pending, qualified: boolean): void {
    if (qualified) this.push(p);
    let args = p.argv.slice(1);
    if (args[0]?.word.kind === 'literal' && args[0].word.value === '--') args = args.slice(1);
    if (!args.length) return;
    const dyn = args.find((a) => a.word.kind !== 'literal');
    if (dyn) return void this.problem(`eval of run-time text "${short(dyn.text)}": cannot analyse it`);
    this.code(p, args.map((a) => (a.word.kind === 'literal' ? a.word.value : '')).join(' '), 'eval', 'bash');
  }

  private shell(p: Pending, base: string, qualified: boolean, dialect: Dialect): void {
    let hasC = false;
    let loads = qualified;
    let i = 1;
    for (; i < p.argv.length; i++) {
      const a = p.argv[i];
      // A run-time word: the script path, or (after -c) the string, which code() reports.
      if (a.word.kind !== 'literal') break;
      const v = a.word.value;
      if (v === '--' || v === '-') {
        i++;
        break;
      }
      if (v.startsWith('--')) {
        const name = v.slice(2).replace(/=.*/, '');
        if (['norc', 'noprofile', 'posix', 'restricted', 'verbose', 'noediting', 'debugger', 'dump-strings', 'dump-po-strings', 'pretty-print', 'help', 'version'].includes(name)) continue;
        if (name === 'login') {
          loads = true;
          continue;
        }
        if (name === 'rcfile' || name === 'init-file') {
          loads = true;
          if (!v.includes('=')) i++;
          continue;
        }
        return this.refuse(p, base, `unknown option ${v}`);
      }
      if (v[0] !== '-' && v[0] !== '+') break;
      if (v.length < 2) break;
      for (let j = 1; j < v.length; j++) {
        const ch = v[j];
        if (ch === 'c') hasC = true;
        else if (ch === 'i' || ch === 'l') loads = true;
        else if (ch === 'o') i++;
        else if (ch === 'O' || ch === 'k') {
          return this.refuse(p, base, `option ${v[0]}${ch} changes how the script is parsed`);
        } else if (!'seuxvfhmnptabBCEHPTrD'.includes(ch)) {
          return this.refuse(p, base, `unknown option ${v[0]}${ch}`);
        }
      }
    }
    if (!hasC) return this.push(p);
    const str = p.argv[i];
    if (!str) return this.refuse(p, base, '-c without a command string');
    if (loads) this.push(p);
    this.code(p, str, `${base} -c`, dialect);
  }

  private sudo(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.sudo);
    if (r.error) return this.refuse(p, 'sudo', r.error);
    this.push(p);
    // -e (sudoedit), -l, -v, -K, -V, -h: no command is run.
    if (has(r, 'e', 'edit', 'l', 'list', 'v', 'validate', 'K', 'remove-timestamp', 'V', 'version', 'help')) return;
    if (r.hits.some((h) => h.name === 'h' && h.value === null)) return;
    const envs = this.envAssignments(p, r.next, 'sudo', true);
    if (!envs || envs.next >= p.argv.length) return;
    this.emit(this.inner(p, p.argv.slice(envs.next), 'sudo', { assigns: envs.assigns }));
  }

  private doas(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.doas);
    if (r.error) return this.refuse(p, 'doas', r.error);
    this.push(p);
    if (has(r, 'L', 'C') || r.next >= p.argv.length) return;
    this.emit(this.inner(p, p.argv.slice(r.next), 'doas'));
  }

  private busybox(p: Pending): void {
    this.push(p);
    const a = p.argv[1];
    if (!a || (a.word.kind === 'literal' && a.word.value.startsWith('-'))) return;
    this.emit(this.inner(p, p.argv.slice(1), 'busybox'));
  }

  private su(p: Pending, base: string): void {
    const r = parseOpts(p.argv, 1, SPEC.su);
    if (r.error) return this.refuse(p, base, r.error);
    this.push(p);
    const cmd = valueOf(r, 'c', 'command', 'session-command');
    if (cmd) {
      const sh = valueOf(r, 's', 'shell');
      let dialect: Dialect = 'sh';
      if (sh) dialect = sh.word.kind === 'literal' ? (SHELLS[basename(sh.word.value)] ?? 'foreign') : 'foreign';
      this.code(p, cmd, `${base} -c`, dialect);
    } else if (base === 'runuser' && r.operands.length > 1 && has(r, 'u', 'user')) {
      // runuser -u USER CMD ARGS… runs the command directly.
      this.emit(this.inner(p, r.operands, base));
    }
  }

  private xargs(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.xargs);
    if (r.error) return this.refuse(p, 'xargs', r.error);
    this.push(p);
    if (has(r, 'help', 'version')) return;
    let repl: string | null = null;
    for (const h of r.hits) {
      if (h.name === 'I') {
        if (!h.value || h.value.word.kind !== 'literal') return void this.problem(`xargs -I with a run-time replacement string: cannot analyse "${short(p.text)}"`);
        repl = h.value.word.value;
      } else if (h.name === 'i' || h.name === 'replace') {
        repl = h.value && h.value.word.kind === 'literal' ? h.value.word.value : '{}';
      }
    }
    let argv = r.next < p.argv.length ? p.argv.slice(r.next) : [synthArg('echo')];
    if (repl) {
      const rs = repl;
      argv = argv.map((a) => (a.word.kind === 'literal' && a.word.value.includes(rs) ? { ...a, word: dynamicWord(a.text) } : a));
    }
    this.emit(this.inner(p, argv, 'xargs', { dynamicTail: repl === null }));
  }

  private find(p: Pending): void {
    this.push(p);
    const args = p.argv;
    let i = 1;
    // Leading options: -H -L -P -D debugopts -Olevel.
    for (; i < args.length; i++) {
      const w = args[i].word;
      if (w.kind !== 'literal') break;
      if (w.value === '-H' || w.value === '-L' || w.value === '-P' || /^-O\d*$/.test(w.value)) continue;
      if (w.value === '-D') {
        i++;
        continue;
      }
      break;
    }
    for (; i < args.length; i++) {
      const a = args[i];
      if (a.word.kind !== 'literal') {
        this.problem(`find: run-time word "${short(a.text)}" could be an action such as -exec or -delete`);
        continue;
      }
      const action = a.word.value;
      if (action !== '-exec' && action !== '-execdir' && action !== '-ok' && action !== '-okdir') continue;
      const inner: Arg[] = [];
      let lastBraces = false;
      let plus = false;
      let done = false;
      let j = i + 1;
      for (; j < args.length; j++) {
        const b = args[j];
        if (b.word.kind === 'literal') {
          if (b.word.value === ';') {
            done = true;
            break;
          }
          if (b.word.value === '+' && lastBraces) {
            plus = true;
            done = true;
            break;
          }
          lastBraces = b.word.value === '{}';
          inner.push(b.word.value.includes('{}') ? { ...b, word: dynamicWord(b.text) } : b);
        } else {
          lastBraces = false;
          if (b.word.multi) this.problem(`find ${action}: "${short(b.text)}" may expand to several words, including ";"`);
          inner.push(b);
        }
      }
      if (!done || !inner.length) {
        this.problem(`find ${action} without a command and a terminating ";" or "{} +"`);
        return;
      }
      this.emit(this.inner(p, inner, `find ${action}`, { dynamicTail: plus }));
      i = j;
    }
  }

  private watch(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.watch);
    if (r.error) return this.refuse(p, 'watch', r.error);
    this.push(p);
    if (has(r, 'help', 'version', 'h', 'v') || r.next >= p.argv.length) return;
    const rest = p.argv.slice(r.next);
    if (has(r, 'x', 'exec')) return this.emit(this.inner(p, rest, 'watch'));
    const dyn = rest.find((a) => a.word.kind !== 'literal');
    if (dyn) return void this.problem(`watch runs run-time text "${short(dyn.text)}" through sh -c: cannot analyse it`);
    this.code(p, rest.map((a) => (a.word.kind === 'literal' ? a.word.value : '')).join(' '), 'watch', 'sh');
  }

  private script(p: Pending): void {
    const r = parseOpts(p.argv, 1, SPEC.script);
    if (r.error) return this.refuse(p, 'script', r.error);
    this.push(p);
    const cmd = valueOf(r, 'c', 'command');
    if (cmd) this.code(p, cmd, 'script -c', 'sh');
  }

  private trap(p: Pending, qualified: boolean): void {
    this.push(p);
    if (qualified) return;
    let args = p.argv.slice(1);
    // `trap -l` / `trap -p` only print.
    if (args.length && args[0].word.kind === 'literal' && /^-[lp]+$/.test(args[0].word.value)) return;
    if (args[0]?.word.kind === 'literal' && args[0].word.value === '--') args = args.slice(1);
    if (args.length < 2) return;
    const action = args[0];
    if (action.word.kind === 'literal' && action.word.value === '-') return;
    this.code(p, action, 'trap', 'bash');
  }

  private alias(p: Pending, qualified: boolean): void {
    this.push(p);
    if (qualified) return;
    for (const a of p.argv.slice(1)) {
      if (a.word.kind !== 'literal') {
        this.problem(`alias with run-time text "${short(a.text)}": cannot analyse it`);
        continue;
      }
      const eq = a.word.value.indexOf('=');
      if (eq > 0) this.code(p, a.word.value.slice(eq + 1), 'alias', 'bash');
    }
  }
}
