/**
 * ShellJail: a persistent jail per session. `start()` launches one long-lived bubblewrap sandbox whose
 * only process is a small supervisor (supervisor.cjs, node + node-pty bound read-only into the jail);
 * `run()` asks it to spawn `bash -c COMMAND` in a fresh pty, so a jailed command costs one fork+exec,
 * about what a bare pty spawn costs. See ../README.md (sandbox) and docs for the design.
 *
 * Commands of one jail run one at a time (FIFO), each in the workspace with a fresh environment; they
 * share the filesystem view (workspace, /tmp, $HOME) and background processes, not shell state.
 * Timeouts, aborts and runaway cleanups are enforced from the host by signalling the jail's processes
 * directly (procs.ts), never by asking the supervisor.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join, posix, sep } from 'node:path';
import { freezeJail, thawJail } from './freeze.js';
import { Gate, GateState, type GateResult, type LayerScan } from './gate.js';
import { EMPTY_DIR, EMPTY_FILE, HIDDEN, mountLayer, overlayPathProblem } from './overlay.js';
import { packageRoot } from '../../policies/package-root.js';
import { checkExtraEnv, JAIL_HOME, JAIL_PATH, jailEnv } from './env.js';
import { Instance, type LaunchSpec, type SupMsg } from './instance.js';
import { commandLimitPrefix, entryLimitCommand, resolveLimits, type ResolvedLimits } from './limits.js';
import { OutputCollector } from './output.js';
import { probeJail } from './probe.js';
import { seccompProgram } from './seccomp.js';
import { bootTicksNow, descendants, killUntilGone, pidNamespace } from './procs.js';
import { normaliseProtected, planProtection, refuseLinkedProtected } from './protected.js';
import { systemArgs } from './system.js';
import { BWRAP, SETPRIV, untrustedReason } from './trusted.js';
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT_MS, JailError, type JailMode, type JailOptions, type ShellResult, type ShellRunOptions } from './types.js';
import { checkWorkspace } from './workspace.js';

/** /proc files hidden behind /dev/null: names of the host user's kernel keys, kernel timer/scheduler internals. */
const PROC_MASKED = ['/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats'];
/** Where icode's own read-only files appear inside the jail (a directory of the jail's private root). */
const RUN = '/run/icode';
const JAIL_UID = 1000;
/** A command whose output exceeds the cap by this much is killed (`yes` must not spin until its timeout). */
const FLOOD_BYTES = 64 * 1024 * 1024;
/** How long the supervisor has to report a killed command's exit before the jail is replaced. */
const EXIT_GRACE_MS = 3000;
const MAX_COMMAND = 1024 * 1024;
/**
 * Before every command, on its first line (so bash parses it with the command and line numbers stay):
 * - `trap '' HUP`: the command's bash leads the pty's session, and its exit would SIGHUP its background
 *   jobs before a `nohup`/`setsid` in them has run; ignored, they live on as daemons until the jail
 *   closes (what they inherit: SIGHUP ignored unless they set a handler);
 * - `read`: waits for the supervisor's go signal (supervisor.cjs: output drain);
 * - `stty -onlcr`: the pty passes \n through as is (no \r\n translation), so the output is the bytes the
 *   command wrote, a file's CRLF included (the parity harness holds it to `bash -c CMD 2>&1`);
 * - stdin from /dev/null: every reader gets end-of-file at once (stdout and stderr are the pty).
 */
const RUN_PREAMBLE = "trap '' HUP; stty -onlcr 2>/dev/null; read; exec </dev/null; ";

interface Config {
  mode: JailMode;
  workspace: string;
  network: boolean;
  extraEnv: Record<string, string>;
  protectedPaths: string[];
  limits: ResolvedLimits;
  runtime: string;
  prefix: string;
  nodeBin: string;
  ptyDir: string;
  supervisor: string;
  isRoot: boolean;
  /** Compiled seccomp filter in the runtime directory, or null (architecture without a filter). */
  seccomp: string | null;
  /** Writes go through an overlay and the change gate (bwrap mode, unless read-only). */
  gate: boolean;
  readOnly: boolean;
  /** Workspace-relative paths masked inside the jail. */
  masks: string[];
  controlPaths: string[];
}

/** One overlay upper layer of the jail (`<runtime>/layers/<name>`). */
interface Layer {
  name: string;
  scan: LayerScan;
  /** st_dev of its overlay mount (to tell whether a process still uses it once detached). */
  dev: number;
  /** Host pid of the jail's pid 1 it was mounted in. */
  root: number;
}

