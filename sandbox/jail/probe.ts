/**
 * probeJail(): can this host run a bubblewrap jail? Runs one trivial sandbox with the flags every jail
 * uses (cached for the process). Callers fail closed on { ok: false } and show `fix`.
 */
import { spawnSync } from 'node:child_process';
import { systemArgs } from './system.js';
import { BWRAP, untrustedReason } from './trusted.js';
import type { ProbeResult } from './types.js';

let cached: ProbeResult | undefined;

const FIX_USERNS = [
  'enable unprivileged user namespaces:',
  'Debian/Ubuntu: sudo sysctl -w kernel.unprivileged_userns_clone=1;',
  'Ubuntu ≥ 23.10 (AppArmor): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 or add an AppArmor profile allowing userns for /usr/bin/bwrap;',
  'any distribution: sudo sysctl -w user.max_user_namespaces=15000;',
  'in a container: allow unshare/clone of namespaces (e.g. docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined);',
  "or let the policy opt into the weaker mode explicitly (jail: none)",
].join(' ');

export function probeJail(): ProbeResult {
  if (cached) return cached;
  cached = runProbe();
  return cached;
}

/** For tests: forget the cached answer. */
export function resetProbeCache(): void {
  cached = undefined;
}

function runProbe(): ProbeResult {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `bubblewrap jails need Linux (this is ${process.platform})`, fix: 'run icode on Linux, or let the policy opt into the weaker mode explicitly (jail: none)' };
  }
  const bad = untrustedReason(BWRAP);
  if (bad) {
    return {
      ok: false,
      reason: `bubblewrap is not usable: ${bad}`,
      fix: `install bubblewrap from the distribution's packages (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap) so that ${BWRAP} is a root-owned file nobody else can write`,
    };
  }
  const args = ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv', ...systemArgs(false), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--remount-ro', '/', '--', '/bin/sh', '-c', 'exit 0'];
  const r = spawnSync(BWRAP, args, { encoding: 'utf8', timeout: 10_000, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, reason: `running ${BWRAP} failed: ${r.error.message}`, fix: FIX_USERNS };
  if (r.status === 0) return { ok: true };
  const err = (r.stderr || '').trim().split('\n').slice(-3).join(' ');
  if (/disable-userns|Unknown option/i.test(err)) {
    return { ok: false, reason: `bubblewrap is too old (${err})`, fix: 'install bubblewrap ≥ 0.8 (needed for --disable-userns)' };
  }
  return { ok: false, reason: `bubblewrap cannot create namespaces here: ${err || `exit ${r.status ?? r.signal}`}`, fix: FIX_USERNS };
}
