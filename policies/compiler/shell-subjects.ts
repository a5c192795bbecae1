/**
 * Turns a parsed shell script into the subjects a policy decides one by one: every simple command,
 * every redirect (as a read or write of its target), and whatever the parser could not understand.
 */
import { isInertBareAssignment } from '../shell/patterns.js';
import type { ShellAnalysis, SimpleCommand, Word } from '../shell/types.js';
import { isNeutralDevice, reopensDescriptor, resolvePath, type ResolvedPath } from './paths.js';
import type { Subject } from './rule.js';

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

export function shellSubjects(a: ShellAnalysis, ctx: Context): Subject[] {
  const out: Subject[] = [];
  ctx = { ...ctx, descriptorsSafe: descriptorsSafe(a, ctx) };
  for (const problem of a.problems) {
    out.push({ tool: 'shell', agent: ctx.agent, pathAware: true, paths: [], unknownPaths: true, host: null, opaque: true, text: `not understood: ${problem}` });
  }
  for (const cmd of a.commands) {
    if (cmd.name === null && cmd.assignments.every((as) => isInertBareAssignment(as.name))) continue;
    out.push(commandSubject(cmd, ctx));
  }
  for (const r of a.redirects) {
    if (r.target.kind === 'literal') {
      const p = resolvePath(r.target.value, ctx.workspace, ctx.home);
      if (isNeutralDevice(p.abs, ctx.descriptorsSafe)) continue;
      out.push({ tool: r.access, agent: ctx.agent, pathAware: true, paths: [p], unknownPaths: false, host: null, text: `redirect ${r.text}` });
    } else {
      out.push({ tool: r.access, agent: ctx.agent, pathAware: true, paths: [], unknownPaths: true, host: null, text: `redirect ${r.text}` });
    }
  }
  if (out.length === 0) {
    // Nothing runs (empty script, comments, inert assignments): decided like a script with no command.
    out.push({ tool: 'shell', agent: ctx.agent, pathAware: true, paths: [], unknownPaths: false, host: null, text: '(no command)' });
  }
  return out;
}

function commandSubject(cmd: SimpleCommand, ctx: Context): Subject {
  const paths: ResolvedPath[] = [];
  let unknownPaths = cmd.dynamicTail;
  const consider = (w: Word, isName: boolean): void => {
    if (w.kind === 'dynamic') {
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
      else if (!v.startsWith('--') && /[/~]/.test(v)) v = v.slice(v.search(/[/~.]/));
      else return;
    }
    if (v === '') return;
    const p = resolvePath(v, ctx.workspace, ctx.home);
    if (!isNeutralDevice(p.abs, ctx.descriptorsSafe)) paths.push(p);
  };
  if (cmd.name) consider(cmd.name, true);
  for (const arg of cmd.args) consider(arg, false);
  return {
    tool: 'shell',
    agent: ctx.agent,
    pathAware: true,
    paths,
    unknownPaths,
    host: null,
    cmd,
    text: cmd.text,
  };
}