export interface InteractiveShell {
  onData(cb: (data: string) => void): void;
  onExit(cb: (e: { exitCode: number | null; signal: string | null }) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Hang up the shell (SIGHUP), then kill what it left behind. */
  close(): Promise<void>;
}

type Outcome =
  | { kind: 'exit'; code: number; signal: number; procs: number }
  | { kind: 'died' }
  | { kind: 'spawn-error'; message: string }
  | { kind: 'full'; procs: number };

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The command was aborted', 'AbortError');
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw new JailError(`${name} must be an integer between 1 and ${max} (got ${String(v)})`);
  return v;
}

function locateNodePty(): string {
  const req = createRequire(import.meta.url);
  return realpathSync(dirname(req.resolve('node-pty/package.json')));
}

function ownProcessCount(): number {
  const uid = process.getuid?.() ?? -1;
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (statSync(`/proc/${e}`).uid === uid) n++;
    } catch {
      /* exited */
    }
  }
  return n;
}

export class ShellJail {
  readonly mode: JailMode;
  private readonly cfg: Config;
  private inst: Instance | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;
  private gateImpl: Gate | null = null;
  private gateState: GateState | null = null;
  /** The layer mounted now, and older ones a background process may still write into. */
  private layer: Layer | null = null;
  private oldLayers: Layer[] = [];

  private constructor(cfg: Config) {
    this.cfg = cfg;
    this.mode = cfg.mode;
  }

  /** Starts the session's jail. Throws JailError (with how to fix it) when it cannot: fail closed. */
  static async start(opts: JailOptions): Promise<ShellJail> {
    const mode: JailMode = opts.mode ?? 'bwrap';
    if (mode !== 'bwrap' && mode !== 'none') throw new JailError(`unknown jail mode ${JSON.stringify(mode)}`);
    if (mode === 'bwrap') {
      const p = probeJail();
      if (!p.ok) throw new JailError(`cannot start the shell jail: ${p.reason}`, p.fix);
    }
    const workspace = checkWorkspace(opts.workspace);
    const extraEnv = checkExtraEnv(opts.env);
    const protectedPaths = normaliseProtected(opts.protectedPaths, workspace);
    const limits = resolveLimits(opts.limits);
    removeStaleRuntimeDirs();
    const runtime = mkdtempSync(join(tmpdir(), `${RUNTIME_PREFIX}${process.pid}-`));
    if (runtime === workspace || runtime.startsWith(workspace + sep)) {
      rmSync(runtime, { recursive: true, force: true });
      throw new JailError(`the temporary directory ${tmpdir()} is inside the workspace; set TMPDIR elsewhere`);
    }
    try {
      const supervisor = join(packageRoot(), 'sandbox', 'jail', 'supervisor.cjs');
      if (!existsSync(supervisor)) throw new JailError(`missing ${supervisor}`);
      const cfg: Config = {
        mode,
        workspace,
        network: opts.network === true,
        extraEnv,
        protectedPaths,
        limits,
        runtime,
        prefix: commandLimitPrefix(limits),
        nodeBin: realpathSync(process.execPath),
        ptyDir: locateNodePty(),
        supervisor,
        isRoot: process.getuid?.() === 0,
        seccomp: null,
        gate: mode === 'bwrap' && opts.readOnly !== true && opts.benchmarkWithoutGate !== true,
        readOnly: opts.readOnly === true,
        masks: normaliseRelative(opts.maskedPaths ?? []),
        controlPaths: normaliseRelative(opts.controlPaths ?? []),
      };
      if (cfg.gate) {
        refuseLinkedProtected(workspace, [...protectedPaths, ...cfg.controlPaths]);
        const bad = overlayPathProblem(workspace);
        if (bad) throw new JailError(`cannot start the shell jail's change gate: ${bad}`, 'move the workspace to a path without those characters');
      }
      writeRuntimeFiles(cfg);
      const jail = new ShellJail(cfg);
      jail.gateState = new GateState();
      jail.gateImpl = new Gate(workspace, { controlPaths: cfg.controlPaths, protectedGlobs: cfg.protectedPaths.flatMap((p) => [p, `${p}/**`]) }, jail.gateState);
      jail.inst = await jail.launch();
      return jail;
    } catch (e) {
      rmSync(runtime, { recursive: true, force: true });
      throw e;
    }
  }

  get workspace(): string {
    return this.cfg.workspace;
  }

  /** Host pids of the current jail, for diagnostics and tests: its pid 1 (bwrap) and the supervisor. */
  get hostPids(): { root: number; supervisor: number; pidNamespace: string | null } {
    const i = this.inst;
    return { root: i?.root ?? 0, supervisor: i?.supervisor ?? 0, pidNamespace: i?.pidNs ?? null };
  }

