/**
 * The overlay layers of a gated jail (README "The change gate"): the live upper layer every command
 * writes into, older detached layers a background process may still write into, and the gate runs over
 * them with the jail frozen. A layer is deleted only once no process of the jail holds anything on it.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freezeJail, thawJail } from './freeze.js';
import { Gate, GateState, type GateResult, type LayerScan } from './gate.js';
import type { Instance } from './instance.js';
import { mountLayer } from './overlay.js';
import { descendants, pidNamespace } from './procs.js';
import type { Config } from './runtime.js';
import { GATE_PROTECTED } from './types.js';

/** One overlay upper layer of the jail (`<runtime>/layers/<name>`). */
interface Layer {
  name: string;
  scan: LayerScan;
  /** st_dev of its overlay mount (to tell whether a process still uses it once detached). */
  dev: number;
  /** Host pid of the jail's pid 1 it was mounted in. */
  root: number;
}


export class Layers {
  private readonly gate: Gate;
  private readonly state = new GateState();
  /** The layer mounted now, and older ones a background process may still write into. */
  private layer: Layer | null = null;
  private oldLayers: Layer[] = [];
  private lowerChanged = false;

  constructor(private readonly cfg: Config) {
    this.gate = new Gate(cfg.workspace, { controlPaths: cfg.controlPaths, protectedGlobs: [...cfg.protectedPaths.flatMap((p) => [p, `${p}/**`]), ...GATE_PROTECTED] }, this.state);
  }

  /** A fresh instance's first layer (the previous instance's live layer becomes an old one). */
  async mountFirst(inst: Instance): Promise<void> {
    if (this.layer) this.oldLayers.push(this.layer);
    this.layer = null;
    const frozen = await freezeJail(inst.root, inst.pidNs!);
    try {
      this.layer = this.mountNew(inst, true);
    } finally {
      thawJail(frozen);
    }
  }

  private mountNew(inst: Instance, first: boolean): Layer {
    const name = `l-${randomBytes(8).toString('hex')}`;
    const dir = join(this.cfg.runtime, 'layers', name);
    mkdirSync(dir, { mode: 0o700 });
    mkdirSync(join(dir, 'upper'), { mode: 0o755 });
    if (this.cfg.hostIds) {
      // The upper folder is the merged workspace root: the jail's user owns it, as it owns the idmapped lower one.
      chownSync(join(dir, 'upper'), this.cfg.hostIds.uid, this.cfg.hostIds.gid);
      chmodSync(join(dir, 'upper'), statSync(this.cfg.workspace).mode & 0o7777);
    }
    mkdirSync(join(dir, 'work'), { mode: 0o700 });
    const abs = (l: string[]) => l.map((m) => join(this.cfg.workspace, m));
    // Read-only inside the jail as well as refused by the gate: a write fails at once instead of vanishing.
    // A repository the session made stays writable (`git remote add` after `git init`): the gate checks
    // its config against the allowlist and refuses its hooks, whatever the jail writes there.
    const made = [...this.state.createdRepos];
    const guarded = [...this.cfg.protectedPaths.filter((g) => !made.some((r) => g === r || g.startsWith(`${r}/`))), ...this.cfg.controlPaths];
    // Their parent folders are pinned (bound onto themselves): `mv .git x` cannot move them away.
    const pins = new Set<string>();
    for (const g of guarded) g.split('/').slice(0, -1).forEach((_, i, a) => pins.add(a.slice(0, i + 1).join('/')));
    const sorted = [...pins].sort((a, b) => a.split('/').length - b.split('/').length);
    mountLayer(inst.root, this.cfg.workspace, name, { pins: abs(sorted), masks: abs(this.cfg.masks), readOnly: abs(guarded) }, first, this.cfg.hostIds !== null);
    const merged = `/proc/${inst.root}/root${this.cfg.workspace}`;
    return { name, dev: statSync(merged).dev, root: inst.root, scan: { upper: join(dir, 'upper'), merged, seen: new Map() } };
  }

  /**
   * The change gate, with the jail frozen: reads every layer, applies what is allowed, and when the live
   * layer holds anything, mounts a fresh one (the old one is detached; processes that still use it keep
   * writing into it, and it is read at every gate until none does).
   */
  async gateNow(inst: Instance): Promise<GateResult> {
    if (!this.cfg.gate || !inst.alive || !inst.pidNs) return { changes: [], refusals: [] };
    const frozen = await freezeJail(inst.root, inst.pidNs);
    try {
      return this.gateAll(inst, true);
    } finally {
      thawJail(frozen);
    }
  }

  /** Gates every layer; `inst` (frozen, alive) gets a fresh layer when the live one was used. */
  gateAll(inst: Instance | null, remount: boolean): GateResult {
    const all: GateResult = { changes: [], refusals: [] };
    const add = (r: GateResult) => {
      all.changes.push(...r.changes);
      all.refusals.push(...r.refusals);
    };
    const live = this.layer;
    for (const l of this.oldLayers) add(this.gate.apply({ ...l.scan, merged: null }));
    if (live) {
      const alive = inst !== null && inst.alive && live.root === inst.root;
      add(this.gate.apply({ ...live.scan, merged: alive ? live.scan.merged : null }));
      if (!alive) {
        this.oldLayers.push(live);
        this.layer = null;
      } else if (remount && readdirSync(live.scan.upper).length > 0) {
        this.layer = this.mountNew(inst, false);
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

  /**
   * Something outside the jail (the fs tools) changed the workspace. An overlay does not refresh its
   * cached view of the lower layer (a file replaced by rename keeps showing its old inode), so the next
   * command gets a fresh overlay mount: what the agent wrote with `write`/`edit` is what its shell sees.
   */
  markWorkspaceChanged(): void {
    this.lowerChanged = true;
  }

  /** Gates what is pending and mounts a fresh layer, with the jail frozen (see markWorkspaceChanged). */
  async refresh(inst: Instance): Promise<GateResult | undefined> {
    if (!this.cfg.gate || !this.lowerChanged || !inst.alive || !inst.pidNs) return undefined;
    this.lowerChanged = false;
    const frozen = await freezeJail(inst.root, inst.pidNs);
    try {
      const gated = this.gateAll(inst, true);
      const live = this.layer;
      // gateAll remounts only a used layer; an unused one is replaced too, for its fresh view.
      if (live && live.root === inst.root && readdirSync(live.scan.upper).length === 0) {
        this.layer = this.mountNew(inst, false);
        this.oldLayers.push(live);
      }
      return gated;
    } finally {
      thawJail(frozen);
    }
  }
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
