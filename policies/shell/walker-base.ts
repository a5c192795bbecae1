/**
 * The base of the syntax walker: bounded work (time budget, nesting, problem list), parsing a
 * source string, whole-source checks where tree-sitter and bash disagree, and the evaluation of
 * words (expansions, command substitutions, arithmetic). Statements and redirections are walked
 * by SyntaxWalker (syntax-walker.ts); what a simple command runs is decided in command-semantics.ts.
 */
import type { Parser } from 'web-tree-sitter';
import type { Node } from 'web-tree-sitter';
import type { Redirect, SimpleCommand } from './types.js';
import { cat, decodeAnsiC, decodeDq, decodeUnquoted, dynWV, EMPTY, finalize, hasUnparsedExpansion, lit, short } from './words.js';
import type { Arg, Assign, Ctx, Dialect, Scope, WV } from './words.js';

/** Maximum nesting of unwrapped wrappers and re-parsed strings (`bash -c "eval '…'"`). */
export const MAX_DEPTH = 8;
/** Maximum syntactic nesting walked (subshells, substitutions, expressions…). */
export const MAX_NESTING = 200;
/**
 * Time budget for one analysis (parse and walk, nested strings included). tree-sitter-bash is
 * quadratic on some inputs (a heredoc with thousands of expansions takes seconds): past the budget
 * the command is reported as not understood instead of stalling the caller.
 */
export const TIME_BUDGET_MS = 1000;
/** Problems listed at most; the rest are summarised in one entry. */
const MAX_PROBLEMS = 50;

export const STATEMENT_TYPES = new Set([
  'command', 'pipeline', 'list', 'redirected_statement', 'subshell', 'compound_statement',
  'if_statement', 'while_statement', 'for_statement', 'c_style_for_statement', 'case_statement',
  'function_definition', 'negated_command', 'test_command', 'declaration_command', 'unset_command',
  'variable_assignment', 'variable_assignments',
]);
export const WORD_TYPES = new Set([
  'word', 'string', 'raw_string', 'ansi_c_string', 'translated_string', 'concatenation', 'number',
  'simple_expansion', 'expansion', 'command_substitution', 'process_substitution',
  'arithmetic_expansion', 'brace_expression', 'extglob_pattern', 'array', 'regex', 'command_name',
]);
export const REDIRECT_TYPES = new Set(['file_redirect', 'heredoc_redirect', 'herestring_redirect']);

