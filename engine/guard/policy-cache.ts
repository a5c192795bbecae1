/**
 * Compiled policies kept by the guard daemon between events, each under a signature of every file it
 * was built from, re-read on every event: the content of each policy file of the `extends` chain
 * (a file's `extends` read with the YAML parser, the file itself is small), and the size, mtime and
 * inode of each built-in policy file. Any change, a new or removed file, a file that cannot be read or
 * parsed: no cached policy (it is loaded from scratch, which reports the problem the usual way). A
 * policy that fails to load is never cached.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { CompiledPolicy } from '../../policies/compiler/compiled.js';
import { packageRoot } from '../../policies/package-root.js';

const MAX_ENTRIES = 32;
const MAX_FILE = 1024 * 1024;

export class PolicyCache {
  private readonly entries = new Map<string, { sig: string; policy: CompiledPolicy }>();

  constructor(private readonly load: (spec: string) => Promise<CompiledPolicy>) {}

  async get(spec: string): Promise<CompiledPolicy> {
    const sig = signature(spec);
    const hit = sig !== null ? this.entries.get(spec) : undefined;
    if (hit && hit.sig === sig) return hit.policy;
    const policy = await this.load(spec);
    if (sig !== null) {
      this.entries.delete(spec);
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(spec, { sig, policy });
    }
    return policy;
  }
}

/** The signature of a policy spec's files, or null when it cannot be computed (then: no cache). */
export function signature(spec: string): string | null {
  const h = createHash('sha256');
  try {
    h.update(builtinSignature());
    const seen = new Set<string>();
    const walk = (s: string, fromDir: string, depth: number): void => {
      if (s.startsWith('builtin:')) return; // built-ins are covered by builtinSignature
      if (depth > 16) throw new Error('too deep');
      const file = resolve(fromDir, s);
      if (seen.has(file)) return;
      seen.add(file);
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_FILE) throw new Error('not a small regular file');
      const text = readFileSync(file, 'utf8');
      h.update(`\u0000${file}\u0000${text.length}\u0000${text}`);
      const doc: unknown = parse(text);
      const ext = doc && typeof doc === 'object' ? (doc as { extends?: unknown }).extends : undefined;
      for (const parent of Array.isArray(ext) ? ext : ext === undefined ? [] : [ext]) {
        if (typeof parent !== 'string') throw new Error('extends is not a string');
        walk(parent, dirname(file), depth + 1);
      }
    };
    walk(spec, process.cwd(), 0);
    return h.digest('hex');
  } catch {
    return null;
  }
}

function builtinSignature(): string {
  const dir = join(packageRoot(), 'policies', 'builtin');
  return readdirSync(dir)
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f));
      return `${f}:${st.size}:${st.mtimeMs}:${st.ino}`;
    })
    .join('|');
}
