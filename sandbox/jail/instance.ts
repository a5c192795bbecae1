/**
 * One running jail: the bwrap sandbox (or, in mode 'none', a bare process) whose long-lived process is
 * the supervisor (supervisor.cjs), plus the JSON-lines channel to it. ShellJail owns one instance at a
 * time and replaces it when it dies.
 *
 * Everything the supervisor sends is untrusted (a command can tamper with it): lines are size-capped,
 * fields type-checked, and kills never go through it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { descendants, killPass, killUntilGone, pidNamespace, procInfo, type KillScope } from './procs.js';
import { NSENTER, untrustedReason } from './trusted.js';
import { JailError, type JailMode } from './types.js';

/** A supervisor line longer than this ends the instance (a sane supervisor sends ≤ 64 KiB of data per line). */
const MAX_LINE = 8 * 1024 * 1024;
const START_TIMEOUT_MS = 20_000;

export type SupMsg =
  | { t: 'ready'; pid: number }
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'd'; id: number; d: string }
  | { t: 'exit'; id: number; code: number; signal: number; procs: number }
  | { t: 'error'; id: number; message: string }
  | { t: 'full'; id: number; procs: number };

export interface RunRequest {
  t: 'run';
  id: number;
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  cols: number;
  rows: number;
  eof: boolean;
  maxProcs: number;
}

export type Request = RunRequest | { t: 'input'; id: number; d: string } | { t: 'resize'; id: number; cols: number; rows: number } | { t: 'hup'; id: number };

export interface RunHandler {
  onMessage(m: SupMsg): void;
  /** The instance ended while this run was in flight. */
  onDeath(): void;
}

export interface LaunchSpec {
  mode: JailMode;
  /** Executable and arguments (bwrap …, or bash -c … in mode 'none'). */
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Root only: pid_max of the jail's pid namespace (0 = leave it). */
  pidMax: number;
  /** Files opened for the child as fds 4, 5, … (bwrap --seccomp); closed here once passed. */
  files?: string[];
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Type-checks a parsed supervisor line; null when malformed. */
function validate(m: unknown): SupMsg | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  switch (o.t) {
    case 'ready':
      return isInt(o.pid) ? { t: 'ready', pid: o.pid } : null;
    case 'spawned':
      return isInt(o.id) && isInt(o.pid) ? { t: 'spawned', id: o.id, pid: o.pid } : null;
    case 'd':
      return isInt(o.id) && typeof o.d === 'string' ? { t: 'd', id: o.id, d: o.d } : null;
    case 'exit':
      return isInt(o.id) && isInt(o.code) && isInt(o.signal) && isInt(o.procs) ? { t: 'exit', id: o.id, code: o.code, signal: o.signal, procs: o.procs } : null;
    case 'error':
      return isInt(o.id) && typeof o.message === 'string' ? { t: 'error', id: o.id, message: o.message.slice(0, 2000) } : null;
    case 'full':
      return isInt(o.id) && isInt(o.procs) ? { t: 'full', id: o.id, procs: o.procs } : null;
    default:
      return null;
  }
}

const live = new Set<Instance>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  // Belt and braces to --die-with-parent: a jail never outlives an icode that exits normally.
  process.on('exit', () => {
    for (const inst of live) inst.killNowSync();
  });
}

export class Instance {
  readonly mode: JailMode;
  /** Host pid of the tree root: the jail's pid 1 (bwrap) or, in mode 'none', the supervisor. */
  root = 0;
  /** The root's start tick: tells it apart from a later process that got its pid. */
  rootStart = -1;
  /** Host pid of the supervisor. */
  supervisor = 0;
  /** `pid:[N]` of the jail's pid namespace (bwrap mode). */
  pidNs: string | undefined;
  alive = true;
  /**
   * Mode 'none': the sessions of the commands started (each command's pty is a new session), as
   * session id → its leader's start tick (the supervisor's when the leader was already gone: every
   * command starts after it). See KillScope.sessions.
   */
  readonly sessions = new Map<number, number>();
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly handlers = new Map<number, RunHandler>();
  private buf = '';
  private stderr = '';
  private onReady: ((pid: number) => void) | undefined;

  private constructor(spec: LaunchSpec) {
    this.mode = spec.mode;
    installExitHook();
    const fds = (spec.files ?? []).map((f) => openSync(f, 'r'));
    try {
      this.child = spawn(spec.file, spec.args, {
        stdio: spec.mode === 'bwrap' ? ['pipe', 'pipe', 'pipe', 'pipe', ...fds] : ['pipe', 'pipe', 'pipe'],
        env: spec.env,
        cwd: spec.cwd,
        // Own session and process group: terminal signals of icode's terminal never reach the jail, and
        // the jail has no controlling terminal to inject into (TIOCSTI).
        detached: true,
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
    void this.exited.then(() => this.died());
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (s: string) => this.onData(s));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      if (this.stderr.length < 16_384) this.stderr += s;
    });
    this.child.stdin!.on('error', () => this.kill());
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    this.child.unref();
  }

