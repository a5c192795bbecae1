/** Shared by the audit suites: temp dirs and record factories. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionRecord, OutcomeRecord } from '../../engine/audit/log.js';

/**
 * The audit suites sign their logs with a key of their own, not the installation's: every log opened
 * in this process (and every `icode` it spawns, which inherits the environment) uses this file.
 */
export const TEST_KEY_DIR = mkdtempSync(join(tmpdir(), 'icode-audit-key-'));
process.env.ICODE_AUDIT_KEY = join(TEST_KEY_DIR, 'audit.key');

export function tempDir(prefix = 'icode-audit-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function decision(i: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    session: 's1',
    callId: `call-${i}`,
    agent: 'main',
    tool: i % 2 ? 'read' : 'shell',
    input: i % 2 ? { path: `src/f${i}.ts` } : { command: `echo ${i}` },
    decision: i % 5 === 0 ? 'deny' : i % 7 === 0 ? 'ask' : 'allow',
    rule: i % 3 === 0 ? null : `rule-${i % 3}`,
    reason: `reason ${i}`,
    policyHash: 'ph-1',
    ...over,
  };
}

export function outcome(i: number, over: Partial<OutcomeRecord> = {}): OutcomeRecord {
  return {
    session: 's1',
    callId: `call-${i}`,
    status: 'ok',
    exitCode: 0,
    bytes: 10 * i,
    durationMs: 1.5,
    outputHash: 'a'.repeat(64),
    truncated: false,
    ...over,
  };
}
