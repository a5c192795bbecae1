/**
 * Telling a mistyped command from a prompt. `icode "fix the test"` runs a prompt, but `icode sesions
 * list` is almost surely `icode sessions list`: one or two bare words whose first is a small edit away
 * from a command name (or whose second is one of that command's subcommands) are refused with a
 * suggestion instead of being sent to a model. Anything else is a prompt; `icode run WORDS` always is.
 */
import type { Command } from 'commander';

/** Damerau–Levenshtein distance (optimal string alignment), for short words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How far a word may be from a name and still count as a typo of it. */
function tolerance(name: string): number {
  return name.length <= 5 ? 1 : 2;
}

/** The command line the user probably meant, or null when WORDS read as a prompt. */
export function suggestCommand(program: Command, words: string[]): string | null {
  const [first, second] = words;
  if (first === undefined || !/^[a-z][a-z-]*$/i.test(first)) return null;
  const lower = first.toLowerCase();
  let best: { cmd: Command; name: string; dist: number } | null = null;
  for (const cmd of program.commands) {
    for (const name of [cmd.name(), ...cmd.aliases()]) {
      const dist = editDistance(lower, name);
      if (dist <= tolerance(name) && (best === null || dist < best.dist)) best = { cmd, name, dist };
    }
  }
  if (best === null) return null;
  const subNames = best.cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  const secondIsSub = second !== undefined && subNames.includes(second);
  if (words.length > 2 && !secondIsSub) return null;
  if (words.length === 2 && !secondIsSub && !/^[\w.\/-]+$/.test(second!)) return null;
  return [best.name, ...words.slice(1)].join(' ');
}
