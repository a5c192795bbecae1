/**
 * The per-user guard daemon: `node --no-node-snapshot daemon.js SOCKET`, started on demand by the
 * hook client (client.ts). It answers each hook event with exactly the cold path's code
 * (answerGuardEvent), warm: the shell parser, ajv and SQLite are loaded once.
 *
 * - Nothing is cached between events but code: every event loads its policy (and the policy's
 *   hooks) from disk again and opens the audit log again, so a changed policy, config or hook file
 *   applies to the next event, and a row written by another process is chained onto. The proof of a
 *   policy's examples is remembered by content hash (the proven cache), as in the cold path.
 * - The decision row is committed before the answer is sent (guardEvent awaits the commit).
 * - The socket is mode 0600 in a 0700 directory of this user (daemon-socket.ts); the daemon exits
 *   after ICODE_GUARD_IDLE_MS without events (default 10 minutes), and when its socket is removed or
 *   replaced. Any failure of its own ends it: the client then answers cold.
 */
import { chmodSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { answerGuardEvent } from './cold.js';
import { AuditPool } from './audit-pool.js';
import { PolicyCache } from './policy-cache.js';
import { GUARD_DEFAULT_POLICY, loadGuardPolicy } from './run.js';
import { isGuardRequest, type GuardReply } from './daemon-socket.js';

const policyCache = new PolicyCache(loadGuardPolicy);
const auditPool = new AuditPool();
const MAX_REQUEST = 8 * 1024 * 1024 + 64 * 1024;
const IDLE_MS = Number(process.env.ICODE_GUARD_IDLE_MS) || 10 * 60_000;
const CHECK_MS = Math.min(30_000, IDLE_MS);

export async function serve(socketPath: string): Promise<void> {
  const server = createServer({ allowHalfOpen: true }, handle);
  await listen(server, socketPath);
  chmodSync(socketPath, 0o600);
  const ino = statSync(socketPath).ino;
  // Who serves this socket (for `kill`, and for the startup benchmark to stop the daemon it caused).
  const pidFile = socketPath.replace(/\.sock$/, '.pid');
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  // Warm the default policy (parser, ajv, shell grammar) while no event waits.
  void policyCache.get(GUARD_DEFAULT_POLICY).catch(() => {});
  let last = Date.now();
  let busy = 0;
  server.on('connection', () => (last = Date.now()));
  const stop = (): void => {
    clearInterval(watch);
    server.close(() => auditPool.closeAll());
    try {
      if (statSync(socketPath).ino === ino) {
        unlinkSync(socketPath);
        unlinkSync(pidFile);
      }
    } catch {
      /* already gone */
    }
    // Answers in flight are finished by their connections; nothing keeps the process after them.
  };
  const watch = setInterval(() => {
    let mine = false;
    try {
      mine = statSync(socketPath).ino === ino;
    } catch {
      mine = false;
    }
    if (!mine || (busy === 0 && Date.now() - last > IDLE_MS)) stop();
  }, CHECK_MS);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  function handle(conn: Socket): void {
    busy++;
    const chunks: Buffer[] = [];
    let size = 0;
    conn.on('error', () => {});
    conn.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_REQUEST) conn.destroy();
      else chunks.push(b);
    });
    conn.on('close', () => {
      busy--;
      last = Date.now();
    });
    conn.on('end', () => {
      void answer(Buffer.concat(chunks).toString('utf8')).then((reply) => conn.end(JSON.stringify(reply)));
    });
  }
}

async function answer(text: string): Promise<GuardReply | { error: string }> {
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  if (!isGuardRequest(req)) return { error: 'not a guard request' }; // the client answers cold
  try {
    return await answerGuardEvent(req.agent, req.text, { policy: req.policy, audit: req.audit, otel: req.otel, cwd: req.cwd, policyCache, auditPool });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Listens on the socket; a stale one (nobody answers) is replaced, a live one means another daemon won: exit. */
async function listen(server: Server, path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(path, () => {
          server.off('error', fail);
          ok();
        });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 0) throw e;
      if (await alive(path)) process.exit(0);
      unlinkSync(path);
    }
  }
}

function alive(path: string): Promise<boolean> {
  return new Promise((done) => {
    const c = connect(path);
    c.on('connect', () => {
      c.destroy();
      done(true);
    });
    c.on('error', () => done(false));
  });
}

// Started as a script (by the client): serve, and end on any failure of its own.
const socketArg = process.argv[2];
if (socketArg && process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.on('uncaughtException', () => process.exit(70));
  process.on('unhandledRejection', () => process.exit(70));
  serve(socketArg).catch(() => process.exit(70));
}