  static async launch(spec: LaunchSpec): Promise<Instance> {
    const inst = new Instance(spec);
    try {
      await inst.started(spec);
      return inst;
    } catch (e) {
      await inst.kill();
      throw e;
    }
  }

  private async started(spec: LaunchSpec): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<number>((resolve, reject) => {
      this.onReady = resolve;
      timer = setTimeout(() => reject(new JailError(`the jail did not start within ${START_TIMEOUT_MS} ms${this.stderrNote()}`)), START_TIMEOUT_MS);
      void this.exited.then(() => reject(new JailError(`the jail exited while starting${this.stderrNote()}`)));
    });
    const status = this.mode === 'bwrap' ? this.readStatus() : Promise.resolve(null);
    try {
      const [supPidInJail, st] = await Promise.all([ready, status]);
      if (this.mode === 'none') {
        this.root = this.supervisor = this.child.pid!;
        if (supPidInJail !== this.child.pid) throw new JailError('the jail supervisor reported an unexpected pid');
        this.rootStart = procInfo(this.root)?.start ?? -1;
        if (this.rootStart < 0) throw new JailError('the jail supervisor vanished while starting');
        return;
      }
      this.root = st!.childPid;
      this.pidNs = `pid:[${st!.pidNs}]`;
      this.rootStart = procInfo(this.root)?.start ?? -1;
      if (pidNamespace(this.root) !== this.pidNs || this.rootStart < 0) throw new JailError('the jail process vanished while starting');
      const kids = descendants(this.root);
      if (kids.length !== 1) throw new JailError(`the jail has ${kids.length} processes at start (expected its supervisor only)`);
      this.supervisor = kids[0]!;
      if (spec.pidMax > 0) this.limitPids(spec.pidMax);
    } finally {
      clearTimeout(timer);
      this.onReady = undefined;
    }
  }

  private stderrNote(): string {
    const s = this.stderr.trim();
    return s ? `: ${s.split('\n').slice(-5).join(' | ')}` : '';
  }

  /** First object bwrap writes to --json-status-fd: the host pid of the jail's pid 1 and its namespaces. */
  private readStatus(): Promise<{ childPid: number; pidNs: number }> {
    const stream = this.child.stdio[3] as NodeJS.ReadableStream & { unref?: () => void };
    return new Promise((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer | string) => {
        text += chunk.toString();
        const end = text.indexOf('}');
        if (end < 0) return;
        stream.removeListener('data', onData);
        try {
          const o = JSON.parse(text.slice(0, end + 1)) as Record<string, unknown>;
          const childPid = o['child-pid'];
          const pidNs = o['pid-namespace'];
          if (!isInt(childPid) || !isInt(pidNs)) throw new Error('missing child-pid');
          resolve({ childPid, pidNs });
        } catch (e) {
          reject(new JailError(`unexpected bwrap status ${JSON.stringify(text.slice(0, 200))}: ${(e as Error).message}`));
        }
      };
      stream.on('data', onData);
      stream.on('error', () => undefined);
      (stream as unknown as { unref?: () => void }).unref?.();
    });
  }

  /**
   * Root only (the kernel ignores RLIMIT_NPROC for uid 0): caps the jail's pid namespace with its own
   * pid_max (per-namespace since Linux 6.14), written from a process icode forks into that namespace.
   * Refuses older kernels, where the same write would change the whole host's pid_max.
   */
  private limitPids(pidMax: number): void {
    const [major = 0, minor = 0] = release().split('.').map((x) => parseInt(x, 10));
    if (major < 6 || (major === 6 && minor < 14)) {
      throw new JailError(
        `cannot limit the jail's processes: icode runs as root, where the kernel ignores RLIMIT_NPROC, and this kernel (${release()}) has no per-namespace pid_max (Linux ≥ 6.14)`,
        'run icode as a regular user, or set limits.processes to 0 to opt out of the process limit',
      );
    }
    const bad = untrustedReason(NSENTER);
    if (bad) throw new JailError(`cannot limit the jail's processes: ${bad}`, 'install util-linux');
    const hostBefore = readFileSync('/proc/sys/kernel/pid_max', 'latin1').trim();
    const fd = openSync(`/proc/${this.root}/ns/pid`, 'r');
    try {
      if (pidNamespace(this.root) !== this.pidNs) throw new JailError('the jail process vanished while starting');
      const r = spawnSync(NSENTER, ['--pid=/proc/self/fd/3', '--', '/bin/sh', '-c', `echo ${pidMax} > /proc/sys/kernel/pid_max && cat /proc/sys/kernel/pid_max`], {
        stdio: ['ignore', 'pipe', 'pipe', fd],
        env: { PATH: '/usr/bin:/bin' },
        encoding: 'utf8',
        timeout: 10_000,
      });
      const hostAfter = readFileSync('/proc/sys/kernel/pid_max', 'latin1').trim();
      if (hostAfter !== hostBefore) {
        writeFileSync('/proc/sys/kernel/pid_max', hostBefore);
        throw new JailError('the kernel applied pid_max to the whole host (restored); refusing to run as root without a process limit', 'run icode as a regular user');
      }
      if (r.status !== 0 || r.stdout.trim() !== String(pidMax)) {
        throw new JailError(`cannot set the jail's pid_max: ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`, 'run icode as a regular user, or set limits.processes to 0');
      }
    } finally {
      closeSync(fd);
    }
  }

  private onData(s: string): void {
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      const m = validate(parsed);
      if (!m) continue;
      if (m.t === 'ready') {
        this.onReady?.(m.pid);
        continue;
      }
      if (m.t === 'spawned' && this.mode === 'none' && this.handlers.has(m.id)) this.sessions.set(m.pid, procInfo(m.pid)?.start ?? this.rootStart);
      this.handlers.get(m.id)?.onMessage(m);
    }
    if (this.buf.length > MAX_LINE) {
      this.buf = '';
      void this.kill();
    }
  }

  /** What a kill of this jail's processes may reach: its tree, and in mode 'none' its commands' sessions. */
  killScope(opts: { sinceTick?: number; session?: number } = {}): KillScope {
    const scope: KillScope = { root: this.root, rootStart: this.rootStart, keep: new Set([this.supervisor]), sinceTick: opts.sinceTick };
    if (this.mode === 'bwrap') return { ...scope, pidNs: this.pidNs };
    if (opts.session === undefined) return { ...scope, sessions: this.sessions };
    const start = this.sessions.get(opts.session);
    return { ...scope, sessions: new Map(start === undefined ? [] : [[opts.session, start]]) };
  }

  send(req: Request): void {
    if (!this.alive) return;
    this.child.stdin!.write(JSON.stringify(req) + '\n');
  }

  attach(id: number, h: RunHandler): void {
    this.handlers.set(id, h);
  }

  detach(id: number): void {
    this.handlers.delete(id);
  }

  private died(): void {
    if (!this.alive) return;
    this.alive = false;
    live.delete(this);
    this.killNowSync();
    // Mode 'none' has no namespace that takes everything down with the supervisor: one pass over the
    // sessions of its commands (processes that left them and the supervisor's tree are out of reach).
    if (this.mode === 'none' && this.sessions.size > 0) killPass(this.killScope());
    const hs = [...this.handlers.values()];
    this.handlers.clear();
    for (const h of hs) h.onDeath();
  }

  /** SIGKILL the jail's pid 1: the kernel then kills every process of its pid namespace. */
  killNowSync(): void {
    if (this.mode === 'bwrap' && this.root > 0 && pidNamespace(this.root) === this.pidNs) {
      try {
        process.kill(this.root, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }

  /**
   * Ends the instance and everything in it. Resolves once the jail's pid 1 is gone: the kernel kills
   * every process of the pid namespace and pid 1 waits for all of them before it exits.
   */
  async kill(): Promise<void> {
    if (this.mode === 'none') {
      // No namespace: kill the supervisor's tree and its commands' sessions, then the supervisor.
      if (this.supervisor > 0) await killUntilGone(this.killScope());
      this.killNowSync();
      await this.exited;
      this.died();
      return;
    }
    const rootAlive = () => this.root > 0 && pidNamespace(this.root) === this.pidNs;
    if (rootAlive()) {
      try {
        process.kill(this.root, 'SIGKILL'); // bwrap outside exits when its pid 1 has
      } catch {
        /* gone */
      }
    } else {
      this.killNowSync();
    }
    const backstop = setTimeout(() => this.killNowSync(), 5000);
    await this.exited;
    for (let i = 0; i < 500 && rootAlive(); i++) await new Promise((r) => setTimeout(r, 10));
    clearTimeout(backstop);
    this.died();
  }

  /** Last lines bwrap or the supervisor wrote to stderr. */
  get diagnostics(): string {
    return this.stderr;
  }
}
