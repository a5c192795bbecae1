/**
 * Project instructions, as Codex and Claude Code read them: `AGENTS.md` (and `CLAUDE.md`, taken as it
 * is) in the workspace root and in each parent folder up to the repository root (the nearest folder
 * holding `.git`), added to the system prompt root-most first, so the nearer file has the last word.
 * Without a repository above the workspace only the workspace's own files are read.
 *
 * The files are read by icode outside the jail, so only regular files are read (a symlink named
 * AGENTS.md could point at a key), with O_NOFOLLOW, and the total is capped.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const INSTRUCTION_FILES = ['AGENTS.md', 'CLAUDE.md'] as const;
/** Total bytes of instructions added to the prompt (Codex's default project_doc_max_bytes). */
export const MAX_INSTRUCTION_BYTES = 32 * 1024;

export interface ProjectInstructions {
  /** Absolute paths of the files read, root-most first. */
  files: string[];
  /** The text for the system prompt ('' when there is none). */
  text: string;
  /** True when the cap cut the text. */
  truncated: boolean;
}

/** The folders from the repository root (or the workspace, outside a repository) down to the workspace. */
export function instructionDirs(workspace: string): string[] {
  const chain: string[] = [];
  for (let dir = workspace; ; dir = dirname(dir)) {
    chain.push(dir);
    if (exists(join(dir, '.git'))) return chain.reverse();
    if (dirname(dir) === dir) return [workspace];
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A regular file's text, never through a symlink; null when absent or not a regular file. */
function readRegular(path: string, maxBytes: number): { text: string; cut: boolean } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const want = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, got);
      if (n === 0) break;
      got += n;
    }
    return { text: buf.subarray(0, got).toString('utf8'), cut: st.size > maxBytes };
  } finally {
    closeSync(fd);
  }
}

export function loadProjectInstructions(workspace: string, maxBytes = MAX_INSTRUCTION_BYTES): ProjectInstructions {
  const files: string[] = [];
  const parts: string[] = [];
  let left = maxBytes;
  let truncated = false;
  for (const dir of instructionDirs(workspace)) {
    for (const name of INSTRUCTION_FILES) {
      if (left <= 0) {
        truncated ||= exists(join(dir, name));
        continue;
      }
      const path = join(dir, name);
      const r = readRegular(path, left);
      if (r === null || r.text.trim() === '') continue;
      files.push(path);
      left -= Buffer.byteLength(r.text);
      truncated ||= r.cut;
      parts.push(`## ${path}\n\n${r.text.trimEnd()}${r.cut ? `\n\n[… cut at ${maxBytes} bytes of project instructions]` : ''}`);
    }
  }
  if (!parts.length) return { files, text: '', truncated };
  const text =
    '# Project instructions\n\nThese files hold instructions for this project, from the repository root down to the workspace; ' +
    'where they disagree, the later (nearer) one wins. Follow them unless the user says otherwise.\n\n' +
    parts.join('\n\n');
  return { files, text, truncated };
}
