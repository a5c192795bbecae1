/** The grep tool: ripgrep-compatible search (Rust regex dialect, file types, globs, .gitignore, context). */
import picomatch from 'picomatch';
import { lexicalComponents, openEntry, type RootCtx } from './confine.js';
import { BINARY_SNIFF_BYTES, closeQuietly, looksBinary, readAt } from './bytes.js';
import { ignoreFramesFor, isIgnored, loadGitignore } from './gitignore.js';
import { checkGlobPattern, MAX_PATTERN_LENGTH, shellClasses } from './glob-pattern.js';
import { compileGuard } from './guard.js';
import { enforceGuard, enforceHardlink, hardlinkLevel } from './guard-enforce.js';
import { cutLine, ok, Output } from './output.js';
import { RegexDialectError, translateRustRegex } from './regex.js';
import { joinRel, MAX_WALK_ENTRIES, openStart, walkTree, type WalkBudget } from './tree.js';
import { FsError, type FsOptions, type FsResult, type GrepInput } from './types.js';

function compileRegex(pattern: string, caseInsensitive: boolean, multiline: boolean): RegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new FsError('INVALID', 'pattern is too long');
  let t: { source: string; flags: string };
  try {
    t = translateRustRegex(pattern, { caseInsensitive, dotAll: multiline });
  } catch (e) {
    if (e instanceof RegexDialectError) throw new FsError('INVALID', `invalid regular expression: ${e.message}`);
    throw e;
  }
  try {
    return new RegExp(t.source, t.flags + 'g');
  } catch (e) {
    throw new FsError('INVALID', `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The ripgrep file types grep's `type` accepts (the same globs as `rg --type-list`). */
const GREP_TYPES: Record<string, string[]> = {
  c: ['*.[chH]', '*.[chH].in', '*.cats'],
  cpp: ['*.[ChH]', '*.[ChH].in', '*.[ch]pp', '*.[ch]pp.in', '*.[ch]xx', '*.[ch]xx.in', '*.cc', '*.cc.in', '*.hh', '*.hh.in', '*.inl'],
  css: ['*.css', '*.scss'],
  go: ['*.go'],
  html: ['*.ejs', '*.htm', '*.html'],
  java: ['*.java', '*.jsp', '*.jspx', '*.properties'],
  js: ['*.js', '*.jsx', '*.vue'],
  json: ['*.json', 'composer.lock'],
  markdown: ['*.markdown', '*.md', '*.mdown', '*.mkdn'],
  md: ['*.markdown', '*.md', '*.mdown', '*.mkdn'],
  py: ['*.py'],
  rust: ['*.rs'],
  ts: ['*.ts', '*.tsx'],
  txt: ['*.txt'],
  yaml: ['*.yaml', '*.yml'],
};

/** Indexes (0-based) of the lines a multiline regex matches: every line a match touches. */
function multilineMatches(re: RegExp, text: string, starts: number[]): { lines: Set<number>; count: number } {
  const lines = new Set<number>();
  let count = 0;
  let lastEnd = -1;
  const lineOf = (pos: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const at = m.index;
    const len = m[0].length;
    if (len === 0) re.lastIndex = at + (text.codePointAt(at)! > 0xffff ? 2 : 1);
    if (at >= text.length && (text.length === 0 || text.endsWith('\n'))) break; // past the last line
    const from = lineOf(at);
    const to = len > 0 ? lineOf(at + len - 1) : from;
    if (from > lastEnd) count++; // rg counts matched line runs, a multi-line match once
    for (let l = from; l <= to; l++) lines.add(l);
    lastEnd = Math.max(lastEnd, to);
  }
  return { lines, count };
}

export function toolGrep(ctx: RootCtx, input: GrepInput, o: FsOptions): FsResult {
  const multiline = input.multiline === true;
  const re = compileRegex(input.pattern, input.case_insensitive === true || input['-i'] === true, multiline);
  const test = (line: string): boolean => {
    re.lastIndex = 0;
    return re.test(line);
  };
  const mode = input.output_mode ?? 'files_with_matches';
  const both = input['-C'] ?? input.context ?? 0;
  const before = mode === 'content' ? (input['-B'] ?? both) : 0;
  const after = mode === 'content' ? (input['-A'] ?? both) : 0;
  const numbers = input['-n'] !== false;
  let globMatch: ((rel: string) => boolean) | null = null;
  if (input.glob !== undefined) {
    checkGlobPattern(input.glob, 'glob');
    globMatch = picomatch(shellClasses(input.glob), { dot: true, basename: !input.glob.includes('/') });
  }
  // As in ripgrep, a file a positive glob names is searched even when .gitignore excludes it (an
  // ignored directory is still not entered).
  const globOverridesIgnore = input.glob !== undefined && !input.glob.startsWith('!');
  let typeMatch: ((name: string) => boolean) | null = null;
  if (input.type !== undefined) {
    const globs = GREP_TYPES[input.type];
    if (!globs) throw new FsError('INVALID', `unknown file type ${JSON.stringify(input.type)}; known: ${Object.keys(GREP_TYPES).join(', ')}`);
    typeMatch = picomatch(globs, { dot: true });
  }
  const out = new Output(o.maxOutputBytes, input.head_limit ?? Number.POSITIVE_INFINITY);
  const budget: WalkBudget = { entries: MAX_WALK_ENTRIES, exhausted: false };
  let groupsPrinted = 0;

  /** Searches one open regular file; false to stop everything (output full). */
  const searchFile = (fd: number, size: number, rel: string): boolean => {
    if (size > o.maxReadBytes) return true;
    const buf = readAt(fd, size, 0);
    if (looksBinary(buf.subarray(0, BINARY_SNIFF_BYTES))) return true;
    // a UTF-8 BOM is not part of the first line (ripgrep drops it too)
    const text = buf.toString('utf8', buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0);
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let matched: Set<number>;
    let count: number;
    if (multiline) {
      const starts: number[] = [];
      let pos = 0;
      for (const l of lines) {
        starts.push(pos);
        pos += l.length + 1;
      }
      if (starts.length === 0) starts.push(0);
      ({ lines: matched, count } = multilineMatches(re, text, starts));
    } else {
      matched = new Set();
      for (let i = 0; i < lines.length; i++) if (test(lines[i]!)) matched.add(i);
      count = matched.size;
    }
    if (matched.size === 0) return true;
    if (mode === 'files_with_matches') return out.push(rel);
    if (mode === 'count') return out.push(`${rel}:${count}`);
    // content: matched lines and their context, `--` between runs that are not contiguous (rg prints it
    // between files too when any context was asked for)
    const show = new Set<number>();
    for (const i of matched) for (let j = Math.max(0, i - before); j <= Math.min(lines.length - 1, i + after); j++) show.add(j);
    const order = [...show].sort((x, y) => x - y);
    let last = -2;
    for (const j of order) {
      if ((before > 0 || after > 0) && j !== last + 1 && (groupsPrinted > 0 || last >= 0)) {
        if (!out.push('--')) return false;
      }
      const sep = matched.has(j) ? ':' : '-';
      const line = numbers ? `${rel}${sep}${j + 1}${sep}${cutLine(lines[j]!, o.maxLineLength)}` : `${rel}${sep}${cutLine(lines[j]!, o.maxLineLength)}`;
      if (!out.push(line)) return false;
      last = j;
    }
    groupsPrinted++;
    return true;
  };

  const start = openStart(ctx, input.path, o);
  // Paths are shown under the path as given (a link's name, as ripgrep shows it), not its target.
  const given = lexicalComponents(ctx, input.path === undefined || input.path === '' ? '.' : input.path).join('/');
  const shownRel = (rel: string): string => (given === start.rel ? rel : rel === start.rel ? given : joinRel(given, start.rel ? rel.slice(start.rel.length + 1) : rel));
  try {
    const guard = compileGuard(o.guard, 'grep', ctx);
    const bar = enforceGuard(guard, ctx, input.path, start.rel);
    const hidden = (rel: string, dir: boolean): boolean => guard !== null && (dir ? guard.resolvedDir(rel) : guard.resolved(rel)) > bar;
    if (start.stat.isFile()) {
      enforceHardlink(guard, ctx, start.stat, bar, JSON.stringify(input.path));
      searchFile(start.fd, start.stat.size, shownRel(start.rel));
    } else {
      const frames = ignoreFramesFor(ctx, start.rel, start.fd, o);

      walkTree(
        ctx,
        start.fd,
        start.rel,
        0,
        {
          dir: (rel, name) => name !== '.git' && !hidden(rel, true) && !isIgnored(frames, rel, true),
          enter: (rel, fd) => {
            const fr = loadGitignore(ctx, fd, rel, o); // the directory's own rules, before its entries
            if (fr) frames.push(fr);
          },
          leave: (rel) => {
            while (frames.length > 0 && frames[frames.length - 1]!.dir === rel) frames.pop();
          },
          entry: (rel, e, dirfd) => {
            if (e.kind !== 'file') return true; // symlinks are never followed
            if (e.name === '.git') return true;
            if (hidden(rel, false)) return true; // a denied path is never searched, whatever the pattern
            const globbed = globMatch === null || globMatch(start.rel ? rel.slice(start.rel.length + 1) : rel);
            if (!globbed) return true;
            if (!(globOverridesIgnore && globbed) && isIgnored(frames, rel, false)) return true;
            if (typeMatch && !typeMatch(e.name)) return true;
            const f = openEntry(ctx, dirfd, e.name, 'file', o.allowHardlinks);
            if (!f) return true;
            try {
              if (hardlinkLevel(guard, ctx, f.stat) > bar) return true; // another name of a denied file
              return searchFile(f.fd, f.stat.size, shownRel(rel));
            } finally {
              closeQuietly(f.fd);
            }
          },
        },
        budget,
        o,
      );
    }
  } finally {
    closeQuietly(start.fd);
  }
  if (out.count === 0 && !budget.exhausted) return ok('No matches found\n', false);
  let marker = '';
  if (out.cut) {
    marker =
      input.head_limit !== undefined && out.count >= input.head_limit
        ? `[… head_limit ${input.head_limit} reached; more results not shown]\n`
        : `[… output cut at ${o.maxOutputBytes} bytes; narrow the pattern, path or glob]\n`;
  } else if (budget.exhausted) {
    marker = `[… stopped after looking at ${MAX_WALK_ENTRIES} entries; narrow the path or glob]\n`;
  }
  return ok(out.text() + marker, marker !== '');
}
