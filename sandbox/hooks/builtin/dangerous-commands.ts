/**
 * Rules of dangerous_command_guard, on the analyzed shell model (`SimpleCommand[]` and redirects), so
 * wrapped and compound forms (`sudo`, `bash -c`, `a && b`, `$(…)`) are caught like plain ones.
 */
import type { Redirect, SimpleCommand, Word } from '../../../policies/shell/types.js';

export const DANGER_RULES = [
  'git_force_push',
  'rm_recursive_root',
  'chmod_world_writable',
  'pipe_to_shell',
  'mkfs',
  'dd_device',
  'device_write',
  'fork_bomb',
] as const;

export type DangerRule = (typeof DANGER_RULES)[number];

export interface Danger {
  rule: DangerRule;
  why: string;
}

function text(w: Word): string {
  return w.kind === 'literal' ? w.value : w.text.replace(/["']/g, '');
}

function commandName(c: SimpleCommand): string | null {
  if (!c.name) return null;
  return text(c.name).replace(/^.*\//, '');
}

/** Options (before `--`) and operands of a command, with short-option clusters kept whole. */
function split(args: Word[]): { options: string[]; operands: Word[] } {
  const options: string[] = [];
  const operands: Word[] = [];
  let ended = false;
  for (const w of args) {
    const t = text(w);
    if (!ended && t === '--') ended = true;
    else if (!ended && t.startsWith('-') && t.length > 1) options.push(t);
    else operands.push(w);
  }
  return { options, operands };
}

function normalizePath(p: string): string {
  let t = p.replace(/\$\{HOME\}/g, '$HOME').replace(/\/{2,}/g, '/');
  while (t.length > 1 && (t.endsWith('/') || t.endsWith('/.'))) t = t.endsWith('/') ? t.slice(0, -1) : t.slice(0, -2);
  return t;
}

const ROOT_LIKE = new Set(['/', '/*', '~', '~/*', '$HOME', '$HOME/*', '*', '.*', '.', '..', './*', '../*', '/..']);

export function isDangerousTarget(w: Word): boolean {
  const t = normalizePath(text(w));
  if (ROOT_LIKE.has(t)) return true;
  // A top-level folder (/etc, /usr, /home…) or all of one.
  return /^\/[^/*]+(\/\*)?$/.test(t);
}

function rmDanger(c: SimpleCommand): string | null {
  const { options, operands } = split(c.args);
  if (options.includes('--no-preserve-root')) return 'rm --no-preserve-root';
  const recursive = options.some((o) => o === '--recursive' || (!o.startsWith('--') && /[rR]/.test(o)));
  if (!recursive) return null;
  const target = operands.find(isDangerousTarget);
  return target ? `recursive rm of ${text(target)}` : null;
}

/** Global options of git that take a separate value. */
const GIT_VALUE_OPTIONS = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path', '--config-env']);

function gitPushDanger(c: SimpleCommand): string | null {
  const args = c.args.map(text);
  let k = 0;
  while (k < args.length && args[k].startsWith('-')) k += GIT_VALUE_OPTIONS.has(args[k]) ? 2 : 1;
  if (args[k] !== 'push') return null;
  for (const a of args.slice(k + 1)) {
    if (a === '--force' || a === '--force-with-lease' || a.startsWith('--force-with-lease=') || a === '--force-if-includes') return `git push ${a}`;
    if (/^-[a-zA-Z]*f[a-zA-Z]*$/.test(a)) return `git push ${a}`;
    if (a.startsWith('+') && a.length > 1) return `git push of the forced refspec ${a}`;
  }
  return null;
}

function chmodDanger(c: SimpleCommand): string | null {
  const { options, operands } = split(c.args);
  const recursive = options.some((o) => o === '--recursive' || (!o.startsWith('--') && o.includes('R')));
  if (!recursive) return null;
  // Options such as -R may also come after the mode; a symbolic mode like `-w` is an option-looking mode.
  for (const w of operands) {
    const m = text(w);
    if (/^0*[0-7]?[0-7][0-7][2367]$/.test(m)) return `chmod -R ${m} (world-writable)`;
    const sym = /^([ugoa]*)([+=])([rwxXst]*)$/.exec(m);
    if (sym && /[ao]/.test(sym[1]) && sym[3].includes('w')) return `chmod -R ${m} (world-writable)`;
  }
  return null;
}

const DOWNLOADERS = new Set(['curl', 'wget', 'fetch', 'aria2c', 'http', 'https', 'lwp-request', 'GET']);
const INTERPRETERS = /^(?:sh|bash|zsh|dash|ksh|fish|python[0-9.]*|perl|ruby|node|nodejs|php|pwsh|deno|bun)$/;

/** An interpreter whose program comes from stdin or from a run-time value (`$(…)`, `<(…)`). */
function runsUnknownProgram(c: SimpleCommand): boolean {
  const name = commandName(c);
  if (!name) return false;
  if (name === 'eval' || name === 'source' || name === '.') return c.args.some((w) => w.kind === 'dynamic');
  if (!INTERPRETERS.test(name)) return false;
  const args = c.args;
  for (let k = 0; k < args.length; k++) {
    const w = args[k];
    const t = text(w);
    if (w.kind === 'dynamic') return true; // bash <(curl …), python "$(curl …)"
    if (t === '-' || t === '-s' || t === '--') return true;
    if (/^-[a-zA-Z]*c$/.test(t) || t === '-e' || t === '-m') return args[k + 1]?.kind === 'dynamic';
    if (!t.startsWith('-')) return false; // a script file: not this rule's business
  }
  return true; // no program argument: reads stdin
}

const BLOCK_DEVICE = /^\/dev\/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|mapper\/|md|loop|dm-)/;

/** Every dangerous thing found in one analyzed command line. */
export function findDangers(commands: readonly SimpleCommand[], redirects: readonly Redirect[], source: string): Danger[] {
  const found: Danger[] = [];
  const add = (rule: DangerRule, why: string | null): void => {
    if (why && !found.some((d) => d.rule === rule && d.why === why)) found.push({ rule, why });
  };
  const hasDownloader = commands.some((c) => DOWNLOADERS.has(commandName(c) ?? ''));
  for (const c of commands) {
    const name = commandName(c);
    if (name === 'rm') add('rm_recursive_root', rmDanger(c));
    else if (name === 'git') add('git_force_push', gitPushDanger(c));
    else if (name === 'chmod') add('chmod_world_writable', chmodDanger(c));
    else if (name && (/^mkfs(?:\..+)?$/.test(name) || name === 'mke2fs' || name === 'wipefs')) add('mkfs', `${name} formats a file system`);
    else if (name === 'dd') {
      const of = c.args.map(text).find((a) => a.startsWith('of='));
      if (of && (of.slice(3).startsWith('/dev/') || of.includes('$')) && !/^of=\/dev\/(?:null|zero|stdout|stderr|fd\/)/.test(of)) {
        add('dd_device', `dd ${of}`);
      }
    }
    if (hasDownloader && runsUnknownProgram(c)) add('pipe_to_shell', `downloaded code run by ${name}`);
  }
  for (const r of redirects) {
    const t = text(r.target);
    if (r.access === 'write' && BLOCK_DEVICE.test(t)) add('device_write', `write to the block device ${t}`);
  }
  const compact = source.replace(/\s+/g, '');
  if (/([^\s(){}|&;]{1,64})\(\)\{\1\|\1&\}/.test(compact) || /function(\w{1,64})(?:\(\))?\{\1\|\1&/.test(compact)) add('fork_bomb', 'a fork bomb');
  return found;
}
