/** The workload report as terminal text (tables and bar charts) and as one self-contained HTML page (inline SVG). */
import type { Breakdown } from './stats.js';
import { STAGES } from './stats.js';
import type { WorkloadReport } from './run.js';

const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString());
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A bar of `width` cells for value/max, with eighth-block resolution. */
export function bar(value: number, max: number, width = 30): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.round((Math.min(value, max) / max) * width * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + (eighths % 8 ? '▏▎▍▌▋▊▉'[(eighths % 8) - 1] : '');
}

/** A plain table: the first column and the `bars` columns left-aligned, numbers right-aligned. */
function table(head: string[], rows: string[][], bars = 0): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = (i: number): boolean => i === 0 || i >= head.length - bars;
  const line = (cells: string[]): string => cells.map((c, i) => (left(i) ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), w.map((n) => '─'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

const STAGE_HEAD = ['validate', 'decide', 'commit', 'preHooks', 'execute', 'postHooks', 'outcome'];

function stageRow(name: string, b: Breakdown): string[] {
  return [name, String(b.calls), ms(b.p50_ms), ms(b.p99_ms), ...STAGES.map((s) => pct(b.stages[s].share))];
}

export function renderText(r: WorkloadReport): string {
  const out: string[] = [];
  out.push(`workload ${r.workload.file}: ${r.workload.calls} calls (${r.statuses.ok} ok, ${r.statuses.error} error, ${r.statuses.denied} denied) · policy ${r.workload.policy} · ask ${r.workload.ask}`);
  out.push(`workspace: a copy of ${r.workload.workspace} · ${r.cpus} cores · load average ${r.loadavg.join(' ')} · node ${r.node}`);
  out.push('', 'Where the time goes (p50/p99 of the whole call in ms; each stage\'s share of the total time)');
  out.push(table(['tool', 'calls', 'p50', 'p99', ...STAGE_HEAD], [stageRow('ALL', r.overall), ...Object.entries(r.tools).map(([t, b]) => stageRow(t, b))]));
  out.push('', 'Stage p50/p99 (ms), all calls');
  out.push(table(['stage', 'p50', 'p99', 'share', ''], STAGES.map((s) => [s, ms(r.overall.stages[s].p50_ms), ms(r.overall.stages[s].p99_ms), pct(r.overall.stages[s].share), bar(r.overall.stages[s].share, 1, 30)]), 1));
  out.push('', `Hardening tax: icode costs ${r.tax.tax_pct}% over unprotected execution on this workload (${ms(r.tax.icode_ms)} ms vs ${ms(r.tax.direct_ms)} ms direct: plain fs, bare bash -c)`);
  out.push(table(['tool', 'calls', 'icode ms', 'direct ms', 'tax'], Object.entries(r.tax.tools).map(([t, x]) => [t, String(x.calls), ms(x.icode_ms), ms(x.direct_ms), `${x.tax_pct}%`])));
  if (r.sessions.length) {
    const maxRate = Math.max(...r.sessions.map((s) => s.calls_per_s));
    const maxP99 = Math.max(...r.sessions.map((s) => s.p99_ms));
    out.push('', `Concurrent sessions (shared: ${r.shared})`);
    out.push(table(['sessions', 'calls/s', 'p50 ms', 'p99 ms', 'RSS MB', 'CPU ms/call', 'calls/s', 'p99'], r.sessions.map((s) => [String(s.sessions), String(s.calls_per_s), ms(s.p50_ms), ms(s.p99_ms), String(s.peak_rss_mb), ms(s.cpu_ms_per_call), bar(s.calls_per_s, maxRate, 20), bar(s.p99_ms, maxP99, 20)]), 2));
  }
  if (r.files.length) {
    const tools = Object.keys(r.files[0]!.tools);
    const max = Math.max(...r.files.flatMap((f) => Object.values(f.tools).map((t) => t.icode_p50_ms)));
    out.push('', 'Workspace size: p50 ms through icode (and directly) of the tools whose cost grows with the tree');
    out.push(table(['files', ...tools.flatMap((t) => [t, 'direct'])], r.files.map((f) => [String(f.files), ...tools.flatMap((t) => [ms(f.tools[t]!.icode_p50_ms), ms(f.tools[t]!.direct_p50_ms)])])));
    for (const t of tools) for (const f of r.files) out.push(`  ${t.padEnd(6)} ${String(f.files).padStart(7)} ${bar(f.tools[t]!.icode_p50_ms, max, 40)} ${ms(f.tools[t]!.icode_p50_ms)}`);
  }
  out.push('', `audit: ${r.audit.decision_rows} decision rows for ${r.workload.calls} calls in the run's own audit log (session ${r.audit.session})`);
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

/** Horizontal stacked bars: each tool's time split by stage. */
function stackedSvg(rows: [string, Breakdown][]): string {
  const W = 720, left = 110, h = 22, top = 30;
  const max = Math.max(...rows.map(([, b]) => b.total_ms), 1e-9);
  const parts: string[] = [];
  STAGES.forEach((s, i) => parts.push(`<rect x="${left + i * 85}" y="4" width="10" height="10" fill="${COLORS[i]}"/><text x="${left + i * 85 + 14}" y="13" font-size="11">${s}</text>`));
  rows.forEach(([name, b], r) => {
    const y = top + r * (h + 6);
    parts.push(`<text x="${left - 6}" y="${y + 15}" font-size="12" text-anchor="end">${esc(name)}</text>`);
    let x = left;
    STAGES.forEach((s, i) => {
      const w = ((b.stages[s].share * b.total_ms) / max) * (W - left - 90);
      if (w > 0.05) parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="${COLORS[i]}"><title>${esc(name)} ${s}: ${pct(b.stages[s].share)}</title></rect>`);
      x += w;
    });
    parts.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 15}" font-size="11">${ms(b.total_ms)} ms</text>`);
  });
  return `<svg width="${W}" height="${top + rows.length * (h + 6) + 4}">${parts.join('')}</svg>`;
}

/** A line chart of one series over labelled x points. */
function lineSvg(title: string, xs: string[], ys: number[], unit: string): string {
  const W = 340, H = 200, l = 50, b = 30, t = 24, r = 14;
  const max = Math.max(...ys, 1e-9) * 1.1;
  const px = (i: number): number => l + (xs.length === 1 ? 0 : (i / (xs.length - 1)) * (W - l - r));
  const py = (v: number): number => H - b - (v / max) * (H - b - t);
  const pts = ys.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
  const dots = ys.map((v, i) => `<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="#4e79a7"><title>${esc(xs[i]!)}: ${v} ${unit}</title></circle><text x="${px(i).toFixed(1)}" y="${(py(v) - 6).toFixed(1)}" font-size="10" text-anchor="middle">${ms(v)}</text>`).join('');
  const labels = xs.map((x, i) => `<text x="${px(i).toFixed(1)}" y="${H - b + 14}" font-size="11" text-anchor="middle">${esc(x)}</text>`).join('');
  return `<svg width="${W}" height="${H}"><text x="${l}" y="14" font-size="12" font-weight="bold">${esc(title)} (${esc(unit)})</text><line x1="${l}" y1="${H - b}" x2="${W - r}" y2="${H - b}" stroke="#999"/><line x1="${l}" y1="${t}" x2="${l}" y2="${H - b}" stroke="#999"/><polyline points="${pts}" fill="none" stroke="#4e79a7" stroke-width="2"/>${dots}${labels}</svg>`;
}

function htmlTable(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

/** One page, no external resources: styles inline, charts as inline SVG, the JSON report embedded. */
export function renderHtml(r: WorkloadReport): string {
  const body: string[] = [];
  body.push(`<h1>icode workload benchmark</h1><p>${esc(r.workload.file)}: ${r.workload.calls} calls (${r.statuses.ok} ok, ${r.statuses.error} error, ${r.statuses.denied} denied), policy ${esc(r.workload.policy)}, on a copy of ${esc(r.workload.workspace)}. ${r.cpus} cores, load average ${r.loadavg.join(' ')}, Node ${esc(r.node)}, ${esc(r.date)}.</p>`);
  body.push(`<h2>Hardening tax</h2><p class="big">icode costs ${r.tax.tax_pct}% over unprotected execution on this workload (${ms(r.tax.icode_ms)} ms vs ${ms(r.tax.direct_ms)} ms).</p>`);
  body.push(htmlTable(['tool', 'calls', 'icode ms', 'direct ms', 'tax'], Object.entries(r.tax.tools).map(([t, x]) => [t, String(x.calls), ms(x.icode_ms), ms(x.direct_ms), `${x.tax_pct}%`])));
  body.push('<h2>Where the time goes</h2>', stackedSvg([['ALL', r.overall], ...Object.entries(r.tools)]));
  body.push(htmlTable(['tool', 'calls', 'p50 ms', 'p99 ms', ...STAGE_HEAD], [stageRow('ALL', r.overall), ...Object.entries(r.tools).map(([t, b]) => stageRow(t, b))]));
  if (r.sessions.length) {
    const xs = r.sessions.map((s) => String(s.sessions));
    body.push(`<h2>Concurrent sessions</h2><p>Shared: ${esc(r.shared)}.</p>`);
    body.push('<div class="row">', lineSvg('calls/s', xs, r.sessions.map((s) => s.calls_per_s), 'calls/s'), lineSvg('p99 latency', xs, r.sessions.map((s) => s.p99_ms), 'ms'), lineSvg('peak RSS', xs, r.sessions.map((s) => s.peak_rss_mb), 'MB'), lineSvg('CPU per call', xs, r.sessions.map((s) => s.cpu_ms_per_call), 'ms'), '</div>');
    body.push(htmlTable(['sessions', 'calls/s', 'p50 ms', 'p99 ms', 'RSS MB', 'CPU ms/call'], r.sessions.map((s) => [String(s.sessions), String(s.calls_per_s), ms(s.p50_ms), ms(s.p99_ms), String(s.peak_rss_mb), ms(s.cpu_ms_per_call)])));
  }
  if (r.files.length) {
    const xs = r.files.map((f) => String(f.files));
    body.push('<h2>Workspace size</h2><div class="row">');
    for (const t of Object.keys(r.files[0]!.tools)) body.push(lineSvg(`${t} p50`, xs, r.files.map((f) => f.tools[t]!.icode_p50_ms), 'ms'));
    body.push('</div>');
  }
  body.push(`<p>Audit: ${r.audit.decision_rows} decision rows for ${r.workload.calls} calls.</p>`);
  // The report itself, for tools; `<` escaped so the JSON cannot close the script element.
  body.push(`<script type="application/json" id="report">${JSON.stringify(r).replace(/</g, '\\u003c')}</script>`);
  const style = 'body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.row{display:flex;flex-wrap:wrap;gap:1em}.big{font-size:1.3em}';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>icode workload benchmark</title><style>${style}</style></head><body>${body.join('\n')}</body></html>\n`;
}
