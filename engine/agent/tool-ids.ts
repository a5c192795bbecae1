/**
 * Tool-call ids come from the model: it may repeat one within a turn (or reuse one from an earlier
 * turn, or send none). Results are matched, stored (the sessions store keys calls by message and id)
 * and audited by id, so every call of an assistant message gets an id unique in the conversation
 * before anything is stored or run: a repeat becomes `ID~2`, `ID~3`… (both the call and its result
 * carry the new id, so the conversation sent back stays consistent), and every call is then run and
 * recorded like any other.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from './types.js';

/** Ids of every tool call already in the conversation. */
export function toolUseIdsOf(messages: readonly Message[]): Set<string> {
  const ids = new Set<string>();
  for (const m of messages) for (const b of m.content) if (b.type === 'tool_use') ids.add(b.id);
  return ids;
}

/** A copy of `message` whose tool calls have ids unique among themselves and not in `taken`. */
export function withUniqueToolUseIds(message: Message, taken: ReadonlySet<string>): Message {
  const seen = new Set(taken);
  let changed = false;
  const content = message.content.map((b) => {
    if (b.type !== 'tool_use') return b;
    let id = b.id;
    if (typeof id !== 'string' || id === '') id = `call_${randomUUID().slice(0, 12)}`;
    if (seen.has(id)) {
      let n = 2;
      while (seen.has(`${id}~${n}`)) n++;
      id = `${id}~${n}`;
    }
    seen.add(id);
    if (id === b.id) return b;
    changed = true;
    return { ...b, id };
  });
  return changed ? { ...message, content } : message;
}
