/**
 * The syntax walker: every statement and redirection node of tree-sitter-bash's tree, handled
 * explicitly (anything else is a problem). Simple commands are handed to `emit`, implemented in
 * command-semantics.ts, which decides what they run.
 */
import type { Node } from 'web-tree-sitter';
import { dynamicWord, finalize, literalWord, short } from './words.js';
import type { Word } from './types.js';
import type { Arg, Assign, Pending, Scope } from './words.js';
import { CODE_VARS, REDIRECT_TYPES, SAFE_INDEX, STATEMENT_TYPES, WalkerBase, WORD_TYPES } from './walker-base.js';

/** Walks statements and redirections; `emit` (command semantics) is left to the subclass. */
export abstract class SyntaxWalker extends WalkerBase {
  /** Records a simple command, unwrapping code-running wrappers (command-semantics.ts). */
  protected abstract emit(p: Pending): void;

  // -------------------------------------------------------------------------------------------
  // Statements

  protected stmt(n: Node, sc: Scope, extra: Arg[]): void {
    this.deeper(n, sc, undefined, () => this.stmtInner(n, sc, extra));
  }

  private stmtInner(n: Node, sc: Scope, extra: Arg[]): void {
    if (extra.length && n.type !== 'command') {
      this.problem(`arguments after a redirection of "${short(this.text(n, sc))}" cannot be placed`);
    }
    switch (n.type) {
      case 'list':
        this.list(n, sc);
        return;
      case 'program': case 'pipeline': case 'subshell': case 'do_group':
      case 'else_clause': case 'elif_clause': case 'negated_command': case 'if_statement':
      case 'while_statement':
        this.statements(n, sc);
        return;
      case 'compound_statement':
        if (n.childCount > 0 && n.child(0)?.type === '((') {
          for (const c of n.namedChildren) this.arith(c, sc, `arithmetic command "${short(this.text(n, sc))}"`);
        } else {
          // bash only reads `{` as a group when it is a word of its own: `{ls;}` is a syntax error.
          if (n.child(0)?.type === '{' && !/[ \t\n]/.test(sc.src[n.startIndex + 1] ?? '')) {
            this.problem(`"${short(this.text(n, sc))}": bash needs a blank after "{" (this is a syntax error for bash)`);
          }
          this.statements(n, sc);
        }
        return;
      case 'command':
        this.command(n, sc, extra);
        return;
      case 'redirected_statement':
        this.redirected(n, sc);
        return;
      case 'variable_assignment': case 'variable_assignments':
        this.bareAssignments(n, sc);
        return;
      case 'declaration_command': case 'unset_command':
        this.declaration(n, sc);
        return;
      case 'test_command':
        this.testCommand(n, sc);
        return;
      case 'for_statement':
        this.forStatement(n, sc);
        return;
      case 'c_style_for_statement':
        this.cFor(n, sc);
        return;
      case 'case_statement':
        this.caseStatement(n, sc);
        return;
      case 'function_definition':
        this.functionDefinition(n, sc);
        return;
      case 'comment':
        return;
      case 'ERROR':
        this.bestEffort(n, sc);
        return;
      default:
        this.problem(`unsupported shell construct "${n.type}": "${short(this.text(n, sc))}"`);
        this.bestEffort(n, sc);
    }
  }

  /** `a && b && c` nests lists to the left: walk them iteratively, in source order. */
  private list(n: Node, sc: Scope): void {
    const tails: Node[][] = [];
    let cur = n;
    for (;;) {
      const kids = cur.namedChildren.filter((c) => c.type !== 'comment');
      if (kids.length && kids[0].type === 'list') {
        tails.push(kids.slice(1));
        cur = kids[0];
      } else {
        tails.push(kids);
        break;
      }
    }
    for (let i = tails.length - 1; i >= 0; i--) for (const c of tails[i]) this.stmt(c, sc, []);
  }

  /** Walks the named children of a statement list-like node. */
  protected statements(n: Node, sc: Scope): void {
    for (const c of n.children) {
      if (!c.isNamed) continue;
      if (c.type === 'comment') continue;
      this.stmt(c, sc, []);
    }
  }

