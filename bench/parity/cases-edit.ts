/**
 * edit and write vs Python (bench/parity/ref_edit.py): str.replace / a plain write on a copy of the
 * same file outside the workspace, then both files' bytes and mode bits (os.stat) compared.
 */
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ToolCallResult } from '../../engine/pipeline-types.js';
import { runRef } from './exec.js';
import type { CaseEnv, ParityCase } from './types.js';

const SCRIPT = new URL('./ref_edit.py', import.meta.url).pathname.replace(/\/dist\/bench\//, '/bench/');


/** Copies `src` (a corpus path) to `dir/name` keeping the mode, or re-creates a symlink. */
function place(env: CaseEnv, src: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const from = join(env.corpus.ws, src);
  const to = join(dir, basename(src));
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    writeFileSync(join(dir, 'target.txt'), 'the target of a link\n');
    symlinkSync(readlinkSync(from) === 'README.md' ? 'target.txt' : readlinkSync(from), to);
    return;
  }
  copyFileSync(from, to);
  chmodSync(to, st.mode & 0o7777);
}

let seq = 0;

/** The file's state in ref_edit.py's format, read with Node (the reference side uses os.stat). */
function nodeState(path: string): string {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return 'mode=absent\n';
  }
  if (st.isSymbolicLink()) return `mode=link\n${readlinkSync(path)}\n`;
  return `mode=0o${(st.mode & 0o7777).toString(8)}\n${readFileSync(path).toString('hex')}\n`;
}

/** All reference runs of one harness run, in one python3 process (started by the first case). */
interface Batch {
  pending: Array<{ id: string; src: string | null; file: string; req: Record<string, unknown> }>;
  results: Map<string, string> | null;
}

function batchResult(batch: Batch, env: CaseEnv, id: string): string {
  if (!batch.results) {
    for (const p of batch.pending) {
      mkdirSync(join(env.refDir, p.id), { recursive: true });
      if (p.src) place(env, p.src, join(env.refDir, p.id));
    }
    const reqs = batch.pending.map((p) => ({ ...p.req, path: join(env.refDir, p.id, p.file) }));
    const out = JSON.parse(runRef('python3', [SCRIPT], { input: JSON.stringify(reqs) }).stdout.toString('utf8')) as string[];
    batch.results = new Map(batch.pending.map((p, i) => [p.id, out[i]!]));
  }
  return batch.results.get(id)!;
}

function mutationCase(batch: Batch, tool: 'edit' | 'write', src: string | null, name: string, fields: Record<string, unknown>, fileName?: string): ParityCase {
  const id = `${tool}-${++seq}`;
  const file = fileName ?? basename(src ?? 'new.txt');
  const rel = `scratch/${id}/${file}`;
  batch.pending.push({ id, src, file, req: { op: tool, ...fields } });
  return {
    tool,
    name: `${tool} ${src ?? '(new file)'}: ${name}`,
    input: { path: rel, ...fields },
    setup: (env) => {
      mkdirSync(join(env.corpus.ws, 'scratch', id), { recursive: true });
      if (src) place(env, src, join(env.corpus.ws, 'scratch', id));
    },
    reference: (env) => batchResult(batch, env, id),
    actual: (r: ToolCallResult, env) => `${r.status === 'ok' ? 'ok' : '<refused>'}\n${nodeState(join(env.corpus.ws, rel))}`,
  };
}

