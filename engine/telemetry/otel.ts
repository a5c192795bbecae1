/**
 * OpenTelemetry export of icode's decisions (spans through the official @opentelemetry/* packages,
 * OTLP/HTTP). On with the standard OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT; headers and
 * OTEL_SERVICE_NAME are read by the SDK / here) or `--otel`. The packages are imported only when it is
 * on, so a start without telemetry does not pay for them.
 *
 * The audit log stays the source of truth: every attribute comes from the committed row (its reason
 * already redacted like the log), the row's seq and hash point back to it, and a failed export never
 * fails or delays a call beyond a bounded flush: it is counted and said on stderr.
 */
export interface DecisionTelemetry {
  tool: string;
  callId: string;
  session: string;
  decision: string;
  /** policy, hook, user or timeout. */
  source: 'policy' | 'hook' | 'user' | 'timeout';
  rule: string | null;
  reason: string;
  auditRow?: number;
  rowHash?: string;
  /** ok / error / denied, when known. */
  outcome?: string;
  agent?: string;
}

export function otelEnabled(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag === true || !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Failed exports in this process. */
export let exportFailures = 0;

const FLUSH_TIMEOUT_MS = 2000;

/** The span attributes of one decision (GenAI semantic conventions + icode's). */
export function decisionAttributes(d: DecisionTelemetry): Record<string, string | number> {
  const a: Record<string, string | number> = {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': d.tool,
    'gen_ai.tool.call.id': d.callId,
    'gen_ai.conversation.id': d.session,
    'icode.decision': d.decision,
    'icode.decision.source': d.source,
    'icode.decision.reason': d.reason,
  };
  if (d.rule) a['icode.policy.rule_id'] = d.rule;
  if (d.auditRow !== undefined) a['icode.audit.row'] = d.auditRow;
  if (d.rowHash) a['icode.audit.row_hash'] = d.rowHash;
  if (d.outcome) a['icode.outcome'] = d.outcome;
  if (d.agent) a['gen_ai.agent.name'] = d.agent;
  return a;
}

/** Exports the decisions as spans and waits (bounded) for the exporter. Never throws. */
export async function exportDecisions(decisions: readonly DecisionTelemetry[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (decisions.length === 0) return true;
  try {
    const [{ BasicTracerProvider, SimpleSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
    let failed = false;
    const exporter = new OTLPTraceExporter({ timeoutMillis: FLUSH_TIMEOUT_MS });
    // Count failures the exporter reports through its callback (it never throws on a dead collector).
    const inner = exporter.export.bind(exporter);
    exporter.export = (spans, done) =>
      inner(spans, (r) => {
        if (r.code !== 0) failed = true;
        done(r);
      });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'icode' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('icode');
    for (const d of decisions) {
      const span = tracer.startSpan(`execute_tool ${d.tool}`, { attributes: decisionAttributes(d) });
      span.end();
    }
    await Promise.race([provider.forceFlush(), new Promise((r) => setTimeout(r, FLUSH_TIMEOUT_MS).unref())]);
    await provider.shutdown().catch(() => {});
    if (failed) throw new Error('the collector refused or could not be reached');
    return true;
  } catch (e) {
    exportFailures++;
    process.stderr.write(`icode: telemetry export failed (${exportFailures} this run; the audit log has the record): ${(e as Error).message}\n`);
    return false;
  }
}
