/**
 * `icode demo`: the whole runtime on a throw-away workspace, no key needed. A scripted model
 * (engine/demo/fix-the-bug.yaml) plays a short coding task through the real agent loop: allowed, asked
 * and denied calls, escape attempts, hooks at work; then the audit log is summarised and verified.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../../policies/package-root.js';
import { AuditLog } from '../../engine/audit/log.js';
import { EXIT, printJson, printTable } from '../output.js';
import { runCommand } from './run.js';

function makeWorkspace(dir: string): string {
  const ws = join(dir, 'workspace');
  mkdirSync(join(ws, 'src'), { recursive: true });
  mkdirSync(join(ws, 'test'));
  mkdirSync(join(ws, 'docs'));
  mkdirSync(join(ws, 'config'));
  mkdirSync(join(ws, '.git', 'hooks'), { recursive: true });
  writeFileSync(join(ws, 'src/math.js'), 'export function add(a, b) {\n  return a - b;\n}\n');
  writeFileSync(
    join(ws, 'test/math.test.js'),
    "import { add } from '../src/math.js';\nif (add(2, 3) !== 5) { console.error(`FAIL add(2, 3) = ${add(2, 3)}`); process.exit(1); }\nconsole.log('ok 1 - add(2, 3) = 5');\n",
  );
  writeFileSync(join(ws, 'package.json'), '{ "name": "demo", "type": "module" }\n');
  writeFileSync(join(ws, 'config/settings.js'), "export const apiKey = 'sk-ant-api03-DEMO0000000000000000000000000000000000000000';\n");
  writeFileSync(join(dir, 'host-notes.txt'), 'a file of the host, outside the workspace\n');
  symlinkSync(join(dir, 'host-notes.txt'), join(ws, 'docs/notes-link'));
  return ws;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Watch a scripted agent fix a bug under a policy: allowed, asked and denied calls, escape attempts, hooks, and the audit summary (no key needed)')
    .option('--keep', 'keep the demo workspace and databases')
    .option('--json', 'print the run and the audit summary as JSON')
    .action(async (opts: { keep?: boolean; json?: boolean }) => {
      const dir = mkdtempSync(join(tmpdir(), 'icode-demo-'));
      const ws = makeWorkspace(dir);
      const auditPath = join(dir, 'audit.db');
      const demoDir = join(packageRoot(), 'engine', 'demo');
      const out: string[] = [];
      const write = opts.json ? (s: string) => void out.push(s) : (s: string) => void process.stdout.write(s);
      try {
        if (!opts.json) write(`icode demo: a scripted agent fixes a bug in ${ws}\npolicy: engine/demo/policy.yaml (builtin:workspace-write + hooks), asks are denied (no one to ask)\n\n`);
        const code = await runCommand(
          'Make the failing test in test/math.test.js pass.',
          {
            provider: `script:${join(demoDir, 'fix-the-bug.yaml')}`,
            workspace: ws,
            policy: join(demoDir, 'policy.yaml'),
            ask: 'deny',
            audit: auditPath,
            sessionsDb: join(dir, 'sessions.db'),
            outputFormat: 'text',
            maxTurns: 20,
          },
          { stdout: write, stderr: write },
        );
        const log = AuditLog.open(auditPath, { readonly: true });
        try {
          const decisions = log.list({ kind: 'decision', limit: 1000 });
          const rows = decisions.map((d) => {
            const detail = log.get(d.seq);
            return { seq: d.seq, agent: d.agent, tool: d.tool, input: brief(d.input), decision: d.decision, rule: d.rule, outcome: detail?.outcome?.status ?? '(none)', hooks: detail?.hooks.filter((h) => h.result !== 'continue').map((h) => `${h.name}: ${h.result}`).join(' ') ?? '' };
          });
          const verify = log.verify();
          const stats = log.stats();
          if (opts.json) {
            printJson({ workspace: ws, audit: auditPath, exit_code: code, transcript: out.join(''), calls: rows, stats, verify });
          } else {
            write('\naudit log: every decision was committed before its call ran\n');
            printTable(['#', 'agent', 'tool', 'input', 'policy', 'rule', 'outcome', 'hooks'], rows.map((r) => [r.seq, r.agent, r.tool, r.input, r.decision, r.rule ?? '(default)', r.outcome, r.hooks]), 38);
            const by = stats.byDecision;
            write(`decisions: ${by.allow ?? 0} allow, ${by.ask ?? 0} ask, ${by.deny ?? 0} deny · outcomes: ${Object.entries(stats.byStatus).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
            write(`hash chain: ${verify.ok ? 'verified' : 'BROKEN'} over ${verify.rows} rows (head ${verify.head.slice(0, 16)}…)\n`);
            write(opts.keep ? `kept: ${dir}  (icode audit list --db ${auditPath})\n` : 'pass --keep to keep the workspace and the audit log\n');
          }
          process.exitCode = code !== 0 ? code : verify.ok ? EXIT.OK : EXIT.FAILED;
        } finally {
          log.close();
        }
      } finally {
        if (!opts.keep) rmSync(dir, { recursive: true, force: true });
      }
    });
}

function brief(input: unknown): string {
  if (input && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    for (const k of ['command', 'path', 'pattern', 'subagent_type']) if (typeof o[k] === 'string') return o[k] as string;
    if (Array.isArray(o.todos)) return `${o.todos.length} todos`;
  }
  return JSON.stringify(input) ?? '';
}
