/**
 * Shell command analysis: parses a command line the way bash will run it and reports every simple
 * command it could execute, every file redirection, and everything it could not fully understand.
 *
 * - Parsing is done by tree-sitter-bash (web-tree-sitter, wasm). `initShellParser()` loads it once;
 *   `analyzeShell()` is then synchronous and reuses a single Parser; every tree is deleted after use.
 * - The walk handles every node type explicitly. Anything else and any ERROR/MISSING node is a
 *   problem: a script with problems must never be allowed.
 * - tree-sitter-bash reads some scripts differently from bash. Each known divergence is detected
 *   and reported (or repaired): words split by a line continuation or an escaped blank, `$"…"`,
 *   `[ a > b ]` / `[ x && rm y ]` (re-parsed as the command `[`), `"$ $(id)"` and heredoc lines
 *   starting with `$` (expansions re-scanned with bash's rules, missed ones parsed on their own),
 *   heredoc delimiters with blanks, backslashes in backticks, `coproc`, `time { …; }`, `{ls;}`,
 *   `<>`, carriage returns and other control characters.
 * - Code-running wrappers (`bash -c`, `eval`, `env`, `sudo`, `xargs`, `find -exec`, `timeout`…) are
 *   unwrapped and their inner commands analysed recursively (depth-limited, option tables per
 *   wrapper, unknown options are problems).
 * - Arithmetic on run-time values (`$((x))`, `[[ $x -eq 1 ]]`, `${a[$i]}`, `${!x}`, `${x@P}`,
 *   `declare -n/-i`, `printf -v "$x"`…) can make bash run commands hidden in a variable's value,
 *   so it is reported as a problem.
 * - Bounded work: 64 KiB input, nesting 200, wrapper depth 8, 1 s time budget (the parser is
 *   quadratic on some inputs), 50 problems listed.
 *
 * Modules, from the bottom up: words.ts (quoting and words), wrapper-options.ts (option tables of
 * code-running wrappers), walker-base.ts (budget, parsing, word evaluation), syntax-walker.ts
 * (statements and redirections), command-semantics.ts (what each simple command runs).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import type { ShellAnalysis } from './types.js';
import { Walker } from './command-semantics.js';

export { decodeAnsiC } from './words.js';

/** Commands that can make a later `cat` something else (an alias, a function from a file, a hashed path…). */
const CAT_CHANGERS = new Set(['alias', 'hash', 'enable', 'shopt', 'source', '.']);

/** Larger inputs are refused without parsing. */
export const MAX_INPUT_BYTES = 64 * 1024;

let parser: Parser | null = null;
let initPromise: Promise<void> | null = null;

/** Loads the wasm runtime and the bash grammar. Call (and await) once before `analyzeShell`. */
export function initShellParser(): Promise<void> {
  if (!initPromise) {
    initPromise = (async () => {
      await Parser.init();
      const require = createRequire(import.meta.url);
      const dir = dirname(require.resolve('tree-sitter-bash/package.json'));
      const language = await Language.load(join(dir, 'tree-sitter-bash.wasm'));
      const p = new Parser();
      p.setLanguage(language);
      parser = p;
    })().catch((err: unknown) => {
      initPromise = null;
      throw err;
    });
  }
  return initPromise;
}

/** Analyses one shell command line (a whole script is fine). Synchronous; needs `initShellParser()`. */
export function analyzeShell(command: string): ShellAnalysis {
  if (!parser) throw new Error('analyzeShell: call and await initShellParser() first');
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > MAX_INPUT_BYTES) {
    return {
      commands: [],
      redirects: [],
      problems: [`command is ${bytes} bytes, over the ${MAX_INPUT_BYTES}-byte limit: not analysed`],
    };
  }
  const walker = new Walker(parser);
  try {
    walker.analyzeSource(command, [], 0, 'bash');
  } catch (err) {
    // Never let an unexpected input escape as an exception: it is reported as not understood.
    walker.problems.push(`internal error while analysing the command: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (walker.foldedHeredoc && (walker.definedFunctions.has('cat') || walker.commands.some((c) => c.name?.kind === 'literal' && CAT_CHANGERS.has(c.name.value)))) {
    walker.problems.push('a "$(cat <<EOF …)" argument was read as its text, but the script may redefine cat');
  }
  return { commands: walker.commands, redirects: walker.redirects, problems: walker.problems };
}
