/**
 * The hook command (`icode guard claude-code|gemini-cli [--policy P] [--audit DB] [--otel]`) as a tiny
 * client of the per-user guard daemon (daemon.ts): it reads the event, sends it over the unix socket
 * and prints the daemon's answer. The daemon has the policy engine, the shell parser and SQLite warm,
 * and commits the audit row before it answers, so a hook costs about one bare Node start.
 *
 * Never fails open: no daemon, a refused or slow connection, or an answer of the wrong shape, and the
 * event is answered by the cold path in this process (the same code the daemon runs). When no daemon
 * listens, one is started in the background for the next event. Node built-ins only until then.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonSocketPath, GUARD_PROTOCOL, isGuardReply, type GuardReply, type GuardRequest } from './daemon-socket.js';

const MAX_STDIN = 8 * 1024 * 1024;
/** How long a daemon may take to answer before the cold path answers instead. */
const REPLY_TIMEOUT_MS = Number(process.env.ICODE_GUARD_DAEMON_TIMEOUT_MS) || 15_000;

type Agent = GuardRequest['agent'];
interface Parsed {
  agent: Agent;
  policy?: string;
  audit?: string;
  otel?: boolean;
}

/**
 * The hook invocation this client answers, or null (help, --debug, an unknown option: the full
 * command parser handles it, with its own messages).
 */
export function parseHookArgs(argv: readonly string[]): Parsed | null {
  const [cmd, agent, ...rest] = argv.slice(2);
  if (cmd !== 'guard' || (agent !== 'claude-code' && agent !== 'gemini-cli')) return null;
  const p: Parsed = { agent };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (name === '--otel' && eq < 0) {
      p.otel = true;
      continue;
    }
    if (name !== '--policy' && name !== '--audit') return null;
    const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : rest[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) return null;
    if (name === '--policy') p.policy = value;
    else p.audit = value;
  }
  return p;
}

/** A hook event from stdin, at most 8 MiB (past that the marker '\u0000oversized': answered as malformed). */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    // Answered as malformed, exactly as the command does (a pre-tool one is denied).
    if (size > MAX_STDIN) return '\u0000oversized';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the hook; false when argv is not a hook invocation (the caller runs the full command). */
export async function runGuardClient(argv: readonly string[]): Promise<boolean> {
  const args = parseHookArgs(argv);
  if (!args) return false;
  try {
    await answerHook(args);
  } catch (e) {
    // Exit 1 would let the agent run the call: anything unexpected blocks it (exit 2), with why.
    process.stderr.write(`icode guard: ${(e as Error).message}; the call is blocked\n`);
    process.exitCode = 2;
  }
  return true;
}

async function answerHook(args: Parsed): Promise<void> {
  const text = await readStdin();
  const cwd = process.cwd();
  // Paths are resolved here, against the hook's own directory, as the cold path would.
  const pathOf = (p: string | undefined): string | undefined => (p === undefined || p.startsWith('builtin:') || isAbsolute(p) ? p : resolve(cwd, p));
  const policy = pathOf(args.policy ?? (process.env.ICODE_POLICY || undefined));
  const req: GuardRequest = { v: GUARD_PROTOCOL, agent: args.agent, text, cwd, ...(policy ? { policy } : {}), ...(args.audit ? { audit: pathOf(args.audit) } : {}), ...(args.otel ? { otel: true } : {}) };
  const socket = daemonSocketPath();
  let reply: GuardReply | null = null;
  if (socket) {
    const r = await ask(socket, req);
    if (r === 'absent') startDaemon(socket);
    else reply = r;
  }
  if (!reply) reply = await coldAnswer(req);
  if (reply.stderr) process.stderr.write(reply.stderr);
  process.stdout.write(reply.stdout);
  process.exitCode = reply.exitCode;
}

/** The daemon's answer; 'absent' when nobody listens; null when it failed in any other way. */
function ask(socket: string, req: GuardRequest): Promise<GuardReply | 'absent' | null> {
  return new Promise((done) => {
    let settled = false;
    const finish = (v: GuardReply | 'absent' | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      done(v);
    };
    const chunks: Buffer[] = [];
    const conn = connect(socket);
    const timer = setTimeout(() => finish(null), REPLY_TIMEOUT_MS);
    conn.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'absent' : null));
    conn.on('data', (b: Buffer) => chunks.push(b));
    conn.on('end', () => {
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        finish(isGuardReply(v) ? v : null);
      } catch {
        finish(null);
      }
    });
    conn.end(JSON.stringify(req));
  });
}

/** Starts the daemon in the background (detached, no stdio); this event takes the cold path. */
function startDaemon(socket: string): void {
  try {
    const daemon = fileURLToPath(new URL('./daemon.js', import.meta.url));
    const child = spawn(process.execPath, ['--no-node-snapshot', daemon, socket], { detached: true, stdio: 'ignore', cwd: '/', env: process.env });
    child.on('error', () => {});
    child.unref();
  } catch {
    /* no daemon: every event takes the cold path */
  }
}

/** The cold path: the same answer the daemon gives, computed in this process. */
async function coldAnswer(req: GuardRequest): Promise<GuardReply> {
  // A hook lives for one decision: baseline (Liftoff) WASM code only (see cli/fast.ts).
  (await import('node:v8')).setFlagsFromString('--liftoff-only');
  const { answerGuardEvent } = await import('./cold.js');
  try {
    return await answerGuardEvent(req.agent, req.text, { policy: req.policy, audit: req.audit, otel: req.otel, cwd: req.cwd });
  } catch (e) {
    return { stdout: '', stderr: `icode guard: ${(e as Error).message}; the call is blocked\n`, exitCode: 2 };
  }
}
