/**
 * Turns a parsed shell script into the subjects a policy decides one by one: every simple command,
 * every redirect (as a read or write of its target), and whatever the parser could not understand.
 *
 * Two things a shell does to paths are taken into account:
 * - `cd DIR` (DIR inside the workspace, going down only): later relative paths may be resolved from
 *   DIR. The analysis is flat, so every relative path is resolved from every directory the script may
 *   be in (the root and each ordered combination of its `cd`s) and all of them count. Any other `cd`
 *   (`cd ..`, `cd "$X"`, `cd` alone) makes relative paths unknown.
 * - A plain glob (`src/*.ts`) lands where its directory part does, unless a segment may match `..`
 *   (`.*`): it is a path inside the workspace, not an unknown value.
 */
import { isInertBareAssignment } from '../shell/patterns.js';
import type { ShellAnalysis, SimpleCommand, Word } from '../shell/types.js';
import { commandBasename } from './classes.js';
import { hasGlobChars, isPlainGlob, segmentCouldBeDots } from './globs.js';
import { isNeutralDevice, reopensDescriptor, resolvePath, type ResolvedPath } from './paths.js';
import type { Subject, SubjectContext } from './rule.js';

interface Context {
  agent: string;
  workspace: string;
  home: string;
  /** No redirect of the script opens a file (see descriptorsSafe). */
  descriptorsSafe?: boolean;
}

/** Here-documents and here-strings: the shell makes their descriptor (a pipe or a private temp file). */
const HEREDOC_OPS = new Set(['<<', '<<-', '<<<']);

/**
 * Whether every descriptor the script's commands hold is the jail's own (stdin /dev/null, the terminal)
 * or a pipe: no redirect points one at a file (a dynamic target might). Only then does writing to
 * `/dev/stdout`, `/dev/fd/N`… write to nothing but the terminal or a pipe.
 */
