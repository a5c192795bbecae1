/**
 * kill -9 of a process that is writing the audit log: every row it saw committed survives, the chain
 * verifies, and no outcome exists without its decision. Also two writer processes on one file.
 *
 * The child runs plain JS: this suite transpiles every engine/audit/*.ts (and what they import) into
 * .vitest-tmp/ (inside the repo, so that `better-sqlite3` resolves from node_modules), independent of
 * the state of dist/.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));

let build: string;
let moduleUrl: string;
let tmp: ReturnType<typeof tempDir>;

beforeAll(() => {
  mkdirSync(join(ROOT, '.vitest-tmp'), { recursive: true });
  build = mkdtempSync(join(ROOT, '.vitest-tmp', 'audit-js-'));
  // The audit log's modules and what they import.
  const auditModules = readdirSync(join(ROOT, 'engine/audit')).filter((f) => f.endsWith('.ts')).map((f) => `engine/audit/${f.slice(0, -3)}`);
  for (const f of [...auditModules, 'engine/sqlite-file', 'engine/errors', 'engine/xdg', 'policies/pure/read-bounded', 'policies/secrets/token-formats', 'policies/secrets/redact']) {
    const src = readFileSync(join(ROOT, `${f}.ts`), 'utf8');
    const out = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: `${f}.ts`,
    });
    mkdirSync(dirname(join(build, f)), { recursive: true });
    writeFileSync(join(build, `${f}.js`), out.outputText);
  }
  writeFileSync(join(build, 'package.json'), '{"type":"module"}\n');
  moduleUrl = pathToFileURL(join(build, 'engine/audit/log.js')).href;
  tmp = tempDir();
});
afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  tmp.cleanup();
});

interface Writer {
  child: ChildProcess;
  /** Highest seq the child has reported committed so far. */
  committed(): number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWriter(db: string, session: string): Writer {
  const child = spawn(process.execPath, [WRITER, moduleUrl, db, session], { stdio: ['ignore', 'pipe', 'pipe'] });
  let committed = 0;
  let err = '';
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^committed (\d+)$/.exec(l);
      if (m) committed = Math.max(committed, Number(m[1]));
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, committed: () => committed, stderr: () => err, exited };
}

async function until(cond: () => boolean, what: () => string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** SQL cross-check, independent of verify(): outcomes whose decision is missing or later. */
function orphanOutcomes(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT count(*) FROM audit o WHERE o.kind = 'outcome' AND NOT EXISTS " +
          "(SELECT 1 FROM audit d WHERE d.kind = 'decision' AND d.session = o.session AND d.call_id = o.call_id AND d.seq < o.seq)",
      )
      .pluck()
      .get() as number;
  } finally {
    db.close();
  }
}

describe('crash safety', () => {
  it('kill -9 mid-stream leaves a log that verifies, keeps every committed row, and has no outcome without decision', async () => {
    const path = join(tmp.dir, 'crash.db');
    const w = startWriter(path, 'crash');
    await until(() => w.committed() >= 3000, () => `writer committed ${w.committed()} rows; stderr: ${w.stderr()}`);
    w.child.kill('SIGKILL');
    const exit = await w.exited;
    expect(exit.signal).toBe('SIGKILL');
    const reported = w.committed();

    const log = AuditLog.open(path);
    try {
      const v = log.verify();
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      // Everything the child was told is committed is there (it may have committed more since it last printed).
      expect(v.rows).toBeGreaterThanOrEqual(reported);
      const s = log.stats();
      expect(s.byKind.decision).toBeGreaterThan(0);
      expect(s.byKind.outcome).toBeGreaterThan(0);
      // Decisions without an outcome are legal (calls cut by the kill, and every fourth call).
      expect(s.callsWithoutOutcome).toBeGreaterThan(0);
      // Secrets in inputs were redacted before they reached the file.
      expect(JSON.stringify(log.list({ limit: 5 }))).not.toContain('ghp_0123456789');
      // The log is still writable and the chain continues.
      await log.recordEvent('recovered', 'crash');
      expect(log.verify()).toMatchObject({ ok: true, rows: v.rows + 1 });
    } finally {
      log.close();
    }
    expect(orphanOutcomes(path)).toBe(0);
  });

  it('two writer processes on one file, both killed -9, leave one valid chain', async () => {
    const path = join(tmp.dir, 'two.db');
    // Create the schema first so that neither child races to migrate an empty file.
    AuditLog.open(path).close();
    const a = startWriter(path, 'a');
    const b = startWriter(path, 'b');
    try {
      await until(
        () => a.committed() >= 1500 && b.committed() >= 1500,
        () => `committed a=${a.committed()} b=${b.committed()}; stderr: ${a.stderr()} ${b.stderr()}`,
      );
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
    await Promise.all([a.exited, b.exited]);
    const log = AuditLog.open(path, { readonly: true });
    try {
      const v = log.verify();
      expect(v.problems).toEqual([]);
      expect(v.rows).toBeGreaterThanOrEqual(Math.max(a.committed(), b.committed()));
      expect(log.list({ session: 'a', limit: 1 })).toHaveLength(1);
      expect(log.list({ session: 'b', limit: 1 })).toHaveLength(1);
    } finally {
      log.close();
    }
    expect(orphanOutcomes(path)).toBe(0);
  });
});
