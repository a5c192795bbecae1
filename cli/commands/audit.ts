/**
 * `icode audit list|show|stats|verify|export|explain`: read, prove and export the audit log.
 * Every subcommand opens the log read-only; a missing log is a usage error (exit 2).
 */
import { Option, type Command } from 'commander';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditKeyPath, loadAuditKey } from '../../engine/audit/key.js';
import {
  AUDIT_KINDS,
  AuditError,
  AuditLog,
  DECISIONS,
  defaultAuditPath,
  type AuditKind,
  type AuditRow,
  type CallDetail,
  type Decision,
  type ListFilters,
  type VerifyResult,
} from '../../engine/audit/log.js';
import { InputError } from '../../engine/errors.js';
import { DbFileError } from '../../engine/sqlite-file.js';
import { exportSink } from '../export-sink.js';
import { EXIT, printJson, printTable, UsageError, writeErr, writeOut } from '../output.js';
import { formatDuration } from '../../engine/agent/text-style.js';
import { parseWholeNumber } from '../parse.js';

interface DbOpts {
  db?: string;
  json?: boolean;
}

interface FilterOpts extends DbOpts {
  session?: string;
  agent?: string;
  tool?: string;
  decision?: string;
  rule?: string;
  since?: string;
  kind?: string;
  limit?: string;
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('Inspect, verify and export the tamper-evident audit log of tool calls')
    .addHelpText('after', `\nDefault log: ${defaultAuditPath()} (override with --db PATH).`);

  withFilters(withDb(audit.command('list').description('List audit rows, newest last (a table on a terminal, --json for scripts)')), 50).action(
    run(async (opts: FilterOpts) => {
      const filters = parseFilters(opts);
      await withLog(opts, (log) => {
        // Newest `limit` rows, shown oldest first like `tail`.
        const rows = log.list({ ...filters, order: 'desc' }).reverse();
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void writeOut('no audit rows match\n');
        printTable(
          ['seq', 'time', 'kind', 'session', 'call', 'agent', 'tool/name', 'result', 'rule', 'reason/error'],
          rows.map((r) => [
            r.seq,
            r.ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
            r.kind,
            short(r.session, 12),
            short(r.callId ?? '', 14),
            r.agent ?? '',
            r.tool ?? r.name ?? '',
            r.decision ?? r.status ?? r.result ?? '',
            r.rule ?? '',
            r.reason ?? r.error ?? (r.kind === 'event' ? JSON.stringify(r.data) : ''),
          ]),
          60,
        );
        if (filters.limit !== undefined && rows.length === filters.limit && process.stderr.isTTY) {
          writeErr(`(showing the last ${filters.limit} rows; --limit N for more)\n`);
        }
      });
    }),
  );

  withDb(
    audit
      .command('show')
      .description('Show one call: its decision, hook results and outcome (ID = row seq or call id)')
      .argument('<id>', 'row seq number, or a call id')
      .option('--session <id>', 'session of the call id, when several sessions used it'),
  ).action(
    run(async (id: string, opts: DbOpts & { session?: string }) => {
      await withLog(opts, (log) => {
        const detail = findDetail(log, id, opts.session);
        if (opts.json) return printJson(detail);
        printDetail(detail);
      });
    }),
  );

