/**
 * The jail's workspace is an overlay: the real workspace is its read-only lower layer and every write a
 * command makes lands in an upper directory on the host (`<runtime>/layers/<name>/upper`), which the
 * change gate (gate.ts) inspects and applies. bubblewrap 0.8 cannot mount an overlay, so icode mounts it
 * itself in the jail's mount namespace with a tiny perl program (perl can call setns/mount directly; a
 * separate `mount` binary would lose its capabilities at exec): it enters the jail's mount namespace
 * (and, unless icode runs as root, the jail's user namespace first), mounts the overlay on the workspace path, binds empty read-only objects over masked paths,
 * and covers the layer directories (`/run/icode/hidden`) with an empty, read-only, mode-000 tmpfs so no
 * jailed process can reach the lower layer (and the masked files through it) or the upper directories.
 * Every mount happens while the jail's processes are frozen.
 */
import { spawnSync } from 'node:child_process';
import { arch } from 'node:process';
import { untrustedReason } from './trusted.js';
import { JailError } from './types.js';

export const PERL = '/usr/bin/perl';
/** Inside the jail: the lower layer and the layer directories, covered once the overlay is mounted. */
export const HIDDEN = '/run/icode/hidden';
export const EMPTY_DIR = '/run/icode/empty';
export const EMPTY_FILE = '/run/icode/empty-file';

/** setns, mount, umount2 syscall numbers. */
const SYSCALLS: Record<string, [number, number, number]> = { x64: [308, 165, 166], arm64: [268, 40, 39] };

const SCRIPT = String.raw`
use strict;
my ($setns, $mount, $umount, $pid, $ws, $layer, $first, $enter, @masks) = @ARGV;
sub die1 { print STDERR "$_[0]: $!\n"; exit 1 }
open(my $m, '<', "/proc/$pid/ns/mnt") or die1 "open mount ns";
if ($enter eq '1') {
  # The user namespace that owns the mount namespace (bwrap's --disable-userns nests another one below it).
  my $ufd = ioctl($m, 0xb701, 0) or die1 "NS_GET_USERNS";
  syscall($setns, int($ufd), 0x10000000) == 0 or die1 "setns user";
}
syscall($setns, fileno($m), 0x00020000) == 0 or die1 "setns mnt";
chdir('/') or die1 "chdir";
my $H = '${HIDDEN}';
my $dot = '/';
my $only = $layer eq '-';
if ($first ne '1' && !$only) {
  my $h = $H;
  syscall($umount, $h, 2) == 0 or die1 "uncover";
  syscall($umount, $ws, 2) == 0 or die1 "detach the previous overlay";
}
my $o = "lowerdir=$H/lower,upperdir=$H/layers/$layer/upper,workdir=$H/layers/$layer/work,userxattr";
my ($ovl, $tmpfs, $none) = ("overlay", "tmpfs", "none");
# nosuid, nodev: nothing in the layers elevates or opens a device, whoever made it.
$only or syscall($mount, $ovl, $ws, $ovl, 2|4, $o) == 0 or die1 "mount overlay";
for my $arg (@masks) {
  my ($kind, $p) = split(/:/, $arg, 2);
  next if -l $p || !-e $p;
  # m: an empty read-only object over it; r: itself, read-only; p: itself (a mount point cannot be renamed).
  my $src = $kind eq 'm' ? (-d $p ? '${EMPTY_DIR}' : '${EMPTY_FILE}') : $p;
  my $t = $p;
  syscall($mount, $src, $t, 0, 4096, 0) == 0 or die1 "mask $p";
  next if $kind eq 'p';
  syscall($mount, $src, $t, 0, 4096|32|1|2|4|8, 0) == 0 or die1 "mask $p read-only";
}
my $copt = "size=4k,mode=000";
$only or syscall($mount, $none, $H, $tmpfs, 1|2|4|8, $copt) == 0 or die1 "cover";
`;

function numbers(): [number, number, number] {
  const n = SYSCALLS[arch];
  if (!n) throw new JailError(`the change gate's overlay is not supported on ${arch}`);
  return n;
}

/**
 * Mounts layer `layer` (a directory name under the runtime's layers/, holding upper/ and work/) on the
 * workspace path of the jail whose pid-1 host pid is `pid`, binding `readOnly` onto themselves read-only
 * and masking `masks` (absolute jail paths; links and missing paths skipped: the gate refuses changes there).
 * `first`: the initial mount (nothing to detach or uncover yet). `fromHost`: icode is root and mounts
 * from the initial user namespace (the jail's maps to an unprivileged uid; copy-up then runs with root's
 * credentials, userns.ts); otherwise it enters the jail's user namespace first. Throws JailError when it cannot.
 */
export function mountLayer(
  pid: number,
  workspace: string,
  layer: string,
  mounts: { pins: readonly string[]; masks: readonly string[]; readOnly: readonly string[] },
  first: boolean,
  fromHost = false,
): void {
  const masks = [...mounts.pins.map((p) => `p:${p}`), ...mounts.readOnly.map((p) => `r:${p}`), ...mounts.masks.map((p) => `m:${p}`)];
  const bad = untrustedReason(PERL);
  if (bad) throw new JailError(`cannot mount the jail's overlay: ${bad}`, 'install perl-base');
  const [setns, mount, umount] = numbers();
  const r = spawnSync(PERL, ['-e', SCRIPT, String(setns), String(mount), String(umount), String(pid), workspace, layer, first ? '1' : '0', fromHost ? '0' : '1', ...masks], {
    env: { PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    const why = (r.stderr || String(r.error ?? `exit ${r.status ?? r.signal}`)).trim();
    throw new JailError(
      `cannot mount the change gate's overlay in the jail (${why})`,
      'icode needs overlayfs inside a user namespace (Linux ≥ 5.11 with CONFIG_OVERLAY_FS); the jail refuses to run commands without it',
    );
  }
}

/** Masks `paths` (absolute jail paths) in a running jail without an overlay (a read-only workspace). */
export function mountMasks(pid: number, workspace: string, paths: readonly string[], fromHost: boolean): void {
  if (paths.length) mountLayer(pid, workspace, '-', { pins: [], masks: paths, readOnly: [] }, false, fromHost);
}

/** Overlay options are comma-separated, and colons separate lower layers: such a workspace path cannot be used. */
export function overlayPathProblem(p: string): string | null {
  return /[,:\\]/.test(p) ? `the path ${p} contains a comma, colon or backslash, which overlayfs options cannot carry` : null;
}