function descriptorsSafe(a: ShellAnalysis, ctx: Context): boolean {
  return a.redirects.every((r) => {
    if (HEREDOC_OPS.has(r.op)) return true;
    if (r.target.kind !== 'literal') return false;
    const abs = resolvePath(r.target.value, ctx.workspace, ctx.home).abs;
    return isNeutralDevice(abs) || (reopensDescriptor(abs) && !/^\/proc\/[0-9]+\//.test(abs));
  });
}

/** Commands whose arguments are never opened as files: their words are not paths. */
const PATHLESS = new Set(['echo', 'printf', 'seq', 'sleep', 'expr', 'true', 'false', ':', 'basename', 'dirname', 'printenv', 'which', 'type']);

/** More `cd`s than this in one script: relative paths are unknown (the combinations grow as 2^n). */
const MAX_CDS = 4;

export function shellSubjects(a: ShellAnalysis, ctx: Context): Subject[] {
  const sctx = scriptContext(a, ctx);
  const out: Subject[] = [];
  ctx = { ...ctx, descriptorsSafe: descriptorsSafe(a, ctx) };
  for (const problem of a.problems) {
    out.push({ tool: 'shell', agent: ctx.agent, pathAware: true, paths: [], unknownPaths: true, host: null, opaque: true, text: `not understood: ${problem}`, ctx: sctx });
  }
  for (const cmd of a.commands) {
    if (cmd.name === null && cmd.assignments.every((as) => isInertBareAssignment(as.name))) continue;
    out.push(commandSubject(cmd, ctx, sctx));
  }
  for (const r of a.redirects) {
    if (r.target.kind === 'literal') {
      const ps = sctx.resolve(r.target.value);
      if (ps === null) {
        out.push({ tool: r.access, agent: ctx.agent, pathAware: true, paths: [], unknownPaths: true, host: null, text: `redirect ${r.text}`, ctx: sctx });
        continue;
      }
      const paths = ps.filter((p) => !isNeutralDevice(p.abs, ctx.descriptorsSafe));
      if (paths.length === 0) continue;
      out.push({ tool: r.access, agent: ctx.agent, pathAware: true, paths, unknownPaths: false, host: null, text: `redirect ${r.text}`, ctx: sctx });
    } else {
      out.push({ tool: r.access, agent: ctx.agent, pathAware: true, paths: [], unknownPaths: true, host: null, text: `redirect ${r.text}`, ctx: sctx });
    }
  }
  if (out.length === 0) {
    // Nothing runs (empty script, comments, inert assignments): decided like a script with no command.
    out.push({ tool: 'shell', agent: ctx.agent, pathAware: true, paths: [], unknownPaths: false, host: null, text: '(no command)', ctx: sctx });
  }
  return out;
}

/** Where the script's relative paths may resolve from, and which commands it names. */
function scriptContext(a: ShellAnalysis, ctx: Context): SubjectContext {
  const names = new Set<string>();
  const cds: string[] = [];
  let cwdKnown = true;
  let homeKnown = true;
  for (const cmd of a.commands) {
    const name = commandBasename(cmd);
    if (name !== null) names.add(name);
    if (assignsHome(cmd, name)) homeKnown = false;
    if (name === 'pushd' || name === 'popd') cwdKnown = false;
    if (name !== 'cd') continue;
    const target = cdTarget(cmd, ctx);
    if (target === null) cwdKnown = false;
    else if (target !== '') cds.push(target);
  }
  if (cds.length > MAX_CDS) cwdKnown = false;
  // Every directory the script may be in: the root, and each ordered combination of its cds.
  const dirs = new Set<string>([ctx.workspace]);
  for (let mask = 1; mask < 1 << cds.length; mask++) {
    let d = ctx.workspace;
    for (let i = 0; i < cds.length; i++) if (mask & (1 << i)) d = d === '/' ? '/' + cds[i] : d + '/' + cds[i];
    dirs.add(d);
  }
  const { workspace, home } = ctx;
  return {
    workspace,
    home,
    names,
    resolve(v: string): ResolvedPath[] | null {
      // After `HOME=…` (or `export HOME=…`) bash expands `~` to the new value, which may be anywhere.
      if (v === '~' || v.startsWith('~/')) return homeKnown ? [resolvePath(v, workspace, home)] : null;
      if (v.startsWith('/')) return [resolvePath(v, workspace, home)];
      if (!cwdKnown) return null;
      // Resolved from each directory, then placed against the workspace root.
      return [...dirs].map((d) => resolvePath(resolvePath(v, d, home).abs, workspace, home));
    },
  };
}

/**
 * Files git reaches by names that are not plain paths: `REV:path`, `:path`, `:N:path` (a file in a commit or
 * the index: `git show HEAD:.env`), pathspec magic (`:/secrets`, `:(top)secrets`, `:!x`) and pathspecs,
 * which git matches as globs (`git log -p -- 'secre?s'`). Each lands where that path or glob does.
 */
function gitPaths(cmd: SimpleCommand, add: (v: string) => void, addGlob: (text: string) => void): void {
  for (const w of cmd.args) {
    if (w.kind !== 'literal' || w.value.startsWith('-') || w.value.includes('://')) continue;
    let v = w.value;
    const magic = /^:(?:\([^)]*\)|[/!^]+)/.exec(v);
    if (magic) v = v.slice(magic[0].length) || '.';
    else {
      const m = /^[^:]*:(?:[0-3]:)?(.+)$/.exec(v);
      if (m) v = m[1];
      else if (!/[*?[]/.test(v)) continue; // a plain word: already considered as a path
    }
    if (/[*?[]/.test(v)) addGlob(v);
    else add(v);
  }
}

const DECLARATION_BUILTINS = new Set(['export', 'declare', 'typeset', 'local', 'readonly']);

/**
 * Whether a command sets HOME for the rest of the script (`HOME=/x`, `export HOME=/x`, `for HOME in …`,
 * or a declaration builtin given a run-time word, which may be `HOME=…`). A prefix assignment
 * (`HOME=/x cmd`) is not: bash expands the command's words before it applies.
 */
function assignsHome(cmd: SimpleCommand, name: string | null): boolean {
  if (cmd.name === null) return cmd.assignments.some((as) => as.name === 'HOME');
  if (name === null || !DECLARATION_BUILTINS.has(name) || cmd.name.kind !== 'literal' || cmd.name.value !== name) return false;
  return cmd.args.some((w) => w.kind !== 'literal' || /^HOME\+?=/.test(w.value));
}

/**
 * The workspace-relative directory a `cd` goes to when it only goes down from where it is ('' for
 * `cd .`), or null when it may go anywhere else (`cd`, `cd -`, `cd ..`, `cd ~`, `cd "$X"`, outside).
 */
function cdTarget(cmd: SimpleCommand, ctx: Context): string | null {
  const ops = cmd.args.filter((w, i) => !(w.kind === 'literal' && /^-[LPe@]+$/.test(w.value) && cmd.args.slice(0, i).every((x) => x.kind === 'literal' && x.value.startsWith('-'))));
  if (ops.length === 0 && cmd.args.length > 0) return null;
  if (ops.length !== 1 || cmd.dynamicTail) return null;
  const w = ops[0];
  if (w.kind !== 'literal' || w.value === '' || w.value === '-' || w.value.startsWith('~')) return null;
  const v = w.value.replace(/^--$/, '');
  if (v.split('/').includes('..')) return null;
  const p = resolvePath(v, ctx.workspace, ctx.home);
  if (!p.inside) return null;
  // Absolute: placed like a relative cd from the root. The root itself ('', like `cd .`) is always among
  // the directories a script may be in (`cd /abs/project && npm test`, as agents write it).
  if (v.startsWith('/')) return p.rel;
  return p.rel;
}

function commandSubject(cmd: SimpleCommand, ctx: Context, sctx: SubjectContext): Subject {
  const paths: ResolvedPath[] = [];
  let unknownPaths = cmd.dynamicTail;
  const name = commandBasename(cmd);
  const pathless = name !== null && cmd.name?.kind === 'literal' && !cmd.name.value.includes('/') && PATHLESS.has(name);
  const add = (v: string): void => {
    const ps = sctx.resolve(v);
    if (ps === null) {
      unknownPaths = true;
      return;
    }
    for (const p of ps) if (!isNeutralDevice(p.abs, ctx.descriptorsSafe)) paths.push(p);
  };
  const consider = (w: Word, isName: boolean): void => {
    // `diff <(sort a) b`: a pipe the shell made; what fills it is a command decided on its own.
    if (w.kind === 'dynamic' && w.pipe && !isName) return;
    if (w.kind === 'dynamic') {
      if (!isName && isPlainGlob(w.text)) {
        addGlob(w.text);
        return;
      }
      unknownPaths = true;
      return;
    }
    let v = w.value;
    if (isName) {
      if (!v.includes('/')) return; // looked up on PATH, not a path
    } else if (v.startsWith('-')) {
      // An option's value may be a path: `--file=/etc/x`, or attached to a short option (`-f/etc/x`).
      const eq = v.indexOf('=');
      if (eq >= 0) v = v.slice(eq + 1);
      else if (!v.startsWith('--')) {
        // Attached to a short option, possibly after flags of its cluster: the value starts after any of
        // the first letters (`-fsecrets/x` is `secrets/x`, `-nf.env` is `.env`); each candidate that looks
        // like a path counts.
        const stop = Math.min(v.length, 10, Math.max(2, v.search(/[/~.]/) + 1));
        for (let k = 2; k < stop; k++) {
          const c = v.slice(k);
          if (c.includes('/') || c.startsWith('.') || c.startsWith('~')) add(c);
        }
        if (!/[/~]/.test(v)) return;
        v = v.slice(v.search(/[/~.]/));
      } else return;
    }
    if (v === '') return;
    add(v);
    // A `key=value` operand names a file by its value (`dd if=secrets/api.key`, `of=…`).
    const kv = isName ? null : /^[A-Za-z_][A-Za-z0-9_.-]*=(.+)$/.exec(v);
    if (kv) add(kv[1]);
  };
  // A glob counts as its directory part, unless one of its segments may match `..` (then: unknown).
  const addGlob = (text: string): void => {
    const segs = text.split('/');
    const first = segs.findIndex(hasGlobChars);
    if (segs.slice(first).some(segmentCouldBeDots)) {
      unknownPaths = true;
      return;
    }
    const dir = segs.slice(0, first).join('/') || (text.startsWith('/') ? '/' : '.');
    const before = paths.length;
    add(dir);
    for (let i = before; i < paths.length; i++) paths[i] = { ...paths[i], glob: true };
  };
  if (cmd.name) consider(cmd.name, true);
  if (!pathless) for (const arg of cmd.args) consider(arg, false);
  if (name === 'git') gitPaths(cmd, add, addGlob);
  if (name === 'cd' && cdTarget(cmd, ctx) === null) unknownPaths = true;
  const optionFree = (w: Word): boolean => w.kind === 'dynamic' && ((isPlainGlob(w.text) && /^[^-*?[]/.test(w.text)) || w.pipe === true);
  const couldCmd = cmd.args.some(optionFree)
    ? { ...cmd, args: cmd.args.map((w): Word => (optionFree(w) && w.kind === 'dynamic' ? { kind: 'literal', value: w.pipe ? '/dev/fd/63' : w.text } : w)) }
    : undefined;
  return {
    couldCmd,
    tool: 'shell',
    agent: ctx.agent,
    pathAware: true,
    paths,
    unknownPaths,
    host: null,
    cmd,
    text: cmd.text,
    ctx: sctx,
  };
}
