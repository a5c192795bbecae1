/**
 * Crash safety of a restore: `icode sessions revert` (the real binary, a child process) is paused
 * mid-way by a test seam (ICODE_RESTORE_PAUSE_AFTER_OPS) and killed with SIGKILL; the next start
 * rolls the journal back: the workspace is the old state, never a mix. Run again, it completes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../engine/agent/sessions.js';
import { CheckpointStore } from '../../engine/state/checkpoints.js';
import { checkpointBaseDir } from '../../engine/state/checkpointer.js';
import { packageRoot } from '../../policies/package-root.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../jail/helpers.js';

const root = tempDir('icode-restore-crash-');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('restore under kill -9', () => {
  it('an interrupted restore is rolled back on the next start; a second one completes', async () => {
    const ws = join(root, 'ws');
    mkdirSync(ws);
    const db = join(root, 'state', 'sessions.db');
    const auditDb = join(root, 'state', 'audit.db');
    const name = (i: number): string => `f${String(i).padStart(2, '0')}.txt`;
    for (let i = 0; i < 30; i++) writeFileSync(join(ws, name(i)), `old ${i}\n`);
    const sessions = SessionStore.open(db);
    const session = sessions.createSession({ workspace: realpathSync(ws) }).id;
    sessions.close();
    let cs = await CheckpointStore.open(ws, { baseDir: checkpointBaseDir(db) });
    const a = await cs.take({ sessionId: session, kind: 'call', tool: 'shell', callId: 'c1' });
    for (let i = 0; i < 20; i++) writeFileSync(join(ws, name(i)), `new ${i}\n`);
    for (let i = 20; i < 25; i++) rmSync(join(ws, name(i)));
    for (let i = 0; i < 5; i++) writeFileSync(join(ws, `g${i}.txt`), `created ${i}\n`);
    const b = await cs.take({ sessionId: session, kind: 'turn_end' });
    const journal = cs.journalPath;
    cs.close();

    const child = spawn(process.execPath, [join(packageRoot(), 'bin/icode.js'), 'sessions', 'revert', session, '--to', String(a.id), '--files-only', '--sessions-db', db, '--audit', auditDb], {
      env: { ...process.env, ICODE_RESTORE_PAUSE_AFTER_OPS: '10' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    expect(await eventually(() => existsSync(`${journal}.paused`), 30_000)).toBe(true);
    // Mid-way: the created files are gone and some, not all, files are old again.
    const old = Array.from({ length: 20 }, (_, i) => readFileSync(join(ws, name(i)), 'utf8').startsWith('old')).filter(Boolean).length;
    expect(old).toBeGreaterThan(0);
    expect(old).toBeLessThan(20);
    // bin/icode.js re-execs node (--no-node-snapshot): the restore runs in the process that wrote the marker.
    const restorer = Number(readFileSync(`${journal}.paused`, 'utf8'));
    expect(restorer).toBeGreaterThan(0);
    process.kill(restorer, 'SIGKILL');
    child.kill('SIGKILL');
    await exited;
    expect(await eventually(() => !isAlive(restorer), 10_000)).toBe(true);
    expect(existsSync(journal)).toBe(true);
    rmSync(`${journal}.paused`);

    // The next start (any command opening the store) rolls back: exactly the state before the restore.
    const listed = icode(['sessions', 'checkpoints', session, '--sessions-db', db, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(existsSync(journal)).toBe(false);
    cs = await CheckpointStore.open(ws, { baseDir: checkpointBaseDir(db) });
    expect(await cs.snapshot()).toBe(b.tree);
    expect(readdirSync(ws).filter((f) => f.startsWith('.icode-restore-'))).toEqual([]);

    const again = icode(['sessions', 'revert', session, '--to', String(a.id), '--files-only', '--sessions-db', db, '--audit', auditDb, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(await cs.snapshot()).toBe(a.tree);
    cs.close();
  }, 120_000);
});
