/**
 * Mode 'none' only (no overlay, no change gate: see sandbox/jail/gate.ts for the bwrap jail). What a
 * command may have created, undone after each command:
 * - protected paths that cannot be pinned (`.git/commondir`: any placeholder there breaks git) are removed;
 * - nested git repositories made in the jail. The host's git runs what a staged submodule's config says
 * (`core.fsmonitor`, `core.pager`, diff/filter drivers…) the next time the person runs `git status`, and a
 * repository can be created anywhere in the workspace, so no read-only mount can be placed ahead of time.
 * After each command the workspace is walked (bounded, links never followed) and a nested repository
 * config written during the session that names a program is quarantined (renamed), and reported.
 */
import { lstatSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROTECTED_NOT_PINNABLE } from '../../policies/types.js';

/** Config keys with which git runs a program or loads more config. */
const EXEC_KEYS = /^\s*(?:fsmonitor|hookspath|pager|editor|sshcommand|askpass|gitproxy|program|command|textconv|clean|smudge|process|helper|path|cmd|tool|externaldiff|external|sequenceeditor|receivepack|uploadpack)\s*=/im;
const INCLUDE_SECTION = /^\s*\[\s*include(?:if)?\b/im;
/** Folders that hold dependencies or build output, not repositories an agent made. */
const SKIP = new Set(['node_modules', '.venv', 'venv', 'target', '__pycache__', '.cache']);
const MAX_DIRS = 20_000;

/** Runs both sweeps; returns what was removed or quarantined, for the command's output. */
export function sweepAfterCommand(workspace: string, sinceMs: number): string[] {
  const done = removeUnpinnable(workspace);
  for (const p of sweepNestedGitConfigs(workspace, sinceMs).quarantined) done.push(`${p} (a nested repository's config that runs programs, renamed)`);
  return done;
}

/** Removes protected paths that cannot be pinned, never following a planted link on the way. */
function removeUnpinnable(workspace: string): string[] {
  const removed: string[] = [];
  for (const rel of PROTECTED_NOT_PINNABLE) {
    try {
      let dir = workspace;
      for (const part of rel.split('/').slice(0, -1)) {
        dir = join(dir, part);
        const st = lstatSync(dir);
        if (st.isSymbolicLink() || !st.isDirectory()) throw new Error('not a plain directory');
      }
      lstatSync(join(workspace, rel));
    } catch {
      continue;
    }
    rmSync(join(workspace, rel), { recursive: true, force: true });
    removed.push(rel);
  }
  return removed;
}

export interface SweepResult {
  quarantined: string[];
  /** The walk stopped at MAX_DIRS directories: parts of the workspace were not looked at. */
  incomplete: boolean;
}

function sweepNestedGitConfigs(workspace: string, sinceMs: number): SweepResult {
  const quarantined: string[] = [];
  const queue: string[] = [workspace];
  let visited = 0;
  while (queue.length) {
    const dir = queue.shift()!;
    if (++visited > MAX_DIRS) return { quarantined, incomplete: true };
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory() || SKIP.has(e.name)) continue; // symlinks are not directories here: never followed
      const path = join(dir, e.name);
      if (e.name === '.git') {
        if (dir !== workspace) quarantine(path, workspace, sinceMs, quarantined);
        continue; // the root .git is mounted read-only where it matters; never walked
      }
      queue.push(path);
    }
  }
  return { quarantined, incomplete: false };
}

function quarantine(gitDir: string, workspace: string, sinceMs: number, out: string[]): void {
  for (const name of ['config', 'config.worktree']) {
    const file = join(gitDir, name);
    let text: string;
    try {
      const st = lstatSync(file);
      if (!st.isFile() || st.mtimeMs < sinceMs) continue;
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (!EXEC_KEYS.test(text) && !INCLUDE_SECTION.test(text)) continue;
    const to = `${file}.icode-quarantined-${Date.now()}`;
    renameSync(file, to);
    out.push(relative(workspace, file));
  }
}