  withDb(
    audit
      .command('stats')
      .description('Counts by decision, tool, rule and status; calls that have no outcome')
      .option('--session <id>', 'only this session')
      .option('--since <when>', 'only rows since a time (ISO date, or a duration such as 30m, 2h, 7d)'),
  ).action(
    run(async (opts: DbOpts & { session?: string; since?: string }) => {
      const filters: Pick<ListFilters, 'session' | 'since'> = {};
      if (opts.session !== undefined) filters.session = opts.session;
      if (opts.since !== undefined) filters.since = parseSince(opts.since);
      // Failed OpenTelemetry exports (counted across processes; the audit rows themselves are complete).
      const { readTelemetryStatus } = await import('../../engine/telemetry/status.js');
      const telemetry = readTelemetryStatus();
      await withLog(opts, (log) => {
        const s = log.stats(filters);
        if (opts.json) return printJson({ ...s, telemetry });
        printTable(
          ['rows', 'sessions', 'decisions', 'outcomes', 'hooks', 'events', 'calls without outcome', 'first', 'last'],
          [[s.rows, s.sessions, s.byKind.decision ?? 0, s.byKind.outcome ?? 0, s.byKind.hook ?? 0, s.byKind.event ?? 0, s.callsWithoutOutcome, s.first ?? '', s.last ?? '']],
        );
        printTable(['decision', 'count'], DECISIONS.map((d) => [d, s.byDecision[d] ?? 0]));
        const tools = Object.entries(s.byTool);
        if (tools.length) printTable(['tool', 'allow', 'ask', 'deny', 'total'], tools.map(([t, c]) => [t, c.allow ?? 0, c.ask ?? 0, c.deny ?? 0, c.total ?? 0]));
        const rules = Object.entries(s.byRule);
        if (rules.length) printTable(['rule', 'decisions'], rules);
        const statuses = Object.entries(s.byStatus);
        if (statuses.length) printTable(['outcome', 'count'], statuses);
        if (telemetry.failures) process.stdout.write(`telemetry: ${telemetry.failures} failed export(s), last at ${telemetry.lastFailureAt}: ${telemetry.lastError}\n`);
      });
    }),
  );

  withDb(
    audit
      .command('verify')
      .description('Recompute the hash chain; exit 1 naming the first bad row if anything was altered or removed')
      .option('--anchor <hash>', 'a head hash noted earlier that the chain must still contain (detects truncation)')
      .option('--key <file>', `the audit key the rows' HMACs are checked with (default: ${auditKeyPath()})`),
  ).action(
    run(async (opts: DbOpts & { anchor?: string; key?: string }) => {
      if (opts.anchor !== undefined && !/^[0-9a-f]{64}$/.test(opts.anchor)) throw new UsageError('--anchor: expected a 64-digit hex sha256 hash');
      const keyFile = resolve(opts.key ?? auditKeyPath());
      const key = loadAuditKey(keyFile);
      if (opts.key !== undefined && key === null) throw new UsageError(`--key: no audit key at ${keyFile}`);
      let opened = false;
      try {
        await withLog({ ...opts, key }, (log) => {
          opened = true;
          const v = log.verify(opts.anchor === undefined ? {} : { anchor: opts.anchor });
          if (opts.json) printJson(v);
          else printVerify(v);
          if (!v.ok) process.exitCode = EXIT.FAILED;
        });
      } catch (e) {
        // A log too damaged to open is a failed check (exit 1), not bad input.
        if (opened || !(e instanceof DbFileError && e.reason === 'DAMAGED')) throw e;
        const problem = truncation(resolve(opts.db ?? defaultAuditPath())) ?? `the file itself: ${e.message}`;
        if (opts.json) printJson({ ok: false, rows: 0, firstBad: { seq: null, problem }, problems: [{ seq: null, problem }] });
        else process.stdout.write(`audit log BROKEN: first bad: ${problem}\n`);
        process.exitCode = EXIT.FAILED;
      }
    }),
  );

  withFilters(
    withDb(
      audit
        .command('export')
        .description('Write audit rows as JSON lines or CSV, streaming (to stdout or --out FILE)')
        .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv', 'otlp-json']).default('jsonl'))
        .option('--out <file>', 'write to this file instead of stdout')
        .addOption(new Option('--signal <signal>', 'otlp-json: the spans (traces) or the log records (logs); one signal per file, as the format requires').choices(['traces', 'logs']).default('traces')),
      false,
    ),
    undefined,
  ).action(
    run(async (opts: FilterOpts & { format: 'jsonl' | 'csv' | 'otlp-json'; out?: string; signal: 'traces' | 'logs' }) => {
      const filters = parseFilters(opts);
      await withLog(opts, async (log) => {
        // Opened before the first row is read: a path that cannot be written fails at once (exit 2).
        const sink = exportSink(opts.out === undefined ? null : resolve(opts.out));
        let n = 0;
        try {
          n =
            opts.format === 'otlp-json'
              ? await (await import('../../engine/telemetry/otlp-json.js')).writeOtlpJson(log.list({ ...filters, limit: undefined }), (chunk) => sink.write(chunk), undefined, opts.signal)
              : await log.exportRows(opts.format, (chunk) => sink.write(chunk), filters);
          await sink.finish();
        } catch (e) {
          // Everything or nothing: a partial export file is removed, and the error says why.
          throw new UsageError(`export ${sink.name} failed after ${n} rows: ${sink.abort(e)}`);
        }
        process.stderr.write(`exported ${n} rows to ${sink.name}\n`);
      });
    }),
  );

