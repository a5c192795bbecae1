/**
 * OpenTelemetry: a loopback OTLP/HTTP receiver (a plain http server) gets the spans of a real
 * `icode exec` and of a real `icode guard claude-code`, with the GenAI and icode attributes, and the
 * row hash that points back to the audit log.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../engine/audit/log.js';
import { packageRoot } from '../../policies/package-root.js';
import { icodeAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

type Attr = { key: string; value: { stringValue?: string; intValue?: number | string } };
const received: { path: string; spans: Record<string, string | number>[] }[] = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans?: { scopeSpans: { spans: { attributes: Attr[] }[] }[] }[] };
      // Log records (/v1/logs) are asserted in test/telemetry/otlp.test.ts; here: the spans.
      const spans = (body.resourceSpans ?? []).flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((sp) => Object.fromEntries(sp.attributes.map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue)])))));
      received.push({ path: req.url ?? '', spans });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const run = (args: string[], input: string, cwd: string) => icodeAsync(args, { input, cwd, env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'icode-test' } });

describe('OpenTelemetry export', () => {
  it('exports the decision of icode exec and of a guard call as spans with GenAI + icode attributes and the row hash', async () => {
    const ws = tempDir('icode-otel-');
    const db = join(tempDir('icode-otel-db-'), 'audit.db');
    writeFileSync(join(ws, 'a.txt'), 'hello');
    const e = await run(['exec', '--tool', 'read', '--input', '{"path":"a.txt"}', '--policy', 'builtin:readonly', '--audit', db, '--session', 'exec-s1'], '', ws);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const event = JSON.stringify({ session_id: 'cc-otel', transcript_path: '/x', cwd: ws, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, tool_use_id: 'toolu_otel' });
    const g = await run(['guard', 'claude-code', '--audit', db, '--policy', 'builtin:readonly'], event, ws);
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout).hookSpecificOutput.permissionDecision).toBe('allow');

    expect(received.every((r) => r.path === '/v1/traces' || r.path === '/v1/logs')).toBe(true);
    const spans = received.flatMap((r) => r.spans);
    const log = AuditLog.open(db, { readonly: true });
    const rows = log.list({ kind: 'decision' });
    log.close();
    const execSpan = spans.find((s) => s['gen_ai.conversation.id'] === 'exec-s1');
    expect(execSpan).toMatchObject({ 'gen_ai.tool.name': 'read', 'icode.decision': 'allow', 'icode.decision.source': 'policy', 'icode.policy.rule_id': 'readonly.fs-read', 'icode.outcome': 'ok' });
    const execRow = rows.find((r) => r.session === 'exec-s1')!;
    expect(execSpan).toMatchObject({ 'icode.audit.row': execRow.seq, 'icode.audit.row_hash': execRow.hash, 'gen_ai.tool.call.id': execRow.callId });
    const guardSpan = spans.find((s) => s['gen_ai.conversation.id'] === 'cc-otel');
    const guardRow = rows.find((r) => r.session === 'cc-otel')!;
    expect(guardSpan).toMatchObject({ 'gen_ai.tool.name': 'shell', 'gen_ai.tool.call.id': 'toolu_otel', 'icode.decision': 'allow', 'icode.policy.rule_id': 'readonly.shell-read', 'icode.audit.row': guardRow.seq, 'icode.audit.row_hash': guardRow.hash });
  }, 120_000);

  it('a collector that is down never fails the call: counted and said on stderr', async () => {
    const ws = tempDir('icode-otel-');
    const db = join(tempDir('icode-otel-db-'), 'audit.db');
    writeFileSync(join(ws, 'a.txt'), 'hello');
    const p = spawn(process.execPath, [join(packageRoot(), 'bin/icode.js'), 'exec', '--tool', 'read', '--input', '{"path":"a.txt"}', '--policy', 'builtin:readonly', '--audit', db], { cwd: ws, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    expect(code).toBe(0);
    expect(stdout).toMatch(/hello/);
    expect(stderr).toMatch(/telemetry export failed \(1 this run/);
  }, 120_000);
});