  /** Recovers whatever commands can be found under a node the analysis does not model. */
  protected bestEffort(n: Node, sc: Scope): void {
    this.deeper(n, sc, undefined, () => this.bestEffortInner(n, sc));
  }

  private bestEffortInner(n: Node, sc: Scope): void {
    for (const c of n.namedChildren) {
      if (STATEMENT_TYPES.has(c.type)) this.stmt(c, sc, []);
      else if (WORD_TYPES.has(c.type)) this.word(c, sc, 'arg', false);
      else if (REDIRECT_TYPES.has(c.type)) {
        const deferred: Node[] = [];
        this.redirect(c, sc, [], deferred);
        for (const d of deferred) this.stmt(d, sc, []);
      } else if (c.type === 'case_item') this.caseItem(c, sc);
      else this.bestEffort(c, sc);
    }
  }

  private command(n: Node, sc: Scope, extra: Arg[]): void {
    const assigns: Assign[] = [];
    const argv: Arg[] = [];
    const fromRedirects: Arg[] = [];
    const deferred: Node[] = [];
    let prev: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) {
        this.redirect(c, sc, fromRedirects, deferred);
        prev = c;
        continue;
      }
      if (c.type === 'variable_assignment') {
        this.sep(prev, c, sc);
        assigns.push(this.assignment(c, sc));
        prev = c;
        continue;
      }
      if (field === 'name' || field === 'argument') {
        this.sep(prev, c, sc);
        argv.push(this.arg(c, sc, 'arg'));
        prev = c;
        continue;
      }
      if (c.type === 'comment') continue;
      this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in command "${short(this.text(n, sc))}"`);
      if (STATEMENT_TYPES.has(c.type)) this.stmt(c, sc, []);
      else this.bestEffort(c, sc);
      prev = c;
    }
    argv.push(...fromRedirects, ...extra);
    this.emit({ argv, assigns: [...sc.env, ...assigns], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private redirected(n: Node, sc: Scope): void {
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    let body: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') body = c;
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (c.type === 'comment') continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in "${short(this.text(n, sc))}"`);
        this.bestEffort(c, sc);
      }
    }
    if (body) this.stmt(body, sc, extra);
    else if (extra.length) this.problem(`arguments after a redirection without a command in "${short(this.text(n, sc))}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  private bareAssignments(n: Node, sc: Scope): void {
    const assigns: Assign[] = [];
    if (n.type === 'variable_assignment') {
      assigns.push(this.assignment(n, sc));
    } else {
      let prev: Node | null = null;
      for (const c of n.namedChildren) {
        if (c.type === 'comment') continue;
        this.sep(prev, c, sc);
        if (c.type === 'variable_assignment') assigns.push(this.assignment(c, sc));
        else {
          this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in assignments`);
          this.bestEffort(c, sc);
        }
        prev = c;
      }
    }
    this.commands.push({ name: null, args: [], assignments: assigns, wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc) });
  }

  private assignment(n: Node, sc: Scope, assoc = false): Assign {
    let name = '';
    let append = false;
    let valueNode: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'name') {
        name = this.text(c, sc);
        if (c.type === 'subscript') this.bestEffort(c, sc); // finds $(…) inside the index
        else if (c.type !== 'variable_name') this.problem(`unexpected variable name "${short(name)}"`);
      } else if (field === 'value') valueNode = c;
      else if (c.type === '+=') append = true;
      else if (c.type !== '=') this.problem(`unexpected "${short(this.text(c, sc))}" in assignment "${short(this.text(n, sc))}"`);
    }
    this.checkVarName(name);
    const text = this.text(n, sc);
    let value: Word;
    if (!valueNode) value = literalWord('');
    else if (valueNode.type === 'array') {
      this.arrayLiteral(valueNode, sc, assoc);
      value = dynamicWord(this.text(valueNode, sc));
    } else value = finalize(this.word(valueNode, sc, 'assign', false), 'assign', this.text(valueNode, sc));
    if (append) value = dynamicWord(text);
    return { name, value };
  }

  /** `assoc`: known to be an associative array (`declare -A`), whose keys are not arithmetic. */
  protected arrayLiteral(n: Node, sc: Scope, assoc = false): void {
    for (const c of n.namedChildren) {
      if (c.type === 'comment') continue;
      this.word(c, sc, 'arg', false);
      // `a=([i]=x)` evaluates the index as arithmetic for indexed arrays.
      const m = /^\[([^\]]*)\]=/.exec(this.text(c, sc));
      if (m && !assoc && !SAFE_INDEX.test(m[1])) {
        this.problem(`array index "[${short(m[1], 30)}]" in "${short(this.text(n, sc))}" is evaluated as arithmetic`);
      }
    }
  }

  /** A variable name some builtin will assign or inspect: subscripts are arithmetic. */
  protected checkVarName(name: string): void {
    const b = name.indexOf('[');
    const base = b < 0 ? name : name.slice(0, b);
    if (CODE_VARS.has(base)) this.problem(`assignment to ${base}: bash runs or prompt-expands its value`);
    if (b >= 0) {
      const idx = name.slice(b + 1, name.endsWith(']') ? -1 : undefined);
      if (!SAFE_INDEX.test(idx)) {
        this.problem(`variable "${short(name, 40)}" has an array subscript that bash evaluates as arithmetic (it can run commands)`);
      }
    }
  }

  private declaration(n: Node, sc: Scope): void {
    const kids = n.children;
    if (!kids.length) return;
    const kw = kids[0];
    const argv: Arg[] = [{ word: literalWord(kw.type), text: kw.type, bare: null, src: sc.src, start: kw.startIndex, end: kw.endIndex }];
    let prev: Node | null = kw;
    for (let i = 1; i < kids.length; i++) {
      const c = kids[i];
      if (c.type === 'comment') continue;
      this.sep(prev, c, sc);
      prev = c;
      const base = { text: this.text(c, sc), bare: null, src: sc.src, start: c.startIndex, end: c.endIndex };
      if (c.type === 'variable_assignment') {
        const assoc = argv.some((x) => x.word.kind === 'literal' && /^-[A-Za-z]*A/.test(x.word.value));
        const a = this.assignment(c, sc, assoc);
        const word = a.value.kind === 'literal' ? literalWord(`${a.name}=${a.value.value}`) : dynamicWord(base.text);
        argv.push({ ...base, word });
      } else if (c.type === 'variable_name') {
        argv.push({ ...base, word: literalWord(base.text) });
      } else if (WORD_TYPES.has(c.type) || !c.isNamed) {
        argv.push(this.arg(c, sc, 'arg'));
      } else {
        this.problem(`unexpected "${short(base.text)}" (${c.type}) in "${short(this.text(n, sc))}"`);
        this.bestEffort(c, sc);
      }
    }
    this.emit({ argv, assigns: [...sc.env], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
  }

  private testCommand(n: Node, sc: Scope): void {
    const kids = n.children;
    const open = kids.length ? kids[0].type : '[';
    if (open === '[') {
      // `[` is an ordinary command for bash: `[ a > b ]` redirects and `[ x && rm y ]` is two
      // commands, but tree-sitter reads both as test expressions. Re-parse it as the command `\[`.
      const from = this.commands.length;
      this.analyzeSource(`\\${this.text(n, sc)}`, sc.wrappers, sc.depth, 'bash', sc.env);
      for (let i = from; i < this.commands.length; i++) {
        const c = this.commands[i];
        if (c.text.startsWith('\\[')) c.text = c.text.slice(1);
      }
      return;
    }
    const dbl = open === '[[';
    const argv: Arg[] = [{ word: literalWord(open), text: open, bare: null, src: sc.src, start: n.startIndex, end: n.startIndex + open.length }];
    let prev: Node | null = null;
    const visit = (x: Node, top: boolean): void => {
      for (const c of x.children) {
        if (top && (c.type === open || c.type === ']]' || c.type === ']')) continue;
        switch (c.type) {
          case 'binary_expression': case 'unary_expression': case 'parenthesized_expression':
            visit(c, false);
            break;
          case 'comment':
            break;
          default: {
            this.sep(prev, c, sc);
            prev = c;
            if (c.type === 'test_operator' || !c.isNamed) {
              const t = this.text(c, sc);
              argv.push({ word: literalWord(t), text: t, bare: null, src: sc.src, start: c.startIndex, end: c.endIndex });
            } else if (WORD_TYPES.has(c.type)) {
              argv.push(this.arg(c, sc, dbl ? 'cond' : 'arg'));
            } else {
              this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in test "${short(this.text(n, sc))}"`);
              this.bestEffort(c, sc);
            }
          }
        }
      }
    };
    visit(n, true);
    this.emit({ argv, assigns: [...sc.env], wrappers: sc.wrappers, dynamicTail: false, text: this.text(n, sc), depth: sc.depth });
  }

  private forStatement(n: Node, sc: Scope): void {
    let name = '';
    const values: Arg[] = [];
    let body: Node | null = null;
    let prev: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'variable') name = this.text(c, sc);
      else if (field === 'value') {
        this.sep(prev, c, sc);
        prev = c;
        values.push(this.arg(c, sc, 'arg'));
      } else if (field === 'body') body = c;
      else if (c.isNamed && c.type !== 'comment') {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in for loop`);
        this.bestEffort(c, sc);
      }
    }
    this.checkVarName(name);
    let value: Word;
    if (values.length === 1 && values[0].word.kind === 'literal') value = values[0].word;
    else if (values.length === 0 && !kids.some((k) => k.type === 'in')) value = dynamicWord('"$@"');
    else value = dynamicWord(values.map((v) => v.text).join(' '));
    this.commands.push({ name: null, args: [], assignments: [{ name, value }], wrappers: sc.wrappers, dynamicTail: false, text: `${name}=${value.kind === 'literal' ? value.value : value.text}` });
    if (body) this.stmt(body, sc, []);
  }

  private cFor(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') this.stmt(c, sc, []);
      else if (c.isNamed && c.type !== 'comment') this.arith(c, sc, `for (( … )) loop "${short(this.text(n, sc))}"`);
    }
  }

  private caseStatement(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'value') this.word(c, sc, 'cond', false);
      else if (c.type === 'case_item') this.caseItem(c, sc);
      else if (c.isNamed && c.type !== 'comment') {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in case`);
        this.bestEffort(c, sc);
      }
    }
  }

  private caseItem(n: Node, sc: Scope): void {
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'value') this.word(c, sc, 'cond', false);
      else if (!c.isNamed || c.type === 'comment') continue;
      else this.stmt(c, sc, []);
    }
  }

  private functionDefinition(n: Node, sc: Scope): void {
    const kids = n.children;
    const extra: Arg[] = [];
    const deferred: Node[] = [];
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'body') this.stmt(c, sc, []);
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (field === 'name') this.definedFunctions.add(this.text(c, sc));
      else if (!c.isNamed || c.type === 'comment') continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in function definition`);
        this.bestEffort(c, sc);
      }
    }
    if (extra.length) this.problem(`arguments after a redirection of function "${short(this.text(n, sc))}"`);
    for (const d of deferred) this.stmt(d, sc, []);
  }

  // -------------------------------------------------------------------------------------------
  // Redirections

  protected redirect(n: Node, sc: Scope, extra: Arg[], deferred: Node[]): void {
    switch (n.type) {
      case 'file_redirect':
        this.fileRedirect(n, sc, extra);
        return;
      case 'heredoc_redirect':
        this.heredoc(n, sc, extra, deferred);
        return;
      case 'herestring_redirect':
        for (const c of n.namedChildren) {
          if (c.type === 'file_descriptor' || c.type === 'comment') continue;
          this.word(c, sc, 'here', false);
        }
        return;
      default:
        this.problem(`unsupported redirection "${short(this.text(n, sc))}" (${n.type})`);
        this.bestEffort(n, sc);
    }
  }

  private fileRedirect(n: Node, sc: Scope, extra: Arg[]): void {
    let op = '';
    const dests: Node[] = [];
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (field === 'destination') dests.push(c);
      else if (field === 'descriptor') continue;
      else if (c.type === 'ERROR') {
        // tree-sitter-bash does not know `<>`: it yields `<` followed by an ERROR `>`.
        if (op === '<' && this.text(c, sc) === '>') op = '<>';
        else this.bestEffort(c, sc);
      } else if (!c.isNamed) {
        if (!op) op = c.type;
        else this.problem(`unexpected "${c.type}" in redirection "${short(this.text(n, sc))}"`);
      } else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in redirection`);
        this.bestEffort(c, sc);
      }
    }
    if (op === '<&-' || op === '>&-') {
      for (const d of dests) this.word(d, sc, 'redirect', false);
      return;
    }
    if (!dests.length) {
      this.problem(`redirection "${short(this.text(n, sc))}" has no target`);
      return;
    }
    const first = dests[0];
    const target = this.arg(first, sc, 'redirect');
    let access: 'read' | 'write' | null;
    if (op === '>&' || op === '<&') {
      const fd = target.word.kind === 'literal' && /^(?:\d+-?|-)$/.test(target.word.value);
      access = fd ? null : op === '>&' ? 'write' : 'read';
    } else if (op === '<') access = 'read';
    else if (op === '>' || op === '>>' || op === '>|' || op === '&>' || op === '&>>' || op === '<>') access = 'write';
    else {
      this.problem(`unknown redirection operator "${op}"`);
      access = 'write';
    }
    if (access) {
      this.redirects.push({ op, target: target.word, access, text: sc.src.slice(n.startIndex, first.endIndex) });
    }
    // tree-sitter attaches words after a redirection target to the redirection (`ls > a b`);
    // for bash they are more arguments of the command.
    for (let k = 1; k < dests.length; k++) {
      this.sep(dests[k - 1], dests[k], sc);
      extra.push(this.arg(dests[k], sc, 'arg'));
    }
  }

  private heredoc(n: Node, sc: Scope, extra: Arg[], deferred: Node[]): void {
    let op = '<<';
    let start = '';
    let body: Node | null = null;
    let end: Node | null = null;
    const kids = n.children;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      const field = n.fieldNameForChild(i);
      if (c.type === 'heredoc_start') start = this.text(c, sc);
      else if (c.type === 'heredoc_body') body = c;
      else if (c.type === 'heredoc_end') end = c;
      else if (c.type === '<<' || c.type === '<<-') op = c.type;
      else if (field === 'descriptor' || field === 'operator' || c.type === 'comment') continue;
      else if (field === 'redirect' || REDIRECT_TYPES.has(c.type)) this.redirect(c, sc, extra, deferred);
      else if (field === 'argument') extra.push(this.arg(c, sc, 'arg'));
      else if (field === 'right' || c.type === 'pipeline') deferred.push(c);
      else if (!c.isNamed) continue;
      else {
        this.problem(`unexpected "${short(this.text(c, sc))}" (${c.type}) in heredoc`);
        this.bestEffort(c, sc);
      }
    }
    const quoted = /['"\\]/.test(start);
    const delim = start.replace(/['"\\]/g, '');
    // Verify tree-sitter ended the body where bash does.
    const bodyText = body ? this.text(body, sc) : '';
    const lines = bodyText.split('\n');
    lines.pop();
    const strip = (l: string): string => (op === '<<-' ? l.replace(/^\t+/, '') : l);
    let endOk = false;
    if (end) {
      // The delimiter must be a whole line (after leading tabs for <<-), as bash requires.
      const lineStart = sc.src.lastIndexOf('\n', end.startIndex - 1) + 1;
      const indent = sc.src.slice(lineStart, end.startIndex);
      const after = sc.src[end.endIndex];
      endOk = this.text(end, sc) === delim && (indent === '' || (op === '<<-' && /^\t+$/.test(indent))) && (after === undefined || after === '\n');
    }
    if (!endOk || lines.some((l) => strip(l) === delim)) {
      this.problem(`heredoc "${short(start, 30)}": the parser and bash may disagree on where its body ends`);
    }
    if (quoted || !body) return;
    const scan = this.scanExpansions(sc, body.startIndex, body.endIndex, body.children);
    if (scan.missing) this.problem(`heredoc "${short(start, 30)}" body has expansions the parser did not analyse`);
    for (const c of scan.walk) this.word(c, sc, 'here', true);
  }

}