  /** Runs one command (queued behind the jail's other commands). */
  run(command: string, o: ShellRunOptions = {}): Promise<ShellResult> {
    if (typeof command !== 'string') return Promise.reject(new JailError('command must be a string'));
    if (command.includes('\0')) return Promise.reject(new JailError('command contains a NUL byte'));
    if (command.length > MAX_COMMAND) return Promise.reject(new JailError(`command longer than ${MAX_COMMAND} characters`));
    let opts: Required<Omit<ShellRunOptions, 'signal'>> & { signal?: AbortSignal };
    try {
      opts = {
        timeoutMs: positiveInt('timeoutMs', o.timeoutMs ?? DEFAULT_TIMEOUT_MS, 24 * 3600_000),
        maxOutputBytes: positiveInt('maxOutputBytes', o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, 64 * 1024 * 1024),
        cols: positiveInt('cols', o.cols ?? 200, 1000),
        rows: positiveInt('rows', o.rows ?? 50, 1000),
        signal: o.signal,
      };
    } catch (e) {
      return Promise.reject(e);
    }
    const job = this.tail.then(() => this.runNow(command, opts));
    this.tail = job.catch(() => undefined);
    return job;
  }

  /** An interactive bash in the jail (for `icode shell`): same mounts, environment and limits as run(). */
  async interactive(o: { cols: number; rows: number }): Promise<InteractiveShell> {
    const notes: string[] = [];
    const inst = await this.ensureInstance(notes);
    const id = this.nextId++;
    const dataCbs: ((d: string) => void)[] = [];
    const exitCbs: ((e: { exitCode: number | null; signal: string | null }) => void)[] = [];
    let exited = false;
    const emit = (d: string) => dataCbs.forEach((cb) => cb(d));
    const end = (exitCode: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      inst.detach(id);
      exitCbs.forEach((cb) => cb({ exitCode, signal }));
    };
    const startHr = process.hrtime.bigint();
    inst.attach(id, {
      onMessage: (m: SupMsg) => {
        if (m.t === 'd') emit(m.d);
        else if (m.t === 'exit') end(m.signal ? null : m.code, m.signal ? (SIGNAL_NAMES.get(m.signal) ?? `SIG${m.signal}`) : null);
        else if (m.t === 'error' || m.t === 'full') {
          emit(`icode: cannot start a shell in the jail: ${m.t === 'full' ? 'process limit reached' : m.message}\r\n`);
          end(126, null);
        }
      },
      onDeath: () => end(null, null),
    });
    inst.send({
      t: 'run',
      id,
      file: '/bin/bash',
      args: ['-c', this.cfg.prefix + 'exec /bin/bash -i'],
      env: this.commandEnv('xterm-256color'),
      cwd: this.cfg.workspace,
      cols: positiveInt('cols', o.cols, 1000),
      rows: positiveInt('rows', o.rows, 1000),
      eof: false,
      maxProcs: this.maxProcs(),
    });
    return {
      onData: (cb) => void dataCbs.push(cb),
      onExit: (cb) => void exitCbs.push(cb),
      write: (d) => inst.send({ t: 'input', id, d }),
      resize: (cols, rows) => inst.send({ t: 'resize', id, cols, rows }),
      close: async () => {
        inst.send({ t: 'hup', id });
        await killUntilGone(inst.killScope({ sinceTick: this.ticksSince(startHr) }));
        this.lastGate = await this.gateNow(inst);
      },
    };
  }

