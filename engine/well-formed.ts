/**
 * Tool inputs must be well-formed Unicode. A lone surrogate (`\uD800`) in a path or command is
 * encoded differently by each layer (UTF-8 replacement in the file system, JSON escapes in the
 * audit log, WTF-8 elsewhere): a file would be written under one name while the log records another.
 * Such input is refused (a recorded deny) before the policy looks at it.
 */

/** String.prototype.isWellFormed (Node 20; the project's TS lib is ES2023, so it is typed here). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Walks the value without recursion (inputs may be deep); also checks object keys. */
export function illFormedUnicode(tool: unknown, input: unknown): string | null {
  if (typeof tool === 'string' && !wellFormed(tool)) return `the tool name is not well-formed Unicode (${where(tool)})`;
  const stack: [unknown, string][] = [[input, 'input']];
  let visited = 0;
  while (stack.length) {
    const [v, path] = stack.pop()!;
    // The depth check in the pipeline bounds nesting; this bounds breadth for a pathological input.
    if (++visited > 1_000_000) return 'the input has more than 1000000 values';
    if (typeof v === 'string') {
      if (!wellFormed(v)) return `${path} is not well-formed Unicode (${where(v)}); refused: it would name one thing to the tool and another to the audit log`;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (!wellFormed(k)) return `a key in ${path} is not well-formed Unicode (${where(k)})`;
        stack.push([child, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`]);
      }
    }
  }
  return null;
}

/** Where the first lone surrogate is, as text safe to print. */
function where(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
    } else if (!(c >= 0xdc00 && c <= 0xdfff)) continue;
    return `lone surrogate U+${c.toString(16).toUpperCase()} at index ${i}`;
  }
  return 'ill-formed';
}
