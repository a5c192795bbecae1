/**
 * Live OpenTelemetry export of icode's audit rows (decisions, hook actions, outcomes, session events)
 * as spans and log records, through the official @opentelemetry/* SDK and OTLP/HTTP exporters. The
 * records are built from the committed rows by records.ts, the same function the offline
 * `icode audit export --format otlp-json` uses.
 *
 * On with `--otel` or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ / _LOGS_ENDPOINT); off with
 * OTEL_SDK_DISABLED=true. The standard variables are honoured: endpoints, OTEL_EXPORTER_OTLP_HEADERS
 * (and the per-signal ones), OTEL_SERVICE_NAME, and OTEL_EXPORTER_OTLP_PROTOCOL (or _TRACES_ /
 * _LOGS_PROTOCOL): `http/json` (icode's default, when unset) and `http/protobuf`. `grpc` is not
 * supported: nothing is exported, one line says so, and it counts as a failed export.
 * OTEL_TRACES_EXPORTER=none or OTEL_LOGS_EXPORTER=none leaves that signal out.
 *
 * The audit log stays the source of truth: a failed export never fails a call and delays it at most
 * by the bounded flush; each failure is counted (this process, and persistently: status.ts)
 * and said in one stderr line. The SDK packages are imported only when an export happens.
 */
import type { AuditLog, AuditRow } from '../audit/log.js';
import { recordFailure } from './status.js';
import { recordsFromRows, type LogRecordOut, type SpanRecord, type TelemetryRecords } from './records.js';

export function otelEnabled(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (String(env.OTEL_SDK_DISABLED).toLowerCase() === 'true') return false;
  return flag === true || !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT);
}

export type OtlpProtocol = 'http/json' | 'http/protobuf';