  /** Ends the jail and everything running in it (background processes included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inst = this.inst;
    this.inst = null;
    if (inst) await inst.kill();
    // What the jail left in its layers (background processes included) is gated one last time.
    if (this.cfg.gate) this.lastGate = this.gateLayers(null, false);
    // Layers can be big (an npm install): removed in the background (or by the next start if icode exits).
    if (this.cfg.gate) void rm(this.cfg.runtime, { recursive: true, force: true }).catch(() => undefined);
    else rmSync(this.cfg.runtime, { recursive: true, force: true });
  }

  /**
   * For benchmarks and comparisons: the bwrap command line that runs `command` in a fresh, one-shot
   * sandbox with this jail's mounts (what every command would cost without the persistent jail).
   */
  oneShotCommand(command: string): { file: string; args: string[]; env: Record<string, string> } {
    if (this.mode !== 'bwrap') throw new JailError('oneShotCommand: only in bwrap mode');
    const env = this.commandEnv('dumb');
    const setenv = Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]);
    return { file: BWRAP, args: bwrapArgs({ ...this.cfg, gate: false }, setenv, ['/bin/bash', '-c', this.cfg.prefix + command]), env: {} };
  }

  // ---------------------------------------------------------------------------------------------

  private launchSpec(): LaunchSpec {
    const c = this.cfg;
    const p = c.limits.processes;
    if (c.mode === 'bwrap') {
      // Root: the kernel ignores RLIMIT_NPROC for uid 0, the jail's pid_max does the job (+301: after a
      // wrap-around the kernel allocates pids from 300 up only).
      const entry = `${entryLimitCommand(c.limits, c.isRoot ? 0 : p)} || exit 126; exec ${RUN}/node --max-old-space-size=64 ${RUN}/supervisor.cjs ${RUN}/node-pty`;
      return {
        mode: 'bwrap',
        file: BWRAP,
        args: bwrapArgs(c, ['--setenv', 'PATH', JAIL_PATH], ['/bin/bash', '-c', entry], ['--json-status-fd', '3', ...(c.seccomp ? ['--seccomp', '4'] : [])]),
        env: {},
        cwd: '/',
        pidMax: c.isRoot && p > 0 ? p + 301 : 0,
        files: c.seccomp ? [c.seccomp] : [],
      };
    }
    // Mode 'none': RLIMIT_NPROC counts all of this user's processes here, so allow the current ones plus the limit.
    const nproc = p > 0 && !c.isRoot ? ownProcessCount() + p : 0;
    const entry = `${entryLimitCommand(c.limits, nproc)} || exit 126; exec "$0" "$@"`;
    // No namespaces, but no privilege gain either: no_new_privs (setuid binaries such as sudo do not
    // elevate) and, as root, an empty capability bounding set (uid 0 without capabilities: it still
    // owns every root-owned file, which is why mode 'none' as root is no jail at all).
    const setprivOk = untrustedReason(SETPRIV) === null;
    if (c.isRoot && !setprivOk) throw new JailError(`mode none as root needs ${SETPRIV} to drop capabilities`, 'install util-linux');
    const drop = setprivOk ? [SETPRIV, '--no-new-privs', ...(c.isRoot ? ['--bounding-set=-all', '--inh-caps=-all'] : []), '--'] : [];
    const argv = [...drop, '/bin/bash', '-c', entry, c.nodeBin, '--max-old-space-size=64', c.supervisor, c.ptyDir];
    return {
      mode: 'none',
      file: argv[0]!,
      args: argv.slice(1),
      env: { PATH: JAIL_PATH, LANG: 'C.UTF-8', HOME: join(c.runtime, 'home') },
      cwd: c.workspace,
      pidMax: 0,
    };
  }

  private commandEnv(term: string): Record<string, string> {
    const none = this.cfg.mode === 'none';
    const env = jailEnv(this.cfg.extraEnv, { term, home: none ? join(this.cfg.runtime, 'home') : JAIL_HOME });
    // The workspace is its own mount in the jail: git may look for the repository above it (read-only).
    if (!none && parentRepoArgs(this.cfg.workspace).length > 0) env.GIT_DISCOVERY_ACROSS_FILESYSTEM = '1';
    if (none) env.TMPDIR = join(this.cfg.runtime, 'tmp');
    return env;
  }

  /** Process count at which the jail counts as full (bwrap mode; the supervisor counts its /proc). */
  private maxProcs(): number {
    const p = this.cfg.limits.processes;
    return this.cfg.mode === 'bwrap' && p > 0 ? Math.max(8, Math.floor(p * 0.9)) : 0;
  }

  /** What the gate did at close() (for the caller's records). */
  lastGate: GateResult | null = null;

  /** Launches an instance and, with the gate, mounts its first overlay layer (fail closed). */
  private async launch(): Promise<Instance> {
    const inst = await Instance.launch(this.launchSpec());
    if (!this.cfg.gate) return inst;
    try {
      if (this.layer) this.oldLayers.push(this.layer);
      this.layer = null;
      const frozen = await freezeJail(inst.root, inst.pidNs!);
      try {
        this.layer = this.mountNewLayer(inst, true);
      } finally {
        thawJail(frozen);
      }
      return inst;
    } catch (e) {
      await inst.kill();
      throw e instanceof JailError ? e : new JailError(`cannot start the shell jail's change gate: ${(e as Error).message}`);
    }
  }

  private mountNewLayer(inst: Instance, first: boolean): Layer {
    const name = `l-${randomBytes(8).toString('hex')}`;
    const dir = join(this.cfg.runtime, 'layers', name);
    mkdirSync(dir, { mode: 0o700 });
    mkdirSync(join(dir, 'upper'), { mode: 0o755 });
    mkdirSync(join(dir, 'work'), { mode: 0o700 });
    const abs = (l: string[]) => l.map((m) => join(this.cfg.workspace, m));
    // Read-only inside the jail as well as refused by the gate: a write fails at once instead of vanishing.
    // A repository the session made stays writable (`git remote add` after `git init`): the gate checks
    // its config against the allowlist and refuses its hooks, whatever the jail writes there.
    const made = [...(this.gateState?.createdRepos ?? [])];
    const guarded = [...this.cfg.protectedPaths.filter((g) => !made.some((r) => g === r || g.startsWith(`${r}/`))), ...this.cfg.controlPaths];
    // Their parent folders are pinned (bound onto themselves): `mv .git x` cannot move them away.
    const pins = new Set<string>();
    for (const g of guarded) g.split('/').slice(0, -1).forEach((_, i, a) => pins.add(a.slice(0, i + 1).join('/')));
    const sorted = [...pins].sort((a, b) => a.split('/').length - b.split('/').length);
    mountLayer(inst.root, this.cfg.workspace, name, { pins: abs(sorted), masks: abs(this.cfg.masks), readOnly: abs(guarded) }, first);
    const merged = `/proc/${inst.root}/root${this.cfg.workspace}`;
    return { name, dev: statSync(merged).dev, root: inst.root, scan: { upper: join(dir, 'upper'), merged, seen: new Map() } };
  }

  /**
   * The change gate, with the jail frozen: reads every layer, applies what is allowed, and when the live
   * layer holds anything, mounts a fresh one (the old one is detached; processes that still use it keep
   * writing into it, and it is read at every gate until none does).
   */
  private async gateNow(inst: Instance): Promise<GateResult> {
    if (!this.cfg.gate || !inst.alive || !inst.pidNs) return { changes: [], refusals: [] };
    const frozen = await freezeJail(inst.root, inst.pidNs);
    try {
      return this.gateLayers(inst, true);
    } finally {
      thawJail(frozen);
    }
  }

  /** Gates every layer; `inst` (frozen, alive) gets a fresh layer when the live one was used. */
  private gateLayers(inst: Instance | null, remount: boolean): GateResult {
    const gate = this.gateImpl!;
    const all: GateResult = { changes: [], refusals: [] };
    const add = (r: GateResult) => {
      all.changes.push(...r.changes);
      all.refusals.push(...r.refusals);
    };
    const live = this.layer;
    for (const l of this.oldLayers) add(gate.apply({ ...l.scan, merged: null }));
    if (live) {
      const alive = inst !== null && inst.alive && live.root === inst.root;
      add(gate.apply({ ...live.scan, merged: alive ? live.scan.merged : null }));
      if (!alive) {
        this.oldLayers.push(live);
        this.layer = null;
      } else if (remount && readdirSync(live.scan.upper).length > 0) {
        this.layer = this.mountNewLayer(inst, false);
        this.oldLayers.push(live);
      }
    }
    // A detached layer no process of the jail uses any more has been read for the last time.
    if (this.oldLayers.length === 0) return all;
    const users = inst && inst.alive ? devicesInUse(inst.root, inst.pidNs ?? '') : new Set<number>();
    this.oldLayers = this.oldLayers.filter((l) => {
      if (inst && l.root === inst.root && users.has(l.dev)) return true;
      // In the background: a big layer (an npm install) takes a while to delete, and nothing reads it now.
      void rm(join(this.cfg.runtime, 'layers', l.name), { recursive: true, force: true }).catch(() => undefined);
      return false;
    });
    return all;
  }

  private async ensureInstance(notes: string[]): Promise<Instance> {
    if (this.closed) throw new JailError('the shell jail is closed');
    if (this.inst?.alive) return this.inst;
    this.inst = await this.launch();
    if (this.closed) {
      await this.inst.kill();
      throw new JailError('the shell jail is closed');
    }
    notes.push("[icode: the session's jail had ended and was restarted: background processes, /tmp and $HOME were lost]");
    return this.inst;
  }

  /** Ticks since boot at `startHr`, one tick early (start times are in 10 ms ticks). */
  private ticksSince(startHr: bigint): number {
    const elapsedTicks = Math.ceil(Number(process.hrtime.bigint() - startHr) / 1e7);
    return bootTicksNow() - elapsedTicks - 1;
  }

  /**
   * Something outside the jail (the fs tools) changed the workspace. An overlay does not refresh its
   * cached view of the lower layer (a file replaced by rename keeps showing its old inode), so the next
   * command gets a fresh overlay mount: what the agent wrote with `write`/`edit` is what its shell sees.
   */
  markWorkspaceChanged(): void {
    this.lowerChanged = true;
  }

  private lowerChanged = false;

  /** Gates what is pending and mounts a fresh layer, with the jail frozen (see markWorkspaceChanged). */
  private async refreshLayer(inst: Instance): Promise<GateResult | undefined> {
    if (!this.cfg.gate || !this.lowerChanged || !inst.alive || !inst.pidNs) return undefined;
    this.lowerChanged = false;
    const frozen = await freezeJail(inst.root, inst.pidNs);
    try {
      const gated = this.gateLayers(inst, true);
      const live = this.layer;
      // gateLayers remounts only a used layer; an unused one is replaced too, for its fresh view.
      if (live && live.root === inst.root && readdirSync(live.scan.upper).length === 0) {
        this.layer = this.mountNewLayer(inst, false);
        this.oldLayers.push(live);
      }
      return gated;
    } finally {
      thawJail(frozen);
    }
  }

  private async runNow(command: string, o: Required<Omit<ShellRunOptions, 'signal'>> & { signal?: AbortSignal }): Promise<ShellResult> {
    const t0 = performance.now();
    if (o.signal?.aborted) throw abortError(o.signal);
    const notes: string[] = [];
    const collector = new OutputCollector(o.maxOutputBytes);
    let inst = await this.ensureInstance(notes);
    const before = await this.refreshLayer(inst);
    if (before?.refusals.length) notes.push(`[icode: before this command, the change gate refused: ${before.refusals.map((r) => `${r.path} (${r.reason})`).join('; ')}]`);
    for (let attempt = 0; ; attempt++) {
      const r = await this.once(inst, command, o, collector);
      const out = r.outcome;
      if (out.kind === 'full' || out.kind === 'spawn-error') {
        if (attempt === 0 && !r.aborted) {
          // Probably a runaway (fork bomb) left behind by an earlier command: clear the jail and retry once.
          const ok = await killUntilGone(inst.killScope());
          if (!ok) await inst.kill();
          notes.push(
            out.kind === 'full'
              ? `[icode: the jail was at its process limit (${out.procs} processes); all its background processes were killed]`
              : `[icode: the command could not be started (${out.message}); all background processes of the jail were killed]`,
          );
          inst = await this.ensureInstance(notes);
          continue;
        }
        if (r.aborted && o.signal) throw abortError(o.signal);
        return this.result(collector, notes.concat(`icode: cannot start the command in the jail: ${out.kind === 'full' ? 'process limit reached' : out.message}`), 126, null, false, t0);
      }
      if (r.aborted && o.signal) throw abortError(o.signal);
      if (out.kind === 'died') {
        notes.push('[icode: the jail ended while the command ran; it will be restarted for the next command]');
        const gated = this.cfg.gate ? this.gateLayers(null, false) : undefined;
        if (gated && before?.changes.length) gated.changes.unshift(...before.changes);
        return this.result(collector, notes, null, r.killed ? 'SIGKILL' : null, r.timedOut, t0, o.timeoutMs, gated);
      }
      if (r.flooded) notes.push(`[icode: the command was killed after ${collector.totalBytes} bytes of output]`);
      const max = this.maxProcs();
      if (max > 0 && out.procs >= max && !r.killed) {
        // The command left a runaway behind: take back what it started (it ran alone: runs are serialised).
        const ok = await killUntilGone(inst.killScope({ sinceTick: r.sinceTick, session: r.pid ?? undefined }));
        if (!ok) await inst.kill();
        notes.push(`[icode: the command left ${out.procs} processes running (limit ${this.cfg.limits.processes}); the processes it started were killed]`);
      }
      const signal = out.signal ? (SIGNAL_NAMES.get(out.signal) ?? `SIG${out.signal}`) : null;
      const gated = await this.gateNow(inst);
      // What was applied before the command (a background process's writes) changed the workspace during this call too.
      if (before?.changes.length) gated.changes.unshift(...before.changes);
      return this.result(collector, notes, signal ? null : out.code, signal, r.timedOut, t0, o.timeoutMs, gated);
    }
  }

  private result(collector: OutputCollector, notes: string[], exitCode: number | null, signal: string | null, timedOut: boolean, t0: number, timeoutMs?: number, gated?: GateResult): ShellResult {
    const c = collector.finish();
    const all = timedOut ? [...notes, `[icode: timed out after ${timeoutMs} ms; every process the command started was killed]`] : [...notes];
    for (const r of gated?.refusals ?? []) all.push(`[icode: change refused: ${r.path}: ${r.reason}]`);
    let output = c.output;
    if (all.length > 0) output += (output === '' || output.endsWith('\n') ? '' : '\n') + all.join('\n') + '\n';
    return {
      exitCode,
      signal,
      output,
      truncated: c.truncated,
      timedOut,
      durationMs: Math.round(performance.now() - t0),
      ...(gated ? { changes: gated.changes, refusals: gated.refusals } : {}),
    };
  }

  /** One attempt: send the command, collect output, enforce timeout/abort/flood from the host. */
  private once(
    inst: Instance,
    command: string,
    o: Required<Omit<ShellRunOptions, 'signal'>> & { signal?: AbortSignal },
    collector: OutputCollector,
  ): Promise<{ outcome: Outcome; timedOut: boolean; aborted: boolean; flooded: boolean; killed: boolean; sinceTick: number; pid: number | null }> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      const startHr = process.hrtime.bigint();
      let pid: number | null = null;
      let settled = false;
      let killing = false;
      let timedOut = false;
      let aborted = false;
      let flooded = false;
      let grace: NodeJS.Timeout | undefined;
      let killDone: Promise<void> = Promise.resolve();
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        inst.detach(id);
        const sinceTick = this.ticksSince(startHr);
        // A kill loop still running would hit the next command's processes: let it finish first.
        void killDone.then(() => {
          clearTimeout(grace);
          resolve({ outcome, timedOut, aborted, flooded, killed: killing, sinceTick, pid });
        });
      };
      const kill = () => {
        if (killing || settled) return;
        killing = true;
        killDone = (async () => {
          const ok = await killUntilGone(inst.killScope({ sinceTick: this.ticksSince(startHr), session: pid ?? undefined }));
          if (settled) return;
          // The supervisor reports the exit of the killed command; if it does not, it is broken or
          // was tampered with: replace the whole jail.
          if (!ok) await inst.kill();
          else grace = setTimeout(() => void inst.kill(), EXIT_GRACE_MS);
        })();
      };
      inst.attach(id, {
        onMessage: (m) => {
          switch (m.t) {
            case 'spawned':
              pid = m.pid;
              break;
            case 'd':
              collector.push(m.d);
              if (!flooded && collector.droppedBytes > FLOOD_BYTES) {
                flooded = true;
                kill();
              }
              break;
            case 'exit':
              finish({ kind: 'exit', code: m.code, signal: m.signal, procs: m.procs });
              break;
            case 'error':
              finish({ kind: 'spawn-error', message: m.message });
              break;
            case 'full':
              finish({ kind: 'full', procs: m.procs });
              break;
          }
        },
        onDeath: () => finish({ kind: 'died' }),
      });
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs);
      const onAbort = () => {
        aborted = true;
        kill();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      inst.send({
        t: 'run',
        id,
        file: '/bin/bash',
        args: ['-c', this.cfg.prefix + RUN_PREAMBLE + command],
        env: this.commandEnv('dumb'),
        cwd: this.cfg.workspace,
        cols: o.cols,
        rows: o.rows,
        eof: true,
        maxProcs: this.maxProcs(),
      });
      if (!inst.alive) finish({ kind: 'died' });
    });
  }
}