/** An unescaped backtick, `$(` or `$[` in text: code that bash would run. */
const HIDDEN_CODE = /(?:^|[^\\])(?:\\\\)*(?:`|\$\(|\$\[)/;
/** Variables whose value bash itself runs or prompt-expands (which runs `$(…)`). */
export const CODE_VARS = new Set(['PROMPT_COMMAND', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'BASH_ENV', 'ENV']);
export const SAFE_INDEX = /^(?:\d+|@|\*)$/;

/** Walker state and word evaluation; statements, redirections and commands are left to subclasses. */
export abstract class WalkerBase {
  readonly commands: SimpleCommand[] = [];
  readonly redirects: Redirect[] = [];
  readonly problems: string[] = [];
  /** Names of the functions the script defines (anywhere, in any code string it runs). */
  readonly definedFunctions = new Set<string>();
  /** Some `"$(cat <<'EOF' … EOF)"` was read as its heredoc's text (see heredocText). */
  foldedHeredoc = false;
  private readonly seen = new Set<string>();
  /** Current syntactic nesting of the walk (bounded by MAX_NESTING). */
  private nesting = 0;
  private readonly deadline = performance.now() + TIME_BUDGET_MS;
  private ticks = 0;
  private outOfTime = false;

  constructor(private readonly parser: Parser) {}

  private overBudget(): boolean {
    if (!this.outOfTime && performance.now() > this.deadline) {
      this.outOfTime = true;
      this.problem(`analysis took longer than ${TIME_BUDGET_MS} ms: the command is too complex to analyse`);
    }
    return this.outOfTime;
  }

  /** Runs `f` one level deeper; past MAX_NESTING reports a problem and returns `fallback`. */
  protected deeper<T>(n: Node, sc: Scope, fallback: T, f: () => T): T {
    if ((++this.ticks & 255) === 0 && this.overBudget()) return fallback;
    if (this.outOfTime) return fallback;
    if (this.nesting >= MAX_NESTING) {
      this.problem(`nested more than ${MAX_NESTING} levels deep: "${short(this.text(n, sc))}" not analysed`);
      return fallback;
    }
    this.nesting++;
    try {
      return f();
    } finally {
      this.nesting--;
    }
  }

  protected problem(msg: string): void {
    if (this.seen.has(msg)) return;
    this.seen.add(msg);
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(msg);
    else if (this.problems.length === MAX_PROBLEMS) this.problems.push('further problems not listed');
  }

  protected text(n: Node, sc: Scope): string {
    return sc.src.slice(n.startIndex, n.endIndex);
  }

  /** Parses `src` and walks it. Used for the input and for every re-parsed string. */
  analyzeSource(src: string, wrappers: string[], depth: number, dialect: Dialect, env: Assign[] = []): void {
    const where = wrappers.length ? ` (inside ${wrappers[wrappers.length - 1]})` : '';
    if (depth > MAX_DEPTH) {
      this.problem(`nesting deeper than ${MAX_DEPTH} levels${where}: "${short(src)}" not analysed`);
      return;
    }
    if (dialect === 'sh' && /\$['"]/.test(src)) {
      this.problem(`$'…'/$"…" quoting in a string run by a POSIX sh${where}: dash reads it differently from bash`);
    } else if (dialect === 'foreign') {
      this.problem(`script for a non-bash shell${where} analysed with bash rules: its syntax differs`);
    }
    if (this.overBudget()) return;
    const deadline = this.deadline;
    const tree = this.parser.parse(src, null, { progressCallback: () => performance.now() > deadline });
    if (!tree) {
      this.parser.reset();
      if (!this.overBudget()) this.problem(`the parser failed on "${short(src)}"`);
      return;
    }
    try {
      const root = tree.rootNode;
      const sc: Scope = { src, wrappers, depth, env };
      if (root.hasError) this.problem(this.describeError(root, sc));
      this.checkSource(root, sc);
      this.stmt(root, sc, []);
    } finally {
      tree.delete();
    }
  }

  private describeError(root: Node, sc: Scope): string {
    const stack: Node[] = [root];
    while (stack.length) {
      const n = stack.pop() as Node;
      if (n.isError || n.isMissing) {
        const what = n.isMissing ? `missing "${n.type}"` : `cannot parse "${short(this.text(n, sc), 40)}"`;
        return `syntax error at offset ${n.startIndex}: ${what} in "${short(sc.src)}"`;
      }
      if (!n.hasError) continue;
      const kids = n.children;
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
    return `syntax error in "${short(sc.src)}"`;
  }

  /** Whole-source checks for places where tree-sitter and bash disagree. */
  private checkSource(root: Node, sc: Scope): void {
    const src = sc.src;
    // eslint-disable-next-line no-control-regex
    const ctl = /[\x00-\x08\x0b-\x1f\x7f]/.exec(src);
    if (ctl) {
      const code = ctl[0].charCodeAt(0).toString(16).padStart(2, '0');
      this.problem(`control character \\x${code} in the command: bash and the parser may split words differently`);
    }
    let idx = src.indexOf('\\\n');
    while (idx >= 0) {
      let backslashes = 0;
      for (let j = idx - 1; j >= 0 && src[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) {
        const before = idx > 0 ? src[idx - 1] : ' ';
        const after = idx + 2 < src.length ? src[idx + 2] : ' ';
        if (!/\s/.test(before) && !/\s/.test(after) && !this.inLiteralText(root, idx)) {
          this.problem(`line continuation inside a word at offset ${idx}: bash joins "${short(src.slice(Math.max(0, idx - 10), idx + 12), 30)}" into one word`);
        }
      }
      idx = src.indexOf('\\\n', idx + 2);
    }
  }

  private inLiteralText(root: Node, idx: number): boolean {
    let n: Node | null = root.descendantForIndex(idx, idx + 1);
    while (n) {
      switch (n.type) {
        case 'raw_string': case 'ansi_c_string': case 'string': case 'string_content':
        case 'heredoc_body': case 'heredoc_content': case 'comment':
          return true;
        case 'command_substitution': case 'process_substitution': case 'arithmetic_expansion':
        case 'expansion': case 'subshell':
          return false; // code nested inside a string is code again
        default:
          n = n.parent;
      }
    }
    return false;
  }

  /** Reports when tree-sitter split what bash reads as one word (no blank between them). */
  protected sep(prev: Node | null, cur: Node, sc: Scope): void {
    if (!prev) return;
    // Escaped characters (`\ `, backslash-newline) do not separate words.
    const gap = sc.src.slice(prev.endIndex, cur.startIndex).replace(/\\[\s\S]/g, '');
    if (!/[ \t]/.test(gap)) {
      this.problem(`"${short(sc.src.slice(prev.startIndex, cur.endIndex))}": the parser split one shell word in two`);
    }
  }

  // Implemented by SyntaxWalker: words contain statements (`$(…)`, `<(…)`) and arrays.
  protected abstract stmt(n: Node, sc: Scope, extra: Arg[]): void;
  protected abstract statements(n: Node, sc: Scope): void;
  protected abstract bestEffort(n: Node, sc: Scope): void;
  protected abstract redirect(n: Node, sc: Scope, extra: Arg[], deferred: Node[]): void;
  protected abstract arrayLiteral(n: Node, sc: Scope, assoc?: boolean): void;

  // -------------------------------------------------------------------------------------------
  // Words

  protected arg(n: Node, sc: Scope, ctx: Ctx): Arg {
    const text = this.text(n, sc);
    // tree-sitter drops an escaped blank that starts a word (`a \ x` passes " x").
    const s0 = n.startIndex;
    if (s0 >= 2 && /[ \t]/.test(sc.src[s0 - 1]) && sc.src[s0 - 2] === '\\') {
      let backslashes = 0;
      for (let j = s0 - 2; j >= 0 && sc.src[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 1) this.problem(`escaped blank before "${short(text, 30)}": the parser drops it from the word`);
    }
    const w = this.word(n, sc, ctx, false);
    let bare: string | null = null;
    if (n.type === 'word') bare = text;
    else if (n.type === 'command_name' && n.childCount === 1 && n.child(0)?.type === 'word') bare = text;
    let word = finalize(w, ctx, text);
    if (n.type === 'process_substitution' && word.kind === 'dynamic' && !word.multi) word = { ...word, pipe: true };
    return { word, text, bare, src: sc.src, start: n.startIndex, end: n.endIndex };
  }

  /** Evaluates a word node (walking any code inside it). `q`: inside double quotes. */
  protected word(n: Node, sc: Scope, ctx: Ctx, q: boolean): WV {
    return this.deeper(n, sc, dynWV(true), () => this.wordInner(n, sc, ctx, q));
  }

  private wordInner(n: Node, sc: Scope, ctx: Ctx, q: boolean): WV {
    const splits = !q && ctx === 'arg';
    switch (n.type) {
      case 'word': {
        const t = this.text(n, sc);
        // A plain word never holds code. One that does (a backtick or `$(` the parser left as text, as
        // in `${x:-`cmd`}`) is code icode cannot see: bash would run it.
        if (HIDDEN_CODE.test(t)) this.problem(`"${short(t)}" holds a command substitution the parser did not recognise`);
        return q ? lit(t, true) : decodeUnquoted(t);
      }
      case 'number':
        if (n.namedChildCount > 0) {
          for (const c of n.namedChildren) this.word(c, sc, ctx, q);
          return dynWV(splits);
        }
        return q ? lit(this.text(n, sc), true) : decodeUnquoted(this.text(n, sc));
      case 'raw_string':
        return lit(this.text(n, sc).slice(1, -1), true);
      case 'string': {
        const kids = n.children;
        // tree-sitter misreads `$` followed by a blank inside quotes ("$ $(id)" hides the
        // substitution): check its expansions against a scan with bash's rules.
        const t = this.text(n, sc);
        if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
          const scan = this.scanExpansions(sc, n.startIndex + 1, n.endIndex - 1, kids);
          if (scan.missing || scan.repaired) {
            if (scan.missing) this.problem(`double-quoted string ${short(t)}: the parser misread its expansions`);
            for (const c of scan.walk) this.word(c, sc, ctx, true);
            return dynWV(false);
          }
          // Only phantom expansions: bash sees plain text.
          if (scan.phantom && scan.found === 0) return lit(decodeDq(t.slice(1, -1)), true);
        }
        let acc = EMPTY;
        for (const c of kids) {
          if (c.type === '"') continue;
          if (c.type === 'string_content') acc = cat(acc, lit(decodeDq(this.text(c, sc)), true));
          else acc = cat(acc, this.word(c, sc, ctx, true));
        }
        return acc;
      }
      case 'command_name': case 'concatenation': {
        let acc = EMPTY;
        for (const c of n.children) acc = cat(acc, this.word(c, sc, ctx, q));
        return acc;
      }
      case 'ansi_c_string': {
        const t = this.text(n, sc);
        const d = decodeAnsiC(t.slice(2, -1));
        return d === null ? dynWV(false) : lit(d, true);
      }
      case 'translated_string':
        for (const c of n.namedChildren) this.word(c, sc, ctx, true);
        return dynWV(false);
      case 'simple_expansion': {
        const t = this.text(n, sc);
        return dynWV(splits || (q && t === '$@'));
      }
      case 'expansion': {
        this.expansion(n, sc);
        const t = this.text(n, sc);
        return dynWV(splits || (q && (/^\$\{[!#]?@/.test(t) || t.includes('[@]'))));
      }
      case 'command_substitution': {
        this.substitution(n, sc);
        // Quoted, so no splitting or globbing: the word is exactly what `cat <<'EOF'` prints.
        const text = q ? this.heredocText(n, sc) : null;
        if (text === null) return dynWV(splits);
        this.foldedHeredoc = true;
        return lit(text, true);
      }
      case 'process_substitution':
        this.statements(n, sc);
        return dynWV(false);
      case 'arithmetic_expansion':
        for (const c of n.namedChildren) this.arith(c, sc, `arithmetic "${short(this.text(n, sc))}"`);
        return dynWV(splits);
      case 'brace_expression':
        return dynWV(ctx === 'arg');
      case 'extglob_pattern': {
        const t = this.text(n, sc);
        return /[*?[()|@!+\\]/.test(t) ? dynWV(splits) : lit(t, q);
      }
      case 'array':
        this.arrayLiteral(n, sc);
        return dynWV(false);
      case 'regex': {
        const t = this.text(n, sc);
        if (hasUnparsedExpansion(t)) this.problem(`regular expression "${short(t)}" contains expansions the parser did not analyse`);
        return lit(t, true);
      }
      case 'test_operator': case 'variable_name': case 'special_variable_name': case 'file_descriptor':
        return lit(this.text(n, sc), q);
      case 'comment':
        return EMPTY;
      default:
        if (!n.isNamed) {
          const t = n.type;
          if (t === '$' || t === '==' || t === '=~' || t === '=' || t === '!=') return lit(t, q);
        }
        this.problem(`unsupported word "${short(this.text(n, sc))}" (${n.type})`);
        this.bestEffort(n, sc);
        return dynWV(true);
    }
  }

  /**
   * The output of `$(cat <<'EOF' … EOF)` — the usual way to pass a multi-line commit message — when the
   * substitution is nothing but `cat` reading a heredoc whose body has no expansions: the body, minus
   * the trailing newlines that command substitution removes (leading tabs too for `<<-`). Null for
   * anything else (other commands, arguments, more redirections, an unquoted body with `$`, `` ` `` or
   * `\`). The heredoc itself is still walked by substitution(), which reports a body bash would end
   * elsewhere; analyzeShell() refuses the fold when the script may redefine `cat` (a function, alias…).
   */
  private heredocText(n: Node, sc: Scope): string | null {
    if (!this.text(n, sc).startsWith('$(')) return null;
    const stmts = n.namedChildren.filter((c) => c.type !== 'comment');
    if (stmts.length !== 1 || stmts[0].type !== 'redirected_statement') return null;
    const parts = stmts[0].children;
    if (parts.length !== 2 || parts[0].type !== 'command' || parts[1].type !== 'heredoc_redirect') return null;
    const command = parts[0];
    if (command.childCount !== 1 || command.children[0].type !== 'command_name' || this.text(command, sc) !== 'cat') return null;
    let op: string | null = null;
    let start: string | null = null;
    let body: Node | null = null;
    let ends = 0;
    for (const c of parts[1].children) {
      if (c.type === '<<' || c.type === '<<-') op = c.type;
      else if (c.type === 'heredoc_start') start = this.text(c, sc);
      else if (c.type === 'heredoc_body' && body === null) body = c;
      else if (c.type === 'heredoc_end') ends++;
      else return null;
    }
    if (op === null || start === null || body === null || ends !== 1) return null;
    let text = this.text(body, sc);
    if (!/['"\\]/.test(start) && /[$`\\]/.test(text)) return null;
    if (op === '<<-') text = text.replace(/^\t+/gm, '');
    return text.replace(/\n+$/, '');
  }

  private substitution(n: Node, sc: Scope): void {
    const t = this.text(n, sc);
    if (t.startsWith('`') && t.includes('\\')) {
      this.problem(`backslashes inside backticks "${short(t)}" are re-interpreted by bash: use $(…)`);
    }
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (!c.isNamed || c.type === 'comment') continue;
      if (n.fieldNameForChild(i) === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else this.stmt(c, sc, []);
    }
    if (extra.length) this.problem(`unexpected words in "${short(t)}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private expansion(n: Node, sc: Scope): void {
    const t = this.text(n, sc);
    const kids = n.children;
    if (kids.length > 1 && kids[1].type === '!' && !/^\$\{![A-Za-z_][A-Za-z0-9_]*(?:[@*]|\[[@*]\])\}$/.test(t)) {
      this.problem(`indirect expansion "${short(t)}": the variable's value names what bash evaluates (it can run commands)`);
    }
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (c.type === '@' && i + 1 < kids.length && this.text(kids[i + 1], sc).startsWith('P')) {
        this.problem(`prompt expansion "${short(t)}" runs command substitutions found in the value`);
      }
      if (c.type === ':' && !c.isNamed) {
        const rest = sc.src.slice(c.startIndex, n.endIndex - 1);
        if (!/^:\s*-?\d+\s*(?::\s*-?\d+\s*)?$/.test(rest)) {
          this.problem(`substring offsets in "${short(t)}" are evaluated as arithmetic (they can run commands)`);
        }
      }
    }
    for (const c of n.namedChildren) {
      switch (c.type) {
        case 'variable_name': case 'special_variable_name':
          break;
        case 'subscript':
          this.subscript(c, sc);
          break;
        default:
          if (WORD_TYPES.has(c.type)) this.word(c, sc, 'assign', false);
          else this.bestEffort(c, sc);
      }
    }
  }

  /**
   * Scans double-quoted or heredoc text from `start` to `end` with bash's rules and checks that
   * every expansion bash sees is one of tree-sitter's child nodes, starting at the same offset.
   * `missing`: bash sees an expansion the parser does not have (code may be hidden);
   * `phantom`: the parser has an expansion bash does not see; `found`: expansions bash sees.
   */
  protected scanExpansions(sc: Scope, start: number, end: number, kids: Node[]): { missing: boolean; phantom: boolean; found: number; repaired: number; walk: Node[] } {
    const src = sc.src;
    const byStart = new Map<number, Node>();
    for (const k of kids) {
      if (!k.isNamed || k.type === 'string_content' || k.type === 'heredoc_content') continue;
      // Expansion nodes inside strings often start with the blanks before them.
      let at = k.startIndex;
      while (at < k.endIndex && /[ \t\n]/.test(src[at])) at++;
      byStart.set(at, k);
    }
    let found = 0;
    let repaired = 0;
    let matched = 0;
    const ranges: [number, number][] = [];
    /** Children to walk: all expansion nodes except those inside a repaired range (done already). */
    const walk = (): Node[] => [...byStart.entries()].filter(([at]) => !ranges.some(([a, b]) => at >= a && at < b)).map(([, k]) => k);
    let i = start;
    while (i < end) {
      const c = src[i];
      if (c === '\\') {
        i += 2;
        continue;
      }
      const exp = c === '`' || (c === '$' && i + 1 < end && /[({[A-Za-z0-9_@*#?$!-]/.test(src[i + 1]));
      if (!exp) {
        i++;
        continue;
      }
      found++;
      const k = byStart.get(i);
      if (!k || (k.type === 'simple_expansion' && !/^\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])$/.test(src.slice(i, k.endIndex)))) {
        const len = this.repairExpansion(sc, i, end);
        if (!len) return { missing: true, phantom: false, found, repaired, walk: walk() };
        repaired++;
        ranges.push([i, i + len]);
        i += len;
        continue;
      }
      matched++;
      i = Math.max(k.endIndex, i + 1);
    }
    return { missing: false, phantom: matched !== byStart.size, found, repaired, walk: walk() };
  }

  /**
   * Analyses an expansion the parser missed at `at` in double-quoted or heredoc text by parsing
   * it alone inside double quotes (same rules for the expansion itself). Returns its length, or
   * 0 when it cannot be isolated cleanly.
   */
  private repairExpansion(sc: Scope, at: number, end: number): number {
    const text = sc.src.slice(at, Math.min(end, at + 8192));
    const simple = /^\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(text);
    if (simple) return simple[0].length; // a plain variable: no code
    const synth = `"${text}"`;
    const tree = this.parser.parse(synth);
    if (!tree) {
      this.parser.reset();
      return 0;
    }
    try {
      const str = tree.rootNode.descendantForIndex(0, 1);
      const k = !str ? null : str.type === 'string' ? str.namedChild(0) : str.parent?.type === 'string' ? str.parent.namedChild(0) : null;
      if (!k || k.startIndex !== 1 || k.hasError || !['command_substitution', 'expansion', 'arithmetic_expansion'].includes(k.type)) return 0;
      this.word(k, { ...sc, src: synth }, 'here', true);
      return k.endIndex - 1;
    } finally {
      tree.delete();
    }
  }

  private subscript(n: Node, sc: Scope): void {
    const idx = n.childForFieldName('index');
    if (!idx) return;
    const t = this.text(idx, sc);
    if ((idx.type === 'word' || idx.type === 'number') && SAFE_INDEX.test(t)) return;
    this.arith(idx, sc, `array subscript "${short(this.text(n, sc))}"`);
  }

  /** Arithmetic may only use literal numbers: variables can carry `a[$(cmd)]` payloads. */
  protected arith(n: Node, sc: Scope, where: string): void {
    this.deeper(n, sc, undefined, () => this.arithInner(n, sc, where));
  }

  private arithInner(n: Node, sc: Scope, where: string): void {
    const bad = (): void => {
      this.problem(`${where} evaluates "${short(this.text(n, sc), 40)}" as arithmetic: a variable or run-time value there can make bash run commands`);
    };
    const t = this.text(n, sc);
    switch (n.type) {
      case 'number':
        if (n.namedChildCount > 0) {
          bad();
          this.bestEffort(n, sc);
        }
        return;
      case 'binary_expression': case 'unary_expression': case 'postfix_expression':
      case 'ternary_expression': case 'parenthesized_expression':
        for (const c of n.namedChildren) this.arith(c, sc, where);
        return;
      case 'word':
        if (!/^\d+$/.test(t)) bad();
        return;
      case 'simple_expansion':
        if (!/^\$[#?$!]$/.test(t)) bad();
        return;
      case 'expansion':
        if (!/^\$\{#[A-Za-z_][A-Za-z0-9_]*\}$/.test(t)) bad();
        this.expansion(n, sc);
        return;
      case 'command_substitution':
        bad();
        this.substitution(n, sc);
        return;
      case 'comment':
        return;
      default:
        bad();
        if (WORD_TYPES.has(n.type)) this.word(n, sc, 'assign', false);
        else this.bestEffort(n, sc);
    }
  }
}
