/**
 * `icode guard install|uninstall`: icode's hook entries merged into an agent's settings.json, next to
 * whatever else is there. Install is idempotent (its own entries are replaced, never duplicated);
 * uninstall removes exactly the entries whose command is icode's guard for that agent. A settings file
 * that is not a JSON object is refused, never overwritten.
 *
 * Layout (Claude Code, https://code.claude.com/docs/en/hooks#configuration; Gemini CLI,
 * https://geminicli.com/docs/hooks/reference "Configuration schema"): `hooks.<Event>` is a list of
 * `{matcher?, hooks: [{type: "command", command, timeout?}]}` groups.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GuardAgent } from './events.js';

/** The events icode answers, with the matcher for tool events. */
const EVENTS: Record<GuardAgent, Record<string, string | undefined>> = {
  'claude-code': { PreToolUse: '*', PostToolUse: '*', UserPromptSubmit: undefined, Stop: undefined, SubagentStop: undefined, SessionStart: undefined },
  'gemini-cli': { BeforeTool: '.*', AfterTool: '.*', SessionStart: undefined },
};

interface HookCommand {
  type?: unknown;
  command?: unknown;
  [k: string]: unknown;
}
interface HookGroup {
  matcher?: unknown;
  hooks?: unknown;
  [k: string]: unknown;
}

/** The command line written into the settings (the launcher, the agent, the policy if given). */
export function guardCommand(agent: GuardAgent, launcher: string, policy?: string): string {
  return [launcher, 'guard', agent, ...(policy ? ['--policy', shellQuote(policy)] : [])].join(' ');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Is this hook command one of icode's guard entries for `agent`? */
export function isOwnCommand(agent: GuardAgent, command: unknown): boolean {
  if (typeof command !== 'string') return false;
  const words = command.trim().split(/\s+/);
  const i = words.findIndex((w) => /(^|\/)icode(\.js)?$/.test(w));
  return i !== -1 && words[i + 1] === 'guard' && words[i + 2] === agent;
}

export class SettingsError extends Error {}

function readSettings(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SettingsError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SettingsError(`${path} is not valid JSON (${(e as Error).message}); fix it first, icode will not overwrite it`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SettingsError(`${path} is not a JSON object; icode will not overwrite it`);
  return v as Record<string, unknown>;
}

function writeSettings(path: string, settings: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.icode-${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(settings, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Removes icode's own entries from every event of `hooks`; groups left empty go, events left empty go. */
function withoutOwn(agent: GuardAgent, hooks: Record<string, unknown>): { hooks: Record<string, unknown>; removed: number } {
  let removed = 0;
  const out: Record<string, unknown> = {};
  for (const [event, groups] of Object.entries(hooks)) {
    if (!Array.isArray(groups)) {
      out[event] = groups;
      continue;
    }
    const kept = (groups as HookGroup[]).flatMap((g) => {
      if (!g || typeof g !== 'object' || !Array.isArray(g.hooks)) return [g];
      const cmds = (g.hooks as HookCommand[]).filter((h) => !(h && typeof h === 'object' && isOwnCommand(agent, h.command)));
      removed += g.hooks.length - cmds.length;
      if (cmds.length === g.hooks.length) return [g];
      return cmds.length ? [{ ...g, hooks: cmds }] : [];
    });
    if (kept.length) out[event] = kept;
  }
  return { hooks: out, removed };
}

export interface InstallResult {
  path: string;
  added: number;
  replaced: number;
  /** Why the installed hooks might still not run (settings that switch them off). */
  warnings: string[];
}

export function installGuard(agent: GuardAgent, path: string, command: string): InstallResult {
  const settings = readSettings(path);
  const current = settings.hooks ?? {};
  if (typeof current !== 'object' || current === null || Array.isArray(current)) throw new SettingsError(`"hooks" in ${path} is not an object; icode will not overwrite it`);
  const { hooks, removed } = withoutOwn(agent, current as Record<string, unknown>);
  let added = 0;
  for (const [event, matcher] of Object.entries(EVENTS[agent])) {
    // Claude Code's timeout is in seconds, Gemini CLI's in milliseconds (its docs: default 60000). A
    // hook that times out lets the call go on in both, so the budget is generous.
    const entry: Record<string, unknown> = { type: 'command', command, timeout: agent === 'gemini-cli' ? 30_000 : 30 };
    if (agent === 'gemini-cli') entry.name = 'icode-guard';
    const group: HookGroup = { ...(matcher !== undefined ? { matcher } : {}), hooks: [entry] };
    if (hooks[event] !== undefined && !Array.isArray(hooks[event])) throw new SettingsError(`"hooks.${event}" in ${path} is not a list; icode will not overwrite it`);
    const list = (hooks[event] as unknown[] | undefined) ?? [];
    hooks[event] = [...list, group];
    added++;
  }
  writeSettings(path, { ...settings, hooks });
  return { path, added, replaced: removed, warnings: agent === 'gemini-cli' ? geminiWarnings(settings) : [] };
}

/**
 * Gemini CLI runs no hook while its hooks system is off (`tools.enableHooks` / `hooks.enabled` false)
 * or a hook's name is in `hooks.disabled`: then the guard would silently not run. Said, not changed
 * (it is the user's switch, and may be set in another settings layer too).
 */
function geminiWarnings(settings: Record<string, unknown>): string[] {
  const w: string[] = [];
  const tools = settings.tools as Record<string, unknown> | undefined;
  const hooks = settings.hooks as Record<string, unknown> | undefined;
  if (tools?.enableHooks === false || hooks?.enabled === false) w.push("Gemini CLI's hooks system is disabled in this file (tools.enableHooks / hooks.enabled): the guard will not run until it is enabled");
  if (Array.isArray(hooks?.disabled) && hooks.disabled.includes('icode-guard')) w.push('"icode-guard" is listed in hooks.disabled: the guard will not run until it is removed from there');
  return w;
}

export function uninstallGuard(agent: GuardAgent, path: string): { path: string; removed: number } {
  const settings = readSettings(path);
  const current = settings.hooks;
  if (current === undefined || typeof current !== 'object' || current === null || Array.isArray(current)) return { path, removed: 0 };
  const { hooks, removed } = withoutOwn(agent, current as Record<string, unknown>);
  if (removed === 0) return { path, removed };
  const next = { ...settings };
  if (Object.keys(hooks).length) next.hooks = hooks;
  else delete next.hooks;
  writeSettings(path, next);
  return { path, removed };
}
