/** The glob tool: paths matching a bash-style pattern, walked from the pattern's literal base. */
import picomatch from 'picomatch';
import { walk, type Opened, type RootCtx } from './confine.js';
import { closeQuietly } from './bytes.js';
import { ignoreFramesFor, isIgnored, isIgnoredPath, loadGitignore } from './gitignore.js';
import { checkGlobPattern, shellClasses } from './glob-pattern.js';
import { compileGuard } from './guard.js';
import { enforceGuard } from './guard-enforce.js';
import { ok, Output, plural } from './output.js';
import { joinRel, MAX_WALK_ENTRIES, openStart, walkTree, type WalkBudget } from './tree.js';
import { FsError, type FsOptions, type FsResult, type GlobInput } from './types.js';

const MAX_GLOB_RESULTS = 10_000;

export function toolGlob(ctx: RootCtx, input: GlobInput, o: FsOptions): FsResult {
  checkGlobPattern(input.pattern, 'pattern');
  const pattern = input.pattern.replace(/^(\.\/)+/, '');
  const start = openStart(ctx, input.path, o);
  try {
    const guard = compileGuard(o.guard, 'glob', ctx);
    const bar = enforceGuard(guard, ctx, input.path, start.rel);
    if (!start.stat.isDirectory()) throw new FsError('NOT_A_DIRECTORY', `${JSON.stringify(start.rel)} is not a directory`);
    // a trailing `/**` names what is below a directory (bash), never a file of that name (picomatch's `a/**` matches `a`)
    const isMatch = picomatch(shellClasses(pattern.endsWith('/**') ? `${pattern}/*` : pattern), { dot: false });
    const scan = picomatch.scan(pattern);
    // Walk from the pattern's literal base only (a literal pattern: from its directory).
    const baseDir = scan.isGlob ? scan.base : pattern.includes('/') ? pattern.slice(0, pattern.lastIndexOf('/')) : '';
    // Dot-directories are entered only when the pattern names one explicitly.
    const wantsDotDirs = /(^|\/)\.[^/.]/.test(pattern);
    const out = new Output(o.maxOutputBytes, MAX_GLOB_RESULTS);
    const budget: WalkBudget = { entries: MAX_WALK_ENTRIES, exhausted: false };
    const honourIgnore = input.include_ignored !== true;
    // The literal base is resolved like any path (a link inside the root is followed, one outside is
    // refused); below it, nothing is followed.
    let baseFd: Opened | null = null;
    if (baseDir) {
      try {
        baseFd = walk(ctx, joinRel(start.rel, baseDir), 'open', { allowHardlinks: o.allowHardlinks });
      } catch (e) {
        if (e instanceof FsError && (e.code === 'NOT_FOUND' || e.code === 'NOT_A_DIRECTORY')) return ok('No files found\n', false);
        throw e;
      }
      if (!baseFd.stat.isDirectory() || (guard !== null && guard.resolvedDir(baseFd.rel) > bar)) {
        closeQuietly(baseFd.fd);
        return ok('No files found\n', false);
      }
    }
    // The real workspace-relative path of a walked entry (the base may have been reached through a link).
    const base = baseFd;
    const realOf = (rel: string): string =>
      base ? joinRel(base.rel, rel === baseDir ? '' : rel.slice(baseDir.length + 1)) : joinRel(start.rel, rel);
    const hidden = (rel: string, dir: boolean): boolean => guard !== null && (dir ? guard.resolvedDir(realOf(rel)) : guard.resolved(realOf(rel))) > bar;
    try {
      // .gitignore rules (workspace-relative frames) of the walk root, its ancestors, and on the way down.
      const walkRootRel = joinRel(start.rel, baseDir);
      const frames = honourIgnore ? ignoreFramesFor(ctx, walkRootRel, baseFd ? baseFd.fd : start.fd, o) : [];
      if (honourIgnore && baseDir && isIgnoredPath(frames, walkRootRel)) return ok('No files found (the path is ignored by .gitignore; include_ignored: true lists it)\n', false);
      walkTree(
        ctx,
        baseFd ? baseFd.fd : start.fd,
        baseDir,
        0,
        {
          // Dot-directories (.git included) only when the pattern names one; denied paths never.
          dir: (rel, name) => (wantsDotDirs || !name.startsWith('.')) && !hidden(rel, true) && !(honourIgnore && isIgnored(frames, joinRel(start.rel, rel), true)),
          enter: honourIgnore
            ? (rel, fd) => {
                const fr = loadGitignore(ctx, fd, joinRel(start.rel, rel), o);
                if (fr) frames.push(fr);
              }
            : undefined,
          leave: honourIgnore
            ? (rel) => {
                const full = joinRel(start.rel, rel);
                while (frames.length > 0 && frames[frames.length - 1]!.dir === full) frames.pop();
              }
            : undefined,
          entry: (rel, e) => {
            if (!isMatch(rel) || hidden(rel, false)) return true;
            // as in bash, a wildcard or class never matches a name's leading dot: the pattern spells it
            if (e.name.startsWith('.') && !wantsDotDirs) return true;
            const full = joinRel(start.rel, rel);
            if (honourIgnore && isIgnored(frames, full, false)) return true;
            return out.push(full);
          },
        },
        budget,
        o,
      );
    } finally {
      if (baseFd) closeQuietly(baseFd.fd);
    }
    if (out.count === 0 && !budget.exhausted) return ok('No files found\n', false);
    let marker = '';
    if (out.cut) marker = `[… results cut at ${plural(out.count, 'path')}; narrow the pattern or the path]\n`;
    else if (budget.exhausted) marker = `[… stopped after looking at ${MAX_WALK_ENTRIES} entries; narrow the pattern or the path]\n`;
    return ok(out.text() + marker, marker !== '');
  } finally {
    closeQuietly(start.fd);
  }
}