/** The protocol of a signal, or an error line for one icode does not speak. */
export function otlpProtocol(signal: 'TRACES' | 'LOGS', env: NodeJS.ProcessEnv = process.env): OtlpProtocol | { unsupported: string } {
  const p = (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/json').trim();
  if (p === 'http/json' || p === 'http/protobuf') return p;
  return { unsupported: `OTEL_EXPORTER_OTLP_PROTOCOL=${p} is not supported by icode (use http/protobuf or http/json); nothing was exported` };
}

/** Failed exports in this process. */
export let exportFailures = 0;

const FLUSH_TIMEOUT_MS = 2000;

/**
 * The rows of one call from the log: its decision (seq `auditId`) and what follows it for the same
 * session and call id (hook rows, the outcome). The log is flushed first.
 */
export function callRows(audit: AuditLog, session: string, callId: string, auditId: number | undefined): AuditRow[] {
  if (auditId === undefined) return [];
  audit.flush();
  return audit.list({ session, afterSeq: auditId - 1 }).filter((r) => r.callId === callId);
}

/** Exports the rows of one call (see callRows). Never throws. */
export async function exportCall(audit: AuditLog, session: string, callId: string, auditId: number | undefined, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  let rows: AuditRow[];
  try {
    rows = callRows(audit, session, callId, auditId);
  } catch (e) {
    return failed(`could not read the call's audit rows: ${(e as Error).message}`);
  }
  return exportRows(rows, [], env);
}

/**
 * Exports the records of `rows`; `context` rows are only looked up (a PostToolUse's decision, for the
 * parent span id), never exported again. Never throws.
 */
export async function exportRows(rows: readonly AuditRow[], context: readonly AuditRow[] = [], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (rows.length === 0) return true;
  const all = recordsFromRows([...context, ...rows]);
  const own = new Set(rows.map((r) => r.hash));
  const pick = <T extends { attributes: Record<string, unknown> }>(xs: T[]): T[] => xs.filter((x) => own.has(String(x.attributes['icode.audit.row_hash'])));
  return exportRecords({ spans: pick(all.spans), logs: pick(all.logs) }, env);
}

/** Sends spans and log records, each over its signal's protocol, and waits (bounded). Never throws. */
export async function exportRecords(records: TelemetryRecords, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const problems: string[] = [];
  const service = env.OTEL_SERVICE_NAME || 'icode';
  const jobs: Promise<void>[] = [];
  // The standard per-signal switches: OTEL_TRACES_EXPORTER=none / OTEL_LOGS_EXPORTER=none leave a signal out.
  if (records.spans.length && env.OTEL_TRACES_EXPORTER?.trim() !== 'none') {
    const p = otlpProtocol('TRACES', env);
    if (typeof p === 'object') problems.push(p.unsupported);
    else jobs.push(sendSpans(records.spans, p, service).catch((e: unknown) => void problems.push(`traces: ${(e as Error).message}`)));
  }
  if (records.logs.length && env.OTEL_LOGS_EXPORTER?.trim() !== 'none') {
    const p = otlpProtocol('LOGS', env);
    if (typeof p === 'object') {
      if (!problems.includes(p.unsupported)) problems.push(p.unsupported);
    } else jobs.push(sendLogs(records.logs, p, service).catch((e: unknown) => void problems.push(`logs: ${(e as Error).message}`)));
  }
  await Promise.all(jobs);
  return problems.length ? failed(problems.join('; ')) : true;
}

function failed(why: string): false {
  exportFailures++;
  recordFailure(why);
  process.stderr.write(`icode: telemetry export failed (${exportFailures} this run; the audit log has the record): ${why}\n`);
  return false;
}

/** Wraps an exporter's export so a failure it reports through its callback (it never throws) is seen. */
function watch<T>(exporter: { export: (items: T, done: (r: { code: number; error?: Error }) => void) => void }): { failure: () => string | null } {
  let failure: string | null = null;
  const inner = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    inner(items, (r) => {
      if (r.code !== 0) failure = r.error?.message || 'the collector refused or could not be reached';
      done(r);
    });
  return { failure: () => failure };
}

const bounded = (p: Promise<unknown>): Promise<unknown> => Promise.race([p, new Promise((r) => setTimeout(r, FLUSH_TIMEOUT_MS).unref())]);

async function sendSpans(spans: readonly SpanRecord[], protocol: OtlpProtocol, service: string): Promise<void> {
  const [api, { BasicTracerProvider, SimpleSpanProcessor }, { resourceFromAttributes }, exporterModule] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    protocol === 'http/protobuf' ? import('@opentelemetry/exporter-trace-otlp-proto') : import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter({ timeoutMillis: FLUSH_TIMEOUT_MS });
  const seen = watch(exporter);
  // Ids come from the rows (records.ts), so a span here and in an offline export are the same span.
  const next = { traceId: '', spanId: '' };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    idGenerator: { generateTraceId: () => next.traceId, generateSpanId: () => next.spanId },
  });
  const tracer = provider.getTracer('icode');
  for (const s of spans) {
    next.traceId = s.traceId;
    next.spanId = s.spanId;
    const parent = s.parentSpanId ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: api.TraceFlags.SAMPLED, isRemote: true }) : api.ROOT_CONTEXT;
    const span = tracer.startSpan(s.name, { kind: api.SpanKind.INTERNAL, startTime: s.startMs, attributes: s.attributes }, parent);
    if (s.statusCode === 2) span.setStatus({ code: api.SpanStatusCode.ERROR });
    span.end(s.endMs);
  }
  await bounded(provider.forceFlush());
  await provider.shutdown().catch(() => {});
  const f = seen.failure();
  if (f) throw new Error(f);
}

async function sendLogs(logs: readonly LogRecordOut[], protocol: OtlpProtocol, service: string): Promise<void> {
  const [api, { LoggerProvider, SimpleLogRecordProcessor }, { resourceFromAttributes }, exporterModule] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/resources'),
    protocol === 'http/protobuf' ? import('@opentelemetry/exporter-logs-otlp-proto') : import('@opentelemetry/exporter-logs-otlp-http'),
  ]);
  const exporter = new exporterModule.OTLPLogExporter({ timeoutMillis: FLUSH_TIMEOUT_MS });
  const seen = watch(exporter);
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [new SimpleLogRecordProcessor(exporter)] });
  const logger = provider.getLogger('icode');
  for (const l of logs) {
    const context = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: l.traceId, spanId: l.spanId, traceFlags: api.TraceFlags.SAMPLED });
    // The SDK's numeric SeverityNumber enum values (INFO 9, WARN 13, ERROR 17).
    logger.emit({ eventName: l.eventName, severityNumber: l.severityNumber, severityText: l.severityText, body: l.body, attributes: { ...l.attributes, 'event.name': l.eventName }, timestamp: l.timeMs, context });
  }
  await bounded(provider.forceFlush());
  await provider.shutdown().catch(() => {});
  const f = seen.failure();
  if (f) throw new Error(f);
}