const RUNTIME_PREFIX = 'icode-jail-rt-';

/** Runtime directories left by an icode that died without closing its jails (its pid is gone). */
function removeStaleRuntimeDirs(): void {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${RUNTIME_PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    const p = join(tmpdir(), name);
    try {
      const st = lstatSync(p);
      if (st.isDirectory() && st.uid === uid) rmSync(p, { recursive: true, force: true });
    } catch {
      /* raced with someone else */
    }
  }
}

/** Synthetic account files, the empty placeholders bound over missing protected paths, HOME for mode 'none'. */
function writeRuntimeFiles(c: Config): void {
  writeFileSync(
    join(c.runtime, 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:${JAIL_UID}:${JAIL_UID}:icode agent:${JAIL_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    { mode: 0o444 },
  );
  writeFileSync(join(c.runtime, 'group'), `root:x:0:\nagent:x:${JAIL_UID}:\nnogroup:x:65534:\n`, { mode: 0o444 });
  writeFileSync(join(c.runtime, 'hosts'), '127.0.0.1\tlocalhost icode-jail\n::1\tlocalhost ip6-localhost ip6-loopback\n', { mode: 0o444 });
  mkdirSync(join(c.runtime, 'empty'), { mode: 0o555 });
  mkdirSync(join(c.runtime, 'layers'), { mode: 0o700 });
  closeSync(openSync(join(c.runtime, 'empty-file'), 'wx', 0o444));
  const bpf = c.mode === 'bwrap' ? seccompProgram() : null;
  if (bpf) {
    c.seccomp = join(c.runtime, 'seccomp.bpf');
    writeFileSync(c.seccomp, bpf, { mode: 0o400 });
  }
  if (c.mode === 'none') {
    mkdirSync(join(c.runtime, 'home'), { mode: 0o700 });
    mkdirSync(join(c.runtime, 'tmp'), { mode: 0o700 });
  }
}

/**
 * The bwrap command line of a jail: new user (uid 1000 inside, no nested user namespaces), pid, ipc,
 * uts, cgroup and network namespaces (network shared only when allowed), no environment, the system
 * read-only, private size-limited /tmp, $HOME and /dev/shm, icode's node + node-pty + supervisor
 * read-only under /run/icode, the workspace read-write at its own path, the protected paths read-only,
 * and the jail's root and /dev remounted read-only.
 */
function bwrapArgs(c: Config, envArgs: string[], entry: string[], extra: string[] = []): string[] {
  const tmp = String(c.limits.tmpBytes);
  const masks = c.masks.map((m) => join(c.workspace, m));
  // The workspace: with the gate, the real one is only the overlay's lower layer (mounted by overlay.ts
  // once the jail runs); read-only without writes; otherwise (one-shot bench baseline) bound read-write
  // with the protected paths pinned read-only.
  const workspaceArgs = c.gate
    ? ['--ro-bind', c.workspace, `${HIDDEN}/lower`, '--bind', join(c.runtime, 'layers'), `${HIDDEN}/layers`, '--dir', c.workspace]
    : c.readOnly
      ? ['--ro-bind', c.workspace, c.workspace, ...maskArgs(c, masks)]
      : ['--bind', c.workspace, c.workspace, ...planProtection(c.workspace, c.protectedPaths, join(c.runtime, 'empty'), join(c.runtime, 'empty-file')).args];
  return [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    ...(c.network ? ['--share-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    ...envArgs,
    '--uid', String(JAIL_UID),
    '--gid', String(JAIL_UID),
    '--hostname', 'icode-jail',
    ...systemArgs(c.network),
    '--ro-bind', join(c.runtime, 'passwd'), '/etc/passwd',
    '--ro-bind', join(c.runtime, 'group'), '/etc/group',
    ...(c.network ? [] : ['--ro-bind', join(c.runtime, 'hosts'), '/etc/hosts']),
    '--proc', '/proc',
    ...PROC_MASKED.filter((f) => existsSync(f)).flatMap((f) => ['--ro-bind', '/dev/null', f]),
    '--dev', '/dev',
    '--size', tmp, '--tmpfs', '/dev/shm',
    '--size', tmp, '--tmpfs', '/tmp',
    '--size', tmp, '--tmpfs', JAIL_HOME,
    '--symlink', '../tmp', '/var/tmp',
    '--ro-bind', c.nodeBin, `${RUN}/node`,
    '--ro-bind', c.ptyDir, `${RUN}/node-pty`,
    '--ro-bind', c.supervisor, `${RUN}/supervisor.cjs`,
    '--ro-bind', join(c.runtime, 'empty'), EMPTY_DIR,
    '--ro-bind', join(c.runtime, 'empty-file'), EMPTY_FILE,
    ...parentRepoArgs(c.workspace),
    ...workspaceArgs,
    '--remount-ro', '/dev',
    // Jailed processes keep the host uid (root when icode runs as root), and procfs grants files like
    // /proc/sys/kernel/core_pattern, /proc/sys/kernel/modprobe or /proc/sysrq-trigger to that uid by
    // mode bits alone: a read-only /proc keeps host kernel settings out of reach.
    '--remount-ro', '/proc',
    '--remount-ro', '/',
    '--chdir', c.workspace,
    ...extra,
    '--',
    ...entry,
  ];
}

/** Masks of existing paths as bwrap arguments (read-only workspace; with the gate overlay.ts masks). */
function maskArgs(c: Config, masks: string[]): string[] {
  const out: string[] = [];
  for (const m of masks) {
    let st;
    try {
      st = lstatSync(m);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) continue;
    out.push('--ro-bind', join(c.runtime, st.isDirectory() ? 'empty' : 'empty-file'), m);
  }
  return out;
}

/**
 * A workspace inside a repository (a subfolder of it): the repository's `.git` above it, read-only, so
 * `git status` works in the jail. Nothing of it is writable.
 */
function parentRepoArgs(workspace: string): string[] {
  for (let dir = dirname(workspace); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
    const git = join(dir, '.git');
    let st;
    try {
      st = lstatSync(git);
    } catch {
      continue;
    }
    return st.isDirectory() ? ['--ro-bind', git, git] : [];
  }
  return [];
}

/** Workspace-relative paths, checked and normalised (no absolute paths, no `..`). */
function normaliseRelative(list: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of list) {
    if (typeof raw !== 'string' || !raw || raw.includes('\0')) throw new JailError(`path ${JSON.stringify(raw)}: not a path`);
    const norm = posix.normalize(raw.replace(/\/+$/, ''));
    if (posix.isAbsolute(norm) || norm === '.' || norm === '..' || norm.split('/').includes('..')) throw new JailError(`path ${raw}: must name something inside the workspace`);
    out.add(norm);
  }
  return [...out];
}

/** st_dev of everything the jail's processes hold: working and root folders, open files, mappings. */
function devicesInUse(root: number, pidNs: string): Set<number> {
  const devs = new Set<number>();
  const add = (p: string) => {
    try {
      devs.add(statSync(p).dev);
    } catch {
      /* gone or not reachable */
    }
  };
  for (const pid of descendants(root)) {
    if (pidNamespace(pid) !== pidNs) continue;
    add(`/proc/${pid}/cwd`);
    for (const sub of ['fd', 'map_files']) {
      let names: string[] = [];
      try {
        names = readdirSync(`/proc/${pid}/${sub}`);
      } catch {
        /* gone */
      }
      for (const n of names) add(`/proc/${pid}/${sub}/${n}`);
    }
  }
  return devs;
}
