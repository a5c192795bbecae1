/**
 * Audit rows as OTLP/JSON trace export requests, one per line (the format of the OpenTelemetry
 * Collector's `otlpjsonfile` receiver), for shipping a log offline: the same spans and attributes as
 * the live export (otel.ts), ids derived from the session (trace) and the row hash (span).
 */
import { createHash } from 'node:crypto';
import type { AuditRow } from '../audit/log.js';
import { decisionAttributes } from './otel.js';

const BATCH = 500;

type OtlpValue = { stringValue: string } | { intValue: string };

function otlpAttributes(attrs: Record<string, string | number>): { key: string; value: OtlpValue }[] {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
}

function request(spans: unknown[], service: string): string {
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: otlpAttributes({ 'service.name': service }) }, scopeSpans: [{ scope: { name: 'icode' }, spans }] }],
  });
}

/** Writes one JSON line per batch of decision rows; outcome rows annotate their decision. Returns the spans written. */
export async function writeOtlpJson(rows: Iterable<AuditRow>, write: (chunk: string) => Promise<void> | void, service = process.env.OTEL_SERVICE_NAME || 'icode'): Promise<number> {
  const outcomes = new Map<string, string>();
  const decisions: AuditRow[] = [];
  for (const r of rows) {
    if (r.kind === 'decision') decisions.push(r);
    else if (r.kind === 'outcome' && r.callId && r.status) outcomes.set(`${r.session}\u0000${r.callId}`, r.status);
  }
  let batch: unknown[] = [];
  for (const r of decisions) {
    const start = BigInt(r.tsMs) * 1_000_000n;
    const outcome = outcomes.get(`${r.session}\u0000${r.callId}`);
    batch.push({
      traceId: createHash('sha256').update(r.session).digest('hex').slice(0, 32),
      spanId: r.hash.slice(0, 16),
      name: `execute_tool ${r.tool ?? ''}`,
      kind: 1,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start),
      attributes: otlpAttributes(
        decisionAttributes({
          tool: r.tool ?? '',
          callId: r.callId ?? '',
          session: r.session,
          decision: r.decision ?? 'deny',
          source: r.approval ? 'user' : 'policy',
          rule: r.rule,
          reason: r.reason ?? '',
          auditRow: r.seq,
          rowHash: r.hash,
          outcome,
          agent: r.agent ?? undefined,
        }),
      ),
    });
    if (batch.length >= BATCH) {
      await write(request(batch, service) + '\n');
      batch = [];
    }
  }
  if (batch.length) await write(request(batch, service) + '\n');
  return decisions.length;
}
