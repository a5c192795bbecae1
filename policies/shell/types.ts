/**
 * The shell command model produced by analyzeShell() and consumed by the policy compiler.
 */

/** A shell word after quote removal. Anything whose value is only known at run time is dynamic. */
export type Word =
  | { kind: 'literal'; value: string }
  /** `$VAR`, `$(cmd)`, unquoted globs, `~user`, brace expansion…: `text` is the source text. */
  | {
      kind: 'dynamic';
      text: string;
      /**
       * True when the word may expand to zero or several arguments at run time (an unquoted
       * expansion, a glob, a brace expansion, `"$@"`…). Absent means exactly one argument.
       */
      multi?: boolean;
      /** A whole process substitution `<(…)`/`>(…)`: bash passes a pipe, `/dev/fd/N`, never an option or a file. */
      pipe?: true;
    };

/** One simple command that the shell would run, wherever it sits in the script. */
export interface SimpleCommand {
  /** The command word; null for a statement that is only variable assignments (`X=1`). */
  name: Word | null;
  args: Word[];
  /** Prefix assignments (`FOO=1 cmd`) or, when name is null, the bare assignments. */
  assignments: { name: string; value: Word }[];
  /** Wrappers this command was unwrapped from, outermost first, e.g. ['sudo', 'bash -c']. */
  wrappers: string[];
  /** True when more arguments are appended at run time (xargs, `find -exec … {} +`). */
  dynamicTail: boolean;
  /** Source text of the command, for traces. */
  text: string;
}

export interface Redirect {
  /** The operator as written: `>`, `>>`, `&>`, `<`, `<>`, `>|`… */
  op: string;
  target: Word;
  access: 'read' | 'write';
  text: string;
}

export interface ShellAnalysis {
  commands: SimpleCommand[];
  redirects: Redirect[];
  /** Non-empty when the parser did not fully understand the script. Such a script is never `allow`. */
  problems: string[];
}

/** How a pattern is matched: `must` for allow rules, `could` for ask/deny rules (see patterns.ts). */
export type MatchMode = 'must' | 'could';
