/**
 * Reads every import of every .ts file in the product folders and checks it against the table
 * "Folders and what they may import" in docs/ARCHITECTURE.md: the table is the rule, this is its
 * enforcement. Imports are read with the TypeScript compiler's pre-processor, so `import type`,
 * `export … from`, side-effect imports and dynamic `import()` all count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** The folders whose imports are checked. */
export const LAYERS = ['engine', 'cli', 'policies', 'sandbox', 'tui', 'bench'] as const;
export type Layer = (typeof LAYERS)[number];

/** What a layer may import besides itself: whole folders (`x/`), files (`x/y.ts`), subtrees (`x/y/*`). */
export type LayerRules = ReadonlyMap<Layer, readonly string[]>;

export interface Violation {
  /** Importing file, relative to the root, `/`-separated. */
  file: string;
  /** The import specifier as written. */
  specifier: string;
  /** What it resolves to, relative to the root. */
  target: string;
}

/** Parses the folder table of docs/ARCHITECTURE.md (the "may import" column) into rules. */
export function parseLayerTable(markdown: string): LayerRules {
  const section = /## Folders and what they may import\n([\s\S]*?)(?:\n## |$)/.exec(markdown);
  if (!section) throw new Error('docs/ARCHITECTURE.md has no "Folders and what they may import" table');
  const rules = new Map<Layer, string[]>();
  for (const line of section[1].split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5) continue;
    const folder = /^`([a-z]+)\/`$/.exec(cells[1]);
    if (!folder || !(LAYERS as readonly string[]).includes(folder[1])) continue;
    const mayImport = [...cells[3].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    rules.set(folder[1] as Layer, mayImport);
  }
  for (const l of LAYERS) if (!rules.has(l)) throw new Error(`docs/ARCHITECTURE.md: the folder table has no row for ${l}/`);
  return rules;
}

/** True when `target` (root-relative, `/`-separated) is covered by one of the allowed entries. */
export function isAllowed(from: Layer, target: string, rules: LayerRules): boolean {
  if (target === from || target.startsWith(`${from}/`)) return true;
  for (const entry of rules.get(from) ?? []) {
    if (entry.endsWith('/') && target.startsWith(entry)) return true;
    if (entry.endsWith('/*') && target.startsWith(entry.slice(0, -1))) return true;
    if (entry === target) return true;
  }
  return false;
}

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The project-relative imports of one source file (bare package imports are not the project's). */
export function projectImports(root: string, file: string): { specifier: string; target: string }[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .filter((i) => i.fileName.startsWith('.') || i.fileName.startsWith('/'))
    .map((i) => ({
      specifier: i.fileName,
      // Sources import `./x.js` for `./x.ts` (NodeNext).
      target: relative(root, resolve(dirname(file), i.fileName)).split(sep).join('/').replace(/\.js$/, '.ts'),
    }));
}

/** Every import under `root`'s layer folders that the rules forbid. */
export function forbiddenImports(root: string, rules: LayerRules, layers: readonly Layer[] = LAYERS): Violation[] {
  const out: Violation[] = [];
  for (const layer of layers) {
    let files: string[];
    try {
      files = tsFiles(join(root, layer));
    } catch {
      continue; // a layer without a folder has no imports
    }
    for (const f of files) {
      for (const imp of projectImports(root, f)) {
        if (!isAllowed(layer, imp.target, rules)) {
          out.push({ file: relative(root, f).split(sep).join('/'), ...imp });
        }
      }
    }
  }
  return out;
}