  withDb(
    audit
      .command('explain')
      .description('Re-decide a recorded call under another policy (what-if) and compare with what was recorded')
      .argument('<id>', 'row seq number, or a call id')
      .requiredOption('--policy <file>', 'policy file (or builtin:NAME) to decide the call under')
      .option('--workspace <dir>', 'workspace root to decide for (default: the recorded one, else the current directory)')
      .option('--session <id>', 'session of the call id, when several sessions used it'),
  ).action(
    run(async (id: string, opts: DbOpts & { policy: string; workspace?: string; session?: string }) => {
      let decision: AuditRow | null = null;
      await withLog(opts, (log) => {
        decision = findDetail(log, id, opts.session).decision;
      });
      const rec = decision as AuditRow | null;
      if (!rec) throw new UsageError(`row ${id} belongs to no tool call (it is a session event)`);
      const { loadPolicy } = await import('../../policies/index.js');
      let policy: Awaited<ReturnType<typeof loadPolicy>>;
      try {
        policy = await loadPolicy(opts.policy);
      } catch (e) {
        throw new UsageError(`cannot load policy ${opts.policy}: ${(e as Error).message}`);
      }
      const workspace = resolve(opts.workspace ?? rec.workspace ?? process.cwd());
      const input = rec.input !== null && typeof rec.input === 'object' && !Array.isArray(rec.input) ? (rec.input as Record<string, unknown>) : {};
      const verdict = await policy.decide({ tool: rec.tool ?? '', input, agent: rec.agent ?? 'main', workspace });
      const redacted = JSON.stringify(rec.input).includes('[REDACTED:');
      const changed = verdict.decision !== rec.decision;
      if (opts.json) {
        return printJson({
          seq: rec.seq,
          callId: rec.callId,
          tool: rec.tool,
          input: rec.input,
          workspace,
          recorded: { decision: rec.decision, rule: rec.rule, reason: rec.reason, policyHash: rec.policyHash },
          proposed: { policy: opts.policy, ...verdict },
          changed,
          inputRedacted: redacted,
        });
      }
      writeOut(`call ${rec.callId} (row ${rec.seq}): ${rec.tool} ${JSON.stringify(rec.input)}\n`);
      printTable(
        ['', 'decision', 'rule', 'reason'],
        [
          [`recorded (policy ${short(rec.policyHash ?? '', 12)})`, rec.decision, rec.rule ?? '(default)', rec.reason],
          [`under ${opts.policy}`, verdict.decision, verdict.rule ?? '(default)', verdict.reason],
        ],
      );
      if (verdict.trace?.length) {
        printTable(['subject', 'decision', 'rule', 'reason'], verdict.trace.map((t) => [t.subject, t.decision, t.rule ?? '(default)', t.reason]));
      }
      writeOut(changed ? `the decision would change: ${rec.decision} → ${verdict.decision}\n` : 'same decision\n');
      if (redacted) writeOut('note: the recorded input had secrets redacted; the policy saw the redacted text\n');
    }),
  );
}

// ---------------------------------------------------------------------------------------------

function withDb(cmd: Command, json = true): Command {
  cmd.option('--db <path>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)');
  if (json) cmd.option('--json', 'print JSON instead of a table');
  return cmd;
}

