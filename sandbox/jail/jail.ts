/**
 * ShellJail: a persistent jail per session. `start()` launches one long-lived bubblewrap sandbox whose
 * only process is a small supervisor (supervisor.cjs, node + node-pty bound read-only into the jail);
 * `run()` asks it to spawn `bash -c COMMAND` in a fresh pty, so a jailed command costs one fork+exec,
 * about what a bare pty spawn costs. See ../README.md (sandbox) and docs for the design.
 *
 * Commands of one jail run one at a time (FIFO), each in the workspace with a fresh environment; they
 * share the filesystem view (workspace, /tmp, $HOME) and background processes, not shell state.
 * Timeouts, aborts and runaway cleanups are enforced from the host by signalling the jail's processes
 * directly (attempt.ts, procs.ts), never by asking the supervisor. Writes go through the change gate
 * (layers.ts).
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { abortError, RUN_PREAMBLE, runAttempt, shellResult, signalName, type RunOpts } from './attempt.js';
import { packageRoot } from '../../policies/package-root.js';
import { checkExtraEnv } from './env.js';
import type { GateResult } from './gate.js';
import { Instance } from './instance.js';
import { interactiveBody, interactiveEnv, startInteractive, type InteractiveShell } from './interactive.js';
import { Layers } from './layers.js';
import { bwrapCommand, commandEnv, launchSpec, maxProcs } from './launch-spec.js';
import { commandLimitPrefix, resolveLimits } from './limits.js';
import { OutputCollector } from './output.js';
import { mountMasks, overlayPathProblem } from './overlay.js';
import { MaskIndex } from './masks.js';
import { probeJail } from './probe.js';
import { killUntilGone } from './procs.js';
import { normaliseProtected, refuseLinkedProtected } from './protected.js';
import { locateNodePty, normaliseRelative, removeStaleRuntimeDirs, RUNTIME_PREFIX, writeRuntimeFiles, type Config } from './runtime.js';
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT_MS, JailError, type JailMode, type JailOptions, type ShellResult, type ShellRunOptions } from './types.js';
import { checkWorkspace } from './workspace.js';
import { jailHostIds } from './userns.js';

export type { InteractiveShell } from './interactive.js';

const MAX_COMMAND = 1024 * 1024;

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw new JailError(`${name} must be an integer between 1 and ${max} (got ${String(v)})`);
  return v;
}

export class ShellJail {
  readonly mode: JailMode;
  private readonly cfg: Config;
  private readonly layers: Layers;
  private inst: Instance | null = null;
  /** Denied paths at any depth (masks.ts), and the literal ones the caller named. */
  private maskIndex: MaskIndex | null = null;
  private literalMasks: string[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;
  /** What the gate did at close() (for the caller's records). */
  lastGate: GateResult | null = null;

  private constructor(cfg: Config) {
    this.cfg = cfg;
    this.mode = cfg.mode;
    this.layers = new Layers(cfg);
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
        hostIds: mode === 'bwrap' ? jailHostIds(process.getuid?.() === 0) : null,
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
      jail.literalMasks = cfg.masks;
      if (mode === 'bwrap' && opts.maskedGlobs?.length) {
        jail.maskIndex = new MaskIndex(workspace, opts.maskedGlobs, opts.maskCheck);
        cfg.masks = [...new Set([...jail.literalMasks, ...jail.maskIndex.list()])];
      }
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
    let opts: RunOpts;
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
    const inst = await this.ensureInstance([]);
    this.updateMasks(inst);
    const gated = this.cfg.gate;
    return startInteractive(inst, {
      id: this.nextId++,
      args: ['-c', this.cfg.prefix + interactiveBody(gated)],
      env: interactiveEnv(commandEnv(this.cfg, 'xterm-256color'), gated),
      ...(gated
        ? {
            gate: async () => {
              // Denied paths that appeared meanwhile get masks (a fresh layer) before the next prompt.
              if (inst.alive) this.updateMasks(inst);
              const pending = await this.layers.refresh(inst);
              const now = await this.layers.gateNow(inst);
              return { changes: [...(pending?.changes ?? []), ...now.changes], refusals: [...(pending?.refusals ?? []), ...now.refusals] };
            },
          }
        : {}),
      cwd: this.cfg.workspace,
      cols: positiveInt('cols', o.cols, 1000),
      rows: positiveInt('rows', o.rows, 1000),
      maxProcs: maxProcs(this.cfg),
      afterClose: async () => {
        this.lastGate = await this.layers.gateNow(inst);
      },
    });
  }

  /** Ends the jail and everything running in it (background processes included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inst = this.inst;
    this.inst = null;
    if (inst) await inst.kill();
    // What the jail left in its layers (background processes included) is gated one last time.
    if (this.cfg.gate) this.lastGate = this.layers.gateAll(null, false);
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
    const env = commandEnv(this.cfg, 'dumb');
    const setenv = Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]);
    return { ...bwrapCommand({ ...this.cfg, gate: false }, setenv, ['/bin/bash', '-c', this.cfg.prefix + command]), env: {} };
  }

  /**
   * Something outside the jail (the fs tools) changed the workspace: the next command gets a fresh
   * overlay mount, so what the agent wrote with `write`/`edit` is what its shell sees (layers.ts).
   */
  markWorkspaceChanged(): void {
    this.layers.markWorkspaceChanged();
  }

  // ---------------------------------------------------------------------------------------------

  /** Launches an instance and, with the gate, mounts its first overlay layer (fail closed). */
  private async launch(): Promise<Instance> {
    const inst = await Instance.launch(launchSpec(this.cfg));
    if (!this.cfg.gate) return inst;
    try {
      await this.layers.mountFirst(inst);
      return inst;
    } catch (e) {
      await inst.kill();
      throw e instanceof JailError ? e : new JailError(`cannot start the shell jail's change gate: ${(e as Error).message}`);
    }
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

  /**
   * Denied files or folders that appeared since the last command (the person's, or the gate's applying
   * the jail's own) get masks before the next command runs: with the gate, through a fresh overlay layer
   * (mounted with every mask); on a read-only workspace, mounted directly.
   */
  private updateMasks(inst: Instance): void {
    if (!this.maskIndex?.update()) return;
    const before = new Set(this.cfg.masks);
    this.cfg.masks = [...new Set([...this.literalMasks, ...this.maskIndex.list()])];
    if (this.cfg.gate) this.layers.markWorkspaceChanged();
    else if (inst.alive) {
      const added = this.cfg.masks.filter((m) => !before.has(m)).map((m) => join(this.cfg.workspace, m));
      mountMasks(inst.root, this.cfg.workspace, added, this.cfg.hostIds !== null);
    }
  }

  private async runNow(command: string, o: RunOpts): Promise<ShellResult> {
    const t0 = performance.now();
    if (o.signal?.aborted) throw abortError(o.signal);
    const notes: string[] = [];
    const collector = new OutputCollector(o.maxOutputBytes);
    let inst = await this.ensureInstance(notes);
    this.updateMasks(inst);
    const before = await this.layers.refresh(inst);
    if (before?.refusals.length) notes.push(`[icode: before this command, the change gate refused: ${before.refusals.map((r) => `${r.path} (${r.reason})`).join('; ')}]`);
    for (let attempt = 0; ; attempt++) {
      const spec = { id: this.nextId++, args: ['-c', this.cfg.prefix + RUN_PREAMBLE + command], env: commandEnv(this.cfg, 'dumb'), cwd: this.cfg.workspace, maxProcs: maxProcs(this.cfg) };
      const r = await runAttempt(inst, spec, o, collector);
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
        return shellResult(collector, notes.concat(`icode: cannot start the command in the jail: ${out.kind === 'full' ? 'process limit reached' : out.message}`), 126, null, false, t0);
      }
      if (r.aborted && o.signal) throw abortError(o.signal);
      if (out.kind === 'died') {
        notes.push('[icode: the jail ended while the command ran; it will be restarted for the next command]');
        const gated = this.cfg.gate ? this.layers.gateAll(null, false) : undefined;
        if (gated && before?.changes.length) gated.changes.unshift(...before.changes);
        return shellResult(collector, notes, null, r.killed ? 'SIGKILL' : null, r.timedOut, t0, o.timeoutMs, gated);
      }
      if (r.flooded) notes.push(`[icode: the command was killed after ${collector.totalBytes} bytes of output]`);
      const max = maxProcs(this.cfg);
      if (max > 0 && out.procs >= max && !r.killed) {
        // The command left a runaway behind: take back what it started (it ran alone: runs are serialised).
        const ok = await killUntilGone(inst.killScope({ sinceTick: r.sinceTick, session: r.pid ?? undefined }));
        if (!ok) await inst.kill();
        notes.push(`[icode: the command left ${out.procs} processes running (limit ${this.cfg.limits.processes}); the processes it started were killed]`);
      }
      const signal = out.signal ? signalName(out.signal) : null;
      const gated = await this.layers.gateNow(inst);
      // What was applied before the command (a background process's writes) changed the workspace during this call too.
      if (before?.changes.length) gated.changes.unshift(...before.changes);
      return shellResult(collector, notes, signal ? null : out.code, signal, r.timedOut, t0, o.timeoutMs, gated);
    }
  }
}