export function editCases(): ParityCase[] {
  const c: ParityCase[] = [];
  const batch: Batch = { pending: [], results: null };
  const e = (src: string, name: string, old: string, neu: string, all?: boolean): void => {
    c.push(mutationCase(batch, 'edit', src, name, { old_string: old, new_string: neu, ...(all === undefined ? {} : { replace_all: all }) }));
  };
  e('README.md', 'unique', 'Parity corpus', 'Parity Corpus');
  e('README.md', 'not found', 'no such text', 'x');
  e('README.md', 'identical strings', 'TODO', 'TODO');
  e('README.md', 'empty old_string', '', 'x');
  e('README.md', 'delete a line', 'TODO: nothing here.\n', '');
  e('many.txt', 'ambiguous without replace_all', 'hundred', 'HUNDRED');
  e('many.txt', 'replace_all', 'hundred', 'HUNDRED', true);
  e('many.txt', 'replace_all false, ambiguous', 'line 1', 'L1', false);
  e('many.txt', 'overlapping candidates', 'line 100\nline 101\n', 'x\n');
  e('docs/guide.md', 'CRLF kept around the edit', 'Step one', 'Step 1');
  e('docs/guide.md', 'CRLF in old_string', 'install.\r\nStep two', 'install.\r\nStep 2');
  e('docs/guide.md', 'LF old_string does not match CRLF text', 'install.\nStep two', 'x');
  e('docs/guide.md', 'replace_all CRLF', '\r\n', '\n', true);
  e('docs/mixed.txt', 'lone CR', 'old mac\rline', 'old mac line');
  e('bom.txt', 'BOM kept', 'BOM first', 'First');
  e('bom.txt', 'remove the BOM', '\ufeffBOM', 'BOM');
  e('no-final-newline.txt', 'no final newline kept', 'second', '2nd');
  e('no-final-newline.txt', 'add a final newline', 'without newline', 'without newline\n');
  e('blank-lines.txt', 'blank lines', '\n\n\nthree', 'three');
  e('script.sh', 'mode 755 kept', 'hello', 'bye');
  e('ünïcödé/日本語.txt', 'unicode', 'こんにちは', 'さようなら');
  e('ünïcödé/emoji-😀.txt', 'astral', '😀', '😎', true);
  e('ünïcödé/emoji-😀.txt', 'combining sequence', 'e\u0301', 'é');
  e('spaces in name.txt', 'spaces in the name', 'quote me', 'quoted');
  e('latin1.txt', 'invalid UTF-8 refused', 'ok', 'OK');
  e('bin/blob.bin', 'binary refused', 'TODO', 'DONE');
  e('link-to-readme', 'symlink refused', 'the target', 'a target');
  e('empty.txt', 'empty file', 'x', 'y');
  e('words.txt', 'replace_all case-sensitive', 'cat', 'dog', true);
  e('regex-meta.txt', 'regex metacharacters are literal', 'a.b a*b', 'A.B');
  e('regex-meta.txt', '$& in new_string is literal', '$dollar', "$&$'$1 $$");
  e('long.txt', 'inside a long line', 'xxxxxxxxxx', 'y');
  e('src/main.ts', 'multi-line', '  const value = util(42);\n  return value * 2;', '  return util(42) * 2;');
  e('data.json', 'json', '"corpus"', '"parity"');
  e('docs/tabs.txt', 'tabs', '\tindented', '    indented');
  const w = (src: string | null, name: string, content: string, fileName?: string): void => {
    c.push(mutationCase(batch, 'write', src, name, { content }, fileName));
  };
  w(null, 'new file', 'hello\n');
  w(null, 'new file without final newline', 'no newline');
  w(null, 'new empty file', '');
  w(null, 'CRLF content', 'a\r\nb\r\n');
  w(null, 'BOM content', '\ufeffbom\n');
  w(null, 'unicode name', 'ü\n', 'ünï 😀.txt');
  w(null, 'spaces in name', 'x\n', 'a b c.txt');
  w('README.md', 'overwrite', 'replaced\n');
  w('script.sh', 'overwrite keeps mode 755', '#!/bin/sh\necho new\n');
  w('bom.txt', 'overwrite drops the BOM as asked', 'no bom\n');
  w('docs/guide.md', 'overwrite CRLF with LF', 'lf only\n');
  w('link-to-readme', 'symlink refused', 'through a link\n');
  w('empty.txt', 'overwrite an empty file', 'now text\n');
  w(null, 'long line', 'z'.repeat(10000) + '\n');
  w(null, 'lone CR and NUL-free controls', 'a\rb\u0007c\n');
  return c;
}
