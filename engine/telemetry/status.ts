/**
 * Failed telemetry exports, counted across processes in a small JSON file beside the audit log
 * ($XDG_STATE_HOME/icode/telemetry-status.json): a hook process lives for one event, so a per-process
 * counter alone would show nobody a collector that has been down for a day. `icode audit stats`
 * reports it. Writing it is best effort (it never fails a call); the count is a hint, not a record
 * (the audit log is the record).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stateDir } from '../xdg.js';

export interface TelemetryStatus {
  failures: number;
  lastError: string | null;
  lastFailureAt: string | null;
}

export function telemetryStatusPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'telemetry-status.json');
}

export function readTelemetryStatus(env: NodeJS.ProcessEnv = process.env): TelemetryStatus {
  try {
    const v = JSON.parse(readFileSync(telemetryStatusPath(env), 'utf8')) as Partial<TelemetryStatus>;
    return { failures: Number.isSafeInteger(v.failures) ? Number(v.failures) : 0, lastError: typeof v.lastError === 'string' ? v.lastError : null, lastFailureAt: typeof v.lastFailureAt === 'string' ? v.lastFailureAt : null };
  } catch {
    return { failures: 0, lastError: null, lastFailureAt: null };
  }
}

export function recordFailure(why: string, env: NodeJS.ProcessEnv = process.env): void {
  try {
    const path = telemetryStatusPath(env);
    const s = readTelemetryStatus(env);
    const next: TelemetryStatus = { failures: s.failures + 1, lastError: why.slice(0, 500), lastFailureAt: new Date().toISOString() };
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(next) + '\n', { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    /* best effort: the stderr line still says it */
  }
}
