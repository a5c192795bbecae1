/**
 * The debug panels (F2–F6, or the palette): live policy decisions with rule ids and timing, the audit
 * log tail with the hash chain's status, hook events, the jail's processes, and tokens/cost per turn.
 * Each panel is a function from what the app knows to tagged text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { AuditRow } from '../engine/audit/log.js';
import type { ToolCallResult } from '../engine/pipeline-types.js';
import { formatMs, formatTokens, oneLine, plain } from './text.js';

export const PANELS = ['decisions', 'audit', 'hooks', 'jail', 'tokens'] as const;
export type PanelName = (typeof PANELS)[number];
export const PANEL_KEYS: Record<PanelName, string> = { decisions: 'f2', audit: 'f3', hooks: 'f4', jail: 'f5', tokens: 'f6' };

export interface DecisionEntry {
  at: Date;
  tool: string;
  result: ToolCallResult;
}

export interface TurnEntry {
  turn: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

const COLOUR: Record<string, string> = { allow: 'green', ask: 'yellow', deny: 'red' };

export function decisionsPanel(entries: DecisionEntry[], width: number): string {
  if (!entries.length) return '{gray-fg}no decisions yet{/gray-fg}';
  return entries
    .slice(-200)
    .map((d) => {
      const c = COLOUR[d.result.decision] ?? 'white';
      const t = d.at.toTimeString().slice(0, 8);
      return `${t} {${c}-fg}${d.result.decision.padEnd(5)}{/${c}-fg} ${plain(d.tool)} ${plain(oneLine(d.result.rule ?? '(default)', Math.max(8, width - 36)))} ${formatMs(d.result.durationMs)}`;
    })
    .join('\n');
}

export function auditPanel(tail: { rows: AuditRow[]; chain: string }, width: number): string {
  const head = tail.chain.startsWith('chain ok') ? `{green-fg}${plain(tail.chain)}{/green-fg}` : `{red-fg}${plain(tail.chain)}{/red-fg}`;
  const rows = tail.rows.map((r) => {
    const what = r.kind === 'decision' ? `${r.tool ?? ''} ${r.decision ?? ''} ${r.rule ?? ''}` : r.kind === 'outcome' ? `${r.status ?? ''} ${r.durationMs != null ? formatMs(r.durationMs) : ''}` : `${r.name ?? ''} ${r.result ?? ''}`;
    return `#${r.seq} ${r.kind.padEnd(8)} ${plain(oneLine(what, Math.max(10, width - 22)))} {gray-fg}${r.hash.slice(0, 8)}{/gray-fg}`;
  });
  return [head, ...rows].join('\n');
}

export function hooksPanel(tail: { rows: AuditRow[] }, width: number): string {
  const hooks = tail.rows.filter((r) => r.kind === 'hook');
  if (!hooks.length) return '{gray-fg}no hook actions in the recent rows{/gray-fg}';
  return hooks.map((r) => `#${r.seq} ${plain(r.name ?? '')} ${plain(r.phase ?? '')} → ${plain(r.result ?? '')} ${plain(oneLine(r.reason ?? '', Math.max(10, width - 30)))}`).join('\n');
}

/** Processes below this one (the jail's supervisor, bwrap, the commands), from /proc. */
export function jailPanel(outputBytes: number): string {
  const lines = [`output bytes this session: ${outputBytes}`];
  try {
    const procs = descendants(process.pid);
    if (!procs.length) lines.push('{gray-fg}no child processes{/gray-fg}');
    for (const p of procs.slice(0, 30)) lines.push(`${String(p.pid).padStart(7)} ${(p.cpuS.toFixed(1) + 's').padStart(7)} ${(Math.round(p.rssKb / 1024) + 'M').padStart(6)} ${plain(oneLine(p.cmd, 60))}`);
  } catch (e) {
    lines.push(`{gray-fg}process list unavailable: ${plain((e as Error).message)}{/gray-fg}`);
  }
  return ['    pid     cpu    rss command', ...lines].join('\n');
}

export function tokensPanel(turns: TurnEntry[], contextUse: string): string {
  const lines = [`context: ${contextUse}`, 'turn    input   output   cost'];
  for (const t of turns.slice(-40)) {
    lines.push(`${String(t.turn).padStart(4)} ${formatTokens(t.inputTokens).padStart(8)} ${formatTokens(t.outputTokens).padStart(8)} ${t.costUsd === null ? '     ?' : ('$' + t.costUsd.toFixed(4)).padStart(8)}`);
  }
  return lines.join('\n');
}

interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
  cpuS: number;
  rssKb: number;
}

function descendants(root: number): Proc[] {
  const all: Proc[] = [];
  const ticks = 100;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
      all.push({ pid: Number(name), ppid: Number(rest[1]), cmd, cpuS: (Number(rest[11]) + Number(rest[12])) / ticks, rssKb: Number(rest[21]) * 4 });
    } catch {
      /* the process ended while we looked */
    }
  }
  const out: Proc[] = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return out;
}