function withFilters(cmd: Command, defaultLimit: number | undefined): Command {
  return cmd
    .option('--session <id>', 'only this session')
    .option('--agent <name>', 'only the rows of this agent (main, or a sub-agent such as explorer)')
    .option('--tool <name>', 'only decisions for this tool')
    .option('--decision <d>', 'only allow, ask or deny decisions')
    .option('--rule <id>', 'only decisions made by this rule')
    .option('--since <when>', 'only rows since a time (ISO date, or a duration such as 30m, 2h, 7d)')
    .option('--kind <kind>', `only rows of this kind (${AUDIT_KINDS.join(', ')})`)
    .option('--limit <n>', defaultLimit === undefined ? 'at most n rows' : `at most n rows (default ${defaultLimit})`, defaultLimit === undefined ? undefined : String(defaultLimit));
}

function parseFilters(o: FilterOpts): ListFilters {
  const f: ListFilters = {};
  if (o.session !== undefined) f.session = o.session;
  if (o.agent !== undefined) f.agent = o.agent;
  if (o.tool !== undefined) f.tool = o.tool;
  if (o.rule !== undefined) f.rule = o.rule;
  if (o.decision !== undefined) {
    if (!DECISIONS.includes(o.decision as Decision)) throw new UsageError(`--decision: expected allow, ask or deny, not ${o.decision}`);
    f.decision = o.decision as Decision;
  }
  if (o.kind !== undefined) {
    if (!AUDIT_KINDS.includes(o.kind as AuditKind)) throw new UsageError(`--kind: expected one of ${AUDIT_KINDS.join(', ')}, not ${o.kind}`);
    f.kind = o.kind as AuditKind;
  }
  if (o.since !== undefined) f.since = parseSince(o.since);
  if (o.limit !== undefined) f.limit = usage('--limit', () => parseWholeNumber(o.limit as string, 1, MAX_LIMIT));
  return f;
}

/** More rows than any log holds; bounds --limit so it stays an integer SQLite reads. */
const MAX_LIMIT = 1_000_000_000;

/** A commander-style parser's error as a usage error naming the flag. */
function usage<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** `30m`, `2h`, `7d` (ago), or anything Date.parse reads (`2025-11-25`, `2025-11-25T10:00Z`). */
export function parseSince(text: string, now = Date.now()): number {
  const m = /^(\d{1,12}(?:\.\d{1,6})?)\s*([smhdw])$/.exec(text.trim());
  // Beyond 100 000 years ago is nonsense, not a time: a usage error rather than an overflow.
  const t = m ? now - Number(m[1]) * UNITS[m[2]] : Date.parse(text);
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) throw new UsageError(`--since: expected an ISO date or a duration such as 30m, 2h, 7d, not ${text}`);
  return t;
}

async function withLog<T>(opts: DbOpts & { key?: ReturnType<typeof loadAuditKey> }, fn: (log: AuditLog) => T | Promise<T>): Promise<T> {
  const path = resolve(opts.db ?? defaultAuditPath());
  if (!existsSync(path)) throw new UsageError(`no audit log at ${path}${opts.db ? '' : ' (use --db PATH)'}`);
  let log: AuditLog;
  try {
    // Only verify needs the key (and names it); reading rows never depends on the key file.
    log = AuditLog.open(path, { readonly: true, key: opts.key ?? null });
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new UsageError((e as Error).message);
  }
  try {
    return await fn(log);
  } finally {
    log.close();
  }
}

function findDetail(log: AuditLog, id: string, session: string | undefined): CallDetail {
  let seq: number;
  if (/^\d+$/.test(id)) {
    seq = Number(id);
    if (!Number.isSafeInteger(seq)) throw new UsageError(`no audit row ${id}`);
  } else {
    const seqs = log.findCall(id, session);
    if (seqs.length === 0) throw new UsageError(`no recorded call with id ${id}${session ? ` in session ${session}` : ''}`);
    if (seqs.length > 1) throw new UsageError(`call id ${id} appears in ${seqs.length} sessions (rows ${seqs.join(', ')}); pass --session or a row number`);
    seq = seqs[0];
  }
  const detail = log.get(seq);
  if (!detail) throw new UsageError(`no audit row ${id}`);
  return detail;
}

