/**
 * The session's own controls: files that decide what the session may do or record what it did — the
 * policy file and every file it extends, hook scripts and command-hook programs, the configuration file,
 * the audit and sessions databases, icode's state and config folders. The session must never write
 * them; the ones inside the workspace are handed to the change gate (never changed, nor a parent
 * replaced), to the fs tools (protected paths) and masked from the jail when they are icode's folders.
 * (Other agents' configuration, `.mcp.json` among it, is protected for every session instead:
 * policies/types.ts AGENT_CONFIG_GLOBS.)
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { realpathSync } from 'node:fs';
import type { CompiledPolicy } from '../../policies/index.js';
import { configPath } from '../agent/config.js';
import { defaultSessionsPath } from '../agent/sessions.js';
import { defaultAuditPath } from '../audit/log.js';
import { configDir, stateDir } from '../xdg.js';

export interface SessionControls {
  /** Workspace-relative control paths. */
  inside: string[];
  /** icode's state and config folders, workspace-relative, when inside the workspace (masked in the jail). */
  hiddenInside: string[];
}

/** Real path of `p` (its deepest existing ancestor resolved, the rest appended). */
function realish(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(p);
      tail.push(head.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
      head = up;
    }
  }
}

function insideRel(workspace: string, p: string): string | null {
  const rel = relative(workspace, realish(p));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return rel === '' ? '.' : null;
  return rel.split(sep).join('/');
}

/** Paths named by a hook declaration: its script, and what its command line names as a file. */
function hookFiles(decl: unknown, policyDir: string, workspace: string): string[] {
  if (typeof decl !== 'object' || decl === null) return [];
  const d = decl as { script?: unknown; command?: unknown };
  const out: string[] = [];
  if (typeof d.script === 'string') out.push(resolve(policyDir, d.script));
  const words = typeof d.command === 'string' ? d.command.split(/[\s;&|<>()'"`]+/) : Array.isArray(d.command) ? d.command.filter((w): w is string => typeof w === 'string') : [];
  words.forEach((w, i) => {
    if (!w || w.startsWith('-')) return;
    // The program itself, and any argument that looks like a file (a script given to an interpreter).
    if (i === 0 || w.includes('/') || /\.(sh|bash|js|mjs|cjs|ts|py|rb|pl)$/.test(w)) {
      if (isAbsolute(w)) out.push(w);
      else if (w.includes('/') || /\.[a-z]+$/.test(w)) out.push(resolve(workspace, w), resolve(policyDir, w));
    }
  });
  return out;
}

export function sessionControls(workspace: string, policy: CompiledPolicy | null, auditPath: string | null, policyDir: string | null, env: NodeJS.ProcessEnv = process.env): SessionControls {
  workspace = realish(workspace);
  const files: string[] = [];
  if (policy) {
    if (!policy.source.startsWith('builtin:')) files.push(policy.source);
    for (const r of policy.rules) if (!r.layer.startsWith('builtin:')) files.push(r.layer);
    for (const list of Object.values(policy.hooks)) for (const h of list) files.push(...hookFiles(h, policyDir ?? workspace, workspace));
  }
  if (auditPath) files.push(auditPath, `${auditPath}-wal`, `${auditPath}-shm`, `${auditPath}-journal`);
  const cfg = configPath(env);
  if (cfg) files.push(cfg);
  files.push(defaultSessionsPath(env));
  // The same directories icode really uses (engine/xdg.ts: a relative XDG variable is ignored there).
  const folders = [stateDir(env), configDir(env)];
  const inside = new Set<string>();
  const hiddenInside = new Set<string>();
  for (const f of [...files, ...folders]) {
    const rel = insideRel(workspace, f);
    if (rel && rel !== '.') inside.add(rel);
  }
  for (const f of folders) {
    const rel = insideRel(workspace, f);
    if (rel && rel !== '.') hiddenInside.add(rel);
  }
  return { inside: [...inside], hiddenInside: [...hiddenInside] };
}
