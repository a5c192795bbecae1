/**
 * Option parsing for code-running wrappers (`timeout`, `sudo`, `xargs`…): a getopt-like parser
 * over evaluated words and one option table per wrapper. An unknown option is an error, so a
 * wrapper whose command operand cannot be located is never guessed at.
 */
import { short, synthArg } from './words.js';
import type { Arg, Dialect } from './words.js';


export interface OptSpec {
  /** Short flags without a value. */
  flags?: string;
  /** Short options with a required value (attached or next word). */
  values?: string;
  /** Short options with an optional, attached-only value. */
  optional?: string;
  longFlags?: readonly string[];
  longValues?: readonly string[];
  /** Long options with an optional value, only as `--name=value`. */
  longOptional?: readonly string[];
  /** Accept `-N` (nice's legacy form) as `-n N`. */
  numeric?: boolean;
  /** GNU permutation: options may follow operands (getopt without `+`). */
  permute?: boolean;
}

export interface OptHit {
  name: string;
  value: Arg | null;
}

export interface OptResult {
  hits: OptHit[];
  /** Non-permuting: index of the first operand. */
  next: number;
  /** Permuting: the operands in order. */
  operands: Arg[];
  error: string | null;
}

export function optValue(a: Arg, value: string): Arg {
  return { ...synthArg(value), text: a.text };
}

export function parseOpts(argv: Arg[], start: number, spec: OptSpec): OptResult {
  const hits: OptHit[] = [];
  const operands: Arg[] = [];
  const fail = (error: string, next: number): OptResult => ({ hits, next, operands, error });
  let i = start;
  const take = (name: string, idx: number): string | null => {
    if (idx >= argv.length) return `option ${name} needs a value`;
    const val = argv[idx];
    if (val.word.kind === 'dynamic' && val.word.multi) {
      return `the value of ${name} ("${short(val.text)}") may expand to several words`;
    }
    return null;
  };
  while (i < argv.length) {
    const a = argv[i];
    if (a.word.kind !== 'literal') {
      if (spec.permute) return fail(`dynamic word "${short(a.text)}" could be an option`, i);
      break;
    }
    const v = a.word.value;
    if (v === '--') {
      i++;
      if (spec.permute) operands.push(...argv.slice(i));
      return { hits, next: i, operands: spec.permute ? operands : [], error: null };
    }
    if (v.length < 2 || v[0] !== '-') {
      if (spec.permute) {
        operands.push(a);
        i++;
        continue;
      }
      break;
    }
    if (v.startsWith('--')) {
      const eq = v.indexOf('=');
      const name = eq < 0 ? v.slice(2) : v.slice(2, eq);
      if (spec.longFlags?.includes(name) && eq < 0) {
        hits.push({ name, value: null });
        i++;
        continue;
      }
      if (spec.longValues?.includes(name)) {
        if (eq >= 0) {
          hits.push({ name, value: optValue(a, v.slice(eq + 1)) });
          i++;
        } else {
          const err = take(`--${name}`, i + 1);
          if (err) return fail(err, i);
          hits.push({ name, value: argv[i + 1] });
          i += 2;
        }
        continue;
      }
      if (spec.longOptional?.includes(name)) {
        hits.push({ name, value: eq >= 0 ? optValue(a, v.slice(eq + 1)) : null });
        i++;
        continue;
      }
      return fail(`unknown option ${v}`, i);
    }
    if (spec.numeric && /^-\d+$/.test(v)) {
      hits.push({ name: 'n', value: optValue(a, v.slice(1)) });
      i++;
      continue;
    }
    let consumedNext = false;
    for (let j = 1; j < v.length; j++) {
      const ch = v[j];
      if (spec.flags?.includes(ch)) {
        hits.push({ name: ch, value: null });
        continue;
      }
      if (spec.values?.includes(ch)) {
        const rest = v.slice(j + 1);
        if (rest) {
          hits.push({ name: ch, value: optValue(a, rest) });
        } else {
          const err = take(`-${ch}`, i + 1);
          if (err) return fail(err, i);
          hits.push({ name: ch, value: argv[i + 1] });
          consumedNext = true;
        }
        break;
      }
      if (spec.optional?.includes(ch)) {
        const rest = v.slice(j + 1);
        hits.push({ name: ch, value: rest ? optValue(a, rest) : null });
        break;
      }
      return fail(`unknown option -${ch} in "${v}"`, i);
    }
    i += consumedNext ? 2 : 1;
  }
  return { hits, next: i, operands, error: null };
}