function printDetail(d: CallDetail): void {
  const kv = (row: AuditRow, keys: Array<keyof AuditRow>): unknown[][] =>
    keys.filter((k) => row[k] !== null && row[k] !== undefined).map((k) => [k, typeof row[k] === 'object' ? JSON.stringify(row[k], null, 1) : row[k]]);
  if (!d.decision) {
    printTable(['field', 'value'], kv(d.row, ['seq', 'ts', 'kind', 'session', 'name', 'data', 'hash']), 200);
    return;
  }
  writeOut(`decision (row ${d.decision.seq})\n`);
  printTable(
    ['field', 'value'],
    kv(d.decision, ['seq', 'ts', 'session', 'callId', 'agent', 'tool', 'workspace', 'input', 'decision', 'rule', 'reason', 'approval', 'jail', 'policyHash', 'hash']),
    200,
  );
  if (d.hooks.length) {
    writeOut('hooks\n');
    printTable(['seq', 'phase', 'hook', 'result', 'reason/error', 'took'], d.hooks.map((h) => [h.seq, h.phase, h.name, h.result, h.reason ?? h.error ?? '', formatDuration(h.durationMs)]));
  }
  if (d.outcome) {
    writeOut(`outcome (row ${d.outcome.seq})\n`);
    printTable(['field', 'value'], kv(d.outcome, ['seq', 'ts', 'status', 'exitCode', 'bytes', 'durationMs', 'truncated', 'outputHash', 'error', 'hash']), 200);
  } else {
    writeOut('outcome: none recorded (the call crashed, was killed, or is still running)\n');
  }
}

function short(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Wrap an action: usage errors exit 2, anything unexpected exits 4, both with a one-line message. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      // Bad input, and files that are not (usable) icode audit logs or keys: one line, exit 2.
      const usage = e instanceof InputError || (e instanceof AuditError && (e.code === 'NOT_FOUND' || e.code === 'SCHEMA' || e.code === 'INVALID'));
      process.stderr.write(`icode audit: ${(e as Error).message}\n`);
      if (!usage && process.argv.includes('--debug') && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
      process.exitCode = usage ? EXIT.USAGE : EXIT.INTERNAL;
    }
  };
}

/** Where a SQLite file shorter than its header says was cut, in words; null when it is not that. */
function truncation(file: string): string | null {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(32);
      if (readSync(fd, head, 0, 32, 0) < 32) return `byte 0: the file is truncated before the end of its header (${fstatSync(fd).size} bytes)`;
      const raw = head.readUInt16BE(16);
      const pageSize = raw === 1 ? 65536 : raw;
      const pages = head.readUInt32BE(28);
      const size = fstatSync(fd).size;
      if (pageSize >= 512 && pages > 0 && size < pageSize * pages) {
        return `byte ${size} (page ${Math.floor(size / pageSize) + 1}): the file is truncated; its header says ${pages} pages of ${pageSize} bytes (${pages * pageSize} bytes)`;
      }
      return null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** `audit verify` in words: the first bad row, then the keyed/unkeyed counts. */
function printVerify(v: VerifyResult): void {
  const parts = [`${v.keyed} keyed (HMAC checked${v.keyId ? ` with key ${v.keyId}` : ''})`];
  if (v.unkeyed) parts.push(`${v.unkeyed} unkeyed (plain sha256 only: rows ${v.unkeyedRange?.first}..${v.unkeyedRange?.last}, written before the key existed)`);
  const keying = parts.join(', ');
  if (v.ok) {
    process.stdout.write(`audit log OK: ${v.rows} rows, head ${v.head} (seq ${v.headSeq}); ${keying}\n`);
    return;
  }
  const where = (seq: number | null): string => (seq === null ? 'schema' : `row ${seq}`);
  const first = v.firstBad as { seq: number | null; problem: string };
  process.stdout.write(`audit log BROKEN: first bad ${where(first.seq)}: ${first.problem}\n`);
  for (const p of v.problems.slice(1, 10)) process.stdout.write(`  also ${where(p.seq)}: ${p.problem}\n`);
  if (v.problems.length > 10) process.stdout.write(`  … ${v.problems.length - 10} more\n`);
  process.stdout.write(`${v.rows} rows read, last hash ${v.head} (seq ${v.headSeq}); ${keying}\n`);
}
