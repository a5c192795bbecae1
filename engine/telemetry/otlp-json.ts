/**
 * Audit rows as OTLP/JSON export requests, one per line (the OpenTelemetry JSON file format, read by
 * the Collector's `otlpjsonfile` receiver), for shipping a log offline: the same spans and log records
 * as the live export (records.ts), the same ids. A file holds one signal, as the format requires:
 * `traces` (ExportTraceServiceRequest lines) or `logs` (ExportLogsServiceRequest lines).
 */
import type { AuditRow } from '../audit/log.js';
import { recordsFromRows, type Attributes, type LogRecordOut, type SpanRecord } from './records.js';

const BATCH = 500;

export type OtlpSignal = 'traces' | 'logs';

type OtlpValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };

export function otlpAttributes(attrs: Attributes): { key: string; value: OtlpValue }[] {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v } }));
}

const nanos = (ms: number): string => String(BigInt(Math.round(ms)) * 1_000_000n);

function spanJson(s: SpanRecord): unknown {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: 1,
    startTimeUnixNano: nanos(s.startMs),
    endTimeUnixNano: nanos(s.endMs),
    attributes: otlpAttributes(s.attributes),
    status: s.statusCode === 2 ? { code: 2 } : {},
  };
}

function logJson(l: LogRecordOut): unknown {
  return {
    timeUnixNano: nanos(l.timeMs),
    observedTimeUnixNano: nanos(l.timeMs),
    severityNumber: l.severityNumber,
    severityText: l.severityText,
    eventName: l.eventName,
    body: { stringValue: l.body },
    attributes: otlpAttributes({ ...l.attributes, 'event.name': l.eventName }),
    traceId: l.traceId,
    spanId: l.spanId,
    flags: 1,
  };
}

function request(signal: OtlpSignal, items: unknown[], service: string): string {
  const resource = { attributes: otlpAttributes({ 'service.name': service }) };
  const scope = { name: 'icode' };
  return JSON.stringify(signal === 'traces' ? { resourceSpans: [{ resource, scopeSpans: [{ scope, spans: items }] }] } : { resourceLogs: [{ resource, scopeLogs: [{ scope, logRecords: items }] }] });
}

/** Writes one JSON line per batch of records of `signal`. Returns how many records were written. */
export async function writeOtlpJson(rows: Iterable<AuditRow>, write: (chunk: string) => Promise<void> | void, service = process.env.OTEL_SERVICE_NAME || 'icode', signal: OtlpSignal = 'traces'): Promise<number> {
  const records = recordsFromRows(rows);
  const items = signal === 'traces' ? records.spans.map(spanJson) : records.logs.map(logJson);
  for (let i = 0; i < items.length; i += BATCH) await write(request(signal, items.slice(i, i + BATCH), service) + '\n');
  return items.length;
}
