/**
 * Pure text helpers of the TUI: everything untrusted (model text, tool names, tool output, stored rows)
 * goes through `safe()` before it reaches the screen, and everything shown goes through blessed's tag
 * escaping, so a model cannot draw on the terminal (OSC 52 clipboard writes, titles, cursor moves) or
 * forge a decision badge with `{green-fg}` tags.
 */

/** C0 controls except \t and \n, DEL, and C1 controls, shown visibly as \xNN. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function safe(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** blessed tag syntax is `{…}`: braces in content are escaped so that content is never markup. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Untrusted text, made safe for a tagged blessed element. */
export function plain(text: string): string {
  return escapeTags(safe(text));
}

export type Badge = 'allow' | 'ask' | 'deny';

const BADGE_COLOUR: Record<Badge, string> = { allow: 'green', ask: 'yellow', deny: 'red' };

export function badge(decision: Badge, approved?: boolean): string {
  const colour = BADGE_COLOUR[decision];
  const label = decision === 'ask' ? (approved === undefined ? 'ask' : approved ? 'ask→allowed' : 'ask→denied') : decision;
  return `{${colour}-fg}{bold}[${label}]{/bold}{/${colour}-fg}`;
}

/** One line, cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, Math.max(0, max - 1)) + '…' : flat;
}

/** The short form of a tool's input shown on its line: the command, the path, or compact JSON. */
export function shortInput(tool: string, input: unknown, max = 80): string {
  const o = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  if (typeof o.command === 'string') return oneLine(o.command, max);
  const parts: string[] = [];
  for (const key of ['path', 'pattern', 'url', 'subagent_type', 'description']) {
    if (typeof o[key] === 'string') parts.push(String(o[key]));
  }
  if (parts.length) return oneLine(parts.join(' '), max);
  let json: string;
  try {
    json = JSON.stringify(input) ?? '';
  } catch {
    json = String(input);
  }
  return oneLine(json, max);
}

/**
 * Markdown made readable in a terminal: headings bold, list bullets, fenced code blocks dimmed and
 * indented, inline `code` highlighted. Returns tagged text; the input is escaped first.
 */
export function renderMarkdown(md: string): string {
  const out: string[] = [];
  let inFence = false;
  for (const raw of safe(md).split('\n')) {
    if (/^\s*```/.test(raw)) {
      inFence = !inFence;
      out.push(inFence ? `{gray-fg}┌─${escapeTags(raw.trim().slice(3))}{/gray-fg}` : '{gray-fg}└─{/gray-fg}');
      continue;
    }
    if (inFence) {
      out.push(`{gray-fg}│{/gray-fg} {cyan-fg}${escapeTags(raw)}{/cyan-fg}`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(raw);
    if (heading) {
      out.push(`{bold}{underline}${inline(heading[2]!)}{/underline}{/bold}`);
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(raw);
    if (bullet) {
      out.push(`${bullet[1]}• ${inline(bullet[2]!)}`);
      continue;
    }
    out.push(inline(raw));
  }
  return out.join('\n');
}

/** Inline markdown: `code` and **bold**, on already-sanitised text. */
function inline(text: string): string {
  return escapeTags(text)
    .replace(/`([^`]+)`/g, '{cyan-fg}$1{/cyan-fg}')
    .replace(/\*\*([^*]+)\*\*/g, '{bold}$1{/bold}');
}

/** A unified diff coloured: additions green, removals red, hunks cyan. */
export function colourDiff(diff: string): string {
  return safe(diff)
    .split('\n')
    .map((l) => {
      const e = escapeTags(l);
      if (l.startsWith('+++') || l.startsWith('---')) return `{bold}${e}{/bold}`;
      if (l.startsWith('+')) return `{green-fg}${e}{/green-fg}`;
      if (l.startsWith('-')) return `{red-fg}${e}{/red-fg}`;
      if (l.startsWith('@@')) return `{cyan-fg}${e}{/cyan-fg}`;
      return e;
    })
    .join('\n');
}

/** A small unified diff of an edit's old_string → new_string (whole-block, enough to review). */
export function editDiff(path: string, oldText: string, newText: string): string {
  const lines = [`--- ${path}`, `+++ ${path}`, '@@ edit @@'];
  for (const l of oldText.split('\n')) lines.push(`-${l}`);
  for (const l of newText.split('\n')) lines.push(`+${l}`);
  return lines.join('\n');
}

/** Fuzzy subsequence score: null when `query` is not a subsequence of `text`; lower is better. */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  if (!q) return 0;
  let ti = 0;
  let score = 0;
  let last = -1;
  for (const ch of q) {
    const at = t.indexOf(ch, ti);
    if (at < 0) return null;
    score += last < 0 ? at : at - last - 1;
    last = at;
    ti = at + 1;
  }
  return score;
}

export function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