export function has(r: OptResult, ...names: string[]): boolean {
  return r.hits.some((h) => names.includes(h.name));
}
export function valueOf(r: OptResult, ...names: string[]): Arg | null | undefined {
  const h = r.hits.find((x) => names.includes(x.name));
  return h ? h.value : undefined;
}

export const SHELLS: Record<string, Dialect> = {
  bash: 'bash', rbash: 'bash',
  sh: 'sh', dash: 'sh', ash: 'sh', ksh: 'sh', mksh: 'sh', posh: 'sh', ksh93: 'sh',
  zsh: 'foreign', fish: 'foreign', csh: 'foreign', tcsh: 'foreign', yash: 'foreign',
};

export const SPEC = {
  timeout: { flags: 'vfp', values: 'ks', longFlags: ['preserve-status', 'foreground', 'verbose'], longValues: ['kill-after', 'signal'] },
  nice: { values: 'n', longValues: ['adjustment'], numeric: true },
  ionice: { flags: 't', values: 'cnpPu', longFlags: ['ignore'], longValues: ['class', 'classdata', 'pid', 'pgid', 'uid'] },
  nohup: { longFlags: ['help', 'version'] },
  stdbuf: { values: 'ioe', longValues: ['input', 'output', 'error'] },
  gnuTime: { flags: 'pavqV', values: 'of', longFlags: ['portability', 'append', 'verbose', 'quiet', 'help', 'version'], longValues: ['output', 'format'] },
  command: { flags: 'pvV' },
  exec: { flags: 'cl', values: 'a' },
  setsid: { flags: 'cfw', longFlags: ['ctty', 'fork', 'wait', 'help', 'version'] },
  flock: {
    flags: 'sxeunoFhV',
    values: 'wE',
    longFlags: ['shared', 'exclusive', 'unlock', 'nonblock', 'nb', 'close', 'no-fork', 'verbose', 'help', 'version'],
    longValues: ['wait', 'timeout', 'conflict-exit-code'],
  },
  unbuffer: { flags: 'p' },
  watch: {
    flags: 'bcCeghprtwxv',
    values: 'nq',
    optional: 'd',
    longFlags: ['beep', 'color', 'no-color', 'errexit', 'chgexit', 'precise', 'no-rerun', 'no-title', 'no-wrap', 'exec', 'help', 'version'],
    longValues: ['interval', 'equexit'],
    longOptional: ['differences'],
  },
  script: {
    flags: 'aefqhV',
    values: 'cEIOBTmo',
    optional: 't',
    longFlags: ['append', 'return', 'flush', 'force', 'quiet', 'help', 'version'],
    longValues: ['command', 'echo', 'log-in', 'log-out', 'log-io', 'log-timing', 'logging-format', 'output-limit'],
    longOptional: ['timing'],
    permute: true,
  },
  su: {
    flags: 'flmpPhV',
    values: 'cgGswu',
    longFlags: ['fast', 'login', 'preserve-environment', 'pty', 'help', 'version'],
    longValues: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment', 'user'],
    permute: true,
  },
  sudo: {
    flags: 'AbEeHiKklnNPSsVv',
    values: 'aCcDgpRrTtUu',
    optional: 'h',
    longFlags: ['askpass', 'background', 'edit', 'set-home', 'login', 'remove-timestamp', 'reset-timestamp', 'list', 'non-interactive', 'no-update', 'preserve-groups', 'stdin', 'shell', 'version', 'validate', 'help', 'bell'],
    longValues: ['auth-type', 'close-from', 'chdir', 'group', 'host', 'prompt', 'chroot', 'role', 'command-timeout', 'type', 'other-user', 'user', 'login-class'],
    longOptional: ['preserve-env'],
  },
  doas: { flags: 'Lns', values: 'Cu' },
  pkexec: { longFlags: ['disable-internal-agent', 'keep-cwd', 'help', 'version'], longValues: ['user'] },
  xargs: {
    flags: '0oprtx',
    values: 'adEILnPs',
    optional: 'eil',
    longFlags: ['null', 'open-tty', 'interactive', 'no-run-if-empty', 'verbose', 'exit', 'show-limits', 'help', 'version'],
    longValues: ['arg-file', 'delimiter', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
    longOptional: ['eof', 'replace', 'max-lines'],
  },
  chroot: { longFlags: ['skip-chdir', 'help', 'version'], longValues: ['userspec', 'groups'] },
} satisfies Record<string, OptSpec>;
