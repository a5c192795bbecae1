/**
 * `icode bench --workload`: the run happens on a copy (the user's tree is byte-for-byte the same after),
 * every call of the workload is in the run's own audit log, the pipeline's stage timings add up to each
 * call's wall time, and the outputs (JSON, one self-contained HTML page) have their documented shape.
 * Small sizes; no timing is asserted beyond "the stages account for the call".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWorkload } from '../../bench/workload/calls.js';
import { renderHtml, renderText } from '../../bench/workload/render.js';
import { runWorkloadBench, type WorkloadReport } from '../../bench/workload/run.js';
import { STAGES, stageSum } from '../../bench/workload/stats.js';
import { generatedPath, generateRepo, treeHash } from '../../bench/workload/workspace.js';
import { packageRoot } from '../../policies/package-root.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('icode-bench-workload-');
const user = generateRepo(join(dir, 'user'), 12, { git: true });
const workload = join(dir, 'calls.jsonl');
// Calls that change the tree (write, edit, a shell redirect), so a run on the original would show.
const lines = [
  { tool: 'list', input: {} },
  { tool: 'read', input: { path: generatedPath(3) } },
  { tool: 'Read', input: { file_path: generatedPath(4) } },
  { tool: 'glob', input: { pattern: 'src/**/*.ts' } },
  { tool: 'grep', input: { pattern: 'helper', output_mode: 'count' } },
  { tool: 'edit', input: { path: generatedPath(5), old_string: 'return helper(x) + 15;', new_string: 'return helper(x) + 16;' } },
  { tool: 'write', input: { path: 'docs/new.md', content: '# new\n' } },
  { tool: 'shell', input: { command: 'git status --short' } },
  { tool: 'shell', input: { command: 'ls src' } },
  { tool: 'read', input: { path: 'docs/new.md' } },
];
writeFileSync(workload, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
const auditPath = join(dir, 'audit.db');

let before: string;
let report: WorkloadReport;
beforeAll(async () => {
  before = treeHash(user);
  report = await runWorkloadBench({ workload, workspace: user, policy: 'builtin:workspace-write', ask: 'deny', sessions: [1, 2], files: [40], filesRepeat: 1, auditPath });
}, 300_000);

describe('icode bench --workload', () => {
  it('runs on a copy: the user workspace is byte-for-byte untouched, though the calls wrote and edited', () => {
    expect(report.statuses).toEqual({ ok: lines.length, error: 0, denied: 0 });
    expect(treeHash(user)).toBe(before);
    expect(readFileSync(join(user, generatedPath(5)), 'utf8')).toContain('return helper(x) + 15;');
  });

  it('every call of the workload has its decision row, in order, in the run\'s own audit log', () => {
    expect(report.audit.decision_rows).toBe(lines.length);
    const db = new Database(auditPath, { readonly: true });
    try {
      const tools = db.prepare("SELECT tool FROM audit WHERE kind = 'decision' AND session = ? ORDER BY seq").pluck().all(report.audit.session);
      expect(tools).toEqual(['list', 'read', 'read', 'glob', 'grep', 'edit', 'write', 'shell', 'shell', 'read']);
      const outcomes = db.prepare("SELECT count(*) FROM audit WHERE kind = 'outcome' AND session = ?").pluck().get(report.audit.session);
      expect(outcomes).toBe(lines.length);
    } finally {
      db.close();
    }
  });

  it('the stage timings add up to each call\'s wall time, within measurement error', () => {
    expect(report.calls).toHaveLength(lines.length);
    for (const c of report.calls) {
      const sum = stageSum(c.timings);
      expect(c.timings.execute).toBeGreaterThan(0);
      // The stages never claim more than the call took, and the await around the call is all they miss.
      expect(sum).toBeLessThanOrEqual(c.wall_ms + 0.01);
      expect(c.wall_ms - sum).toBeLessThanOrEqual(Math.max(2, c.wall_ms * 0.1));
    }
    const shares = STAGES.reduce((s, k) => s + report.overall.stages[k].share, 0);
    expect(shares).toBeGreaterThan(0.9);
    expect(shares).toBeLessThanOrEqual(1.0001);
  });

  it('reports the hardening tax, the sessions curve and the size curve', () => {
    expect(report.tax.icode_ms).toBeGreaterThan(0);
    expect(report.tax.direct_ms).toBeGreaterThan(0);
    expect(Object.keys(report.tax.tools).sort()).toEqual(['edit', 'glob', 'grep', 'list', 'read', 'shell', 'write']);
    expect(report.sessions.map((s) => [s.sessions, s.calls])).toEqual([[1, lines.length], [2, 2 * lines.length]]);
    for (const s of report.sessions) {
      expect(s.calls_per_s).toBeGreaterThan(0);
      expect(s.peak_rss_mb).toBeGreaterThan(0);
      expect(s.cpu_ms_per_call).toBeGreaterThan(0);
    }
    expect(report.files.map((f) => [f.files, Object.keys(f.tools)])).toEqual([[40, ['glob', 'grep', 'shell']]]);
    const text = renderText(report);
    expect(text).toContain('Hardening tax: icode costs');
    expect(text).toContain('Concurrent sessions');
  });

  it('the HTML page is self-contained: inline SVG charts, no URL to fetch, the report embedded', () => {
    const html = renderHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=/i);
    expect((html.match(/<svg\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    const json = /<script type="application\/json" id="report">(.*?)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(json!).audit.decision_rows).toBe(lines.length);
  });

  it('a workload that names paths to escape the copy is refused there, never reaching the user tree', async () => {
    const evil = join(dir, 'evil.jsonl');
    writeFileSync(evil, [
      { tool: 'write', input: { path: join(user, 'pwned.txt'), content: 'x' } },
      { tool: 'write', input: { path: '../user/pwned.txt', content: 'x' } },
      { tool: 'shell', input: { command: `touch ${join(user, 'pwned2.txt')}` } },
    ].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = await runWorkloadBench({ workload: evil, workspace: user, policy: 'builtin:workspace-write', ask: 'allow', sessions: [], files: [] });
    expect(r.statuses.ok).toBe(0);
    expect(r.tax.skipped).toBe(3);
    expect(treeHash(user)).toBe(before);
  }, 120_000);
});

describe('workload files', () => {
  it('reads Claude Code transcripts and skips the sample header', () => {
    const t = join(dir, 'transcript.jsonl');
    writeFileSync(t, [
      { type: 'user', message: { content: 'hi' }, sessionId: 's1' },
      { type: 'assistant', sessionId: 's1', message: { content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 't1', name: 'Read', input: { file_path: 'a.ts' } }, { type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'ls' } }] } },
    ].map((l) => JSON.stringify(l)).join('\n'));
    const w = loadWorkload(t);
    expect(w.calls.map((c) => c.tool)).toEqual(['Read', 'Bash']);
    expect(w.header).toBeNull();
    const sample = loadWorkload(join(packageRoot(), 'bench/workloads/sample.jsonl'));
    expect(sample.header).toEqual({ workspace: 'generated', files: 200, git: true });
    expect(sample.calls.length).toBeGreaterThanOrEqual(200);
    expect(sample.malformed).toBe(0);
  });

  it('the CLI: --json shape, --html written, bad input is exit 2', () => {
    const html = join(dir, 'out.html');
    const r = icode(['bench', '--workload', workload, '--workspace', user, '--sessions', 'none', '--files', 'none', '--json', '--html', html], { timeoutMs: 240_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as WorkloadReport;
    expect(Object.keys(j).sort()).toEqual(['audit', 'calls', 'cpus', 'date', 'files', 'kind', 'loadavg', 'node', 'overall', 'sessions', 'shared', 'statuses', 'tax', 'tools', 'workload']);
    expect(j.kind).toBe('workload');
    expect(Object.keys(j.overall.stages)).toEqual([...STAGES]);
    expect(j.calls).toHaveLength(lines.length);
    expect(readFileSync(html, 'utf8')).toContain('<svg');
    expect(treeHash(user)).toBe(before);
    expect(icode(['bench', '--workload', join(dir, 'missing.jsonl')]).code).toBe(2);
    expect(icode(['bench', '--workload', workload, '--sessions', '1,x']).code).toBe(2);
    const bad = icode(['bench', '--workload', workload, '--workspace', user, '--policy', join(dir, 'nope.yaml'), '--sessions', 'none', '--files', 'none']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 300_000);
});

describe('--timings on exec and replay', () => {
  it('exec prints one compact line of stage times on stderr; replay adds them to each JSON line only when asked', () => {
    const audit = join(dir, 'timings.db');
    const copy = generateRepo(join(dir, 'timings-ws'), 3);
    const e = icode(['exec', '--tool', 'read', '--input', JSON.stringify({ path: 'README.md' }), '--workspace', copy, '--policy', 'builtin:readonly', '--audit', audit, '--timings']);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/^timings: validate [\d.]+ · decide [\d.]+ · commit [\d.]+ · preHooks [\d.]+ · execute [\d.]+ · postHooks [\d.]+ · outcome [\d.]+ ms \(total [\d.]+ ms\)\n$/);
    const calls = join(dir, 'two.jsonl');
    writeFileSync(calls, '{"tool":"read","input":{"path":"README.md"}}\n{"tool":"list","input":{}}\n');
    const withT = icode(['replay', calls, '--workspace', copy, '--policy', 'builtin:readonly', '--audit', audit, '--timings']);
    expect(withT.code).toBe(0);
    const rows = withT.stdout.trim().split('\n').map((l) => JSON.parse(l) as { timings?: Record<string, number> });
    expect(rows.map((r) => Object.keys(r.timings ?? {}))).toEqual([[...STAGES], [...STAGES]]);
    expect(withT.stderr.match(/^timings #\d+ (read|list): validate /gm)).toHaveLength(2);
    const without = icode(['replay', calls, '--workspace', copy, '--policy', 'builtin:readonly', '--audit', audit]);
    expect(without.stdout.trim().split('\n').map((l) => 'timings' in JSON.parse(l))).toEqual([false, false]);
  }, 120_000);
});
