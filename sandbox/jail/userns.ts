/**
 * Class 2 of issue 17: when icode runs as root, the jail must not run as host root. Jailed processes are
 * uid 1000 inside their user namespace; here that namespace is made by icode, mapped to a dedicated
 * unprivileged host uid/gid (JAIL_HOST_ID), and handed to bwrap (`--userns FD`), instead of bwrap's own
 * `--unshare-user`, which can only map the caller's uid (root).
 *
 * The workspace's files are owned by root (or whoever), which uid JAIL_HOST_ID could not write: the
 * workspace reaches the jail through an **idmapped mount** whose mapping shows the workspace owner's
 * files as owned by JAIL_HOST_ID (and JAIL_HOST_ID's as the owner's; every other uid as itself), so the
 * jail's user owns them there, as it did when it was mapped to the caller. The overlay of the change gate
 * is mounted over it by host root from the initial user namespace (overlay.ts), so copy-up runs with the
 * mounter's full credentials whatever a file's owner. Nothing jailed ever runs as host root.
 *
 * A small perl launcher (perl can call unshare/open_tree/mount_setattr/move_mount by number, as the
 * overlay helper does for setns/mount) does it before it execs bwrap, as host root: in a private mount
 * namespace of its own (nothing appears on the host), each idmapped bind is cloned from its source
 * (`open_tree(OPEN_TREE_CLONE)`), given the idmap (`mount_setattr(MOUNT_ATTR_IDMAP)`, plus read-only,
 * nosuid, nodev) and attached at a folder of the runtime directory that bwrap then binds; then the jail's
 * user namespace is made (`1000 → JAIL_HOST_ID`, setgroups denied, no nested user namespaces:
 * max_user_namespaces 0 inside it, which bwrap checks with `--assert-userns-disabled`) and its fd passed
 * to bwrap, which the launcher runs as that uid (owner of the namespace, so bwrap may enter it; its
 * switch to uid 1000 inside changes no host credential, so --die-with-parent holds). bwrap sets up its
 * mounts as that uid: icode's own files (node, node-pty, the supervisor) are idmapped binds too, and the
 * runtime folder is traversable (0711), so a 0700 /root on their way does not matter.
 */
import { statSync } from 'node:fs';
import { arch } from 'node:process';
import { PERL } from './overlay.js';
import { BWRAP, untrustedReason } from './trusted.js';
import { JailError } from './types.js';

/** The host uid and gid of every jailed process when icode runs as root: unprivileged, owning nothing. */
export const JAIL_HOST_ID = 2_000_000_000;
/** Replaced in bwrap's arguments by the fd of the user namespace the launcher made. */
export const USERNS_FD = '@ICODE_USERNS_FD@';

export interface HostIds {
  uid: number;
  gid: number;
}

/** The host ids the jail maps to: JAIL_HOST_ID as root, null (the caller's own, bwrap's default) otherwise. */
export function jailHostIds(isRoot: boolean): HostIds | null {
  return isRoot ? { uid: JAIL_HOST_ID, gid: JAIL_HOST_ID } : null;
}

export interface IdmappedBind {
  /** Host path whose mount is cloned. */
  source: string;
  /** Folder (in the runtime directory) it is attached at, in the launcher's private mount namespace. */
  target: string;
  readOnly: boolean;
}

/** unshare, mount, open_tree, mount_setattr, move_mount. */
const SYSCALLS: Record<string, [number, number, number, number, number]> = { x64: [272, 165, 428, 442, 429], arm64: [97, 40, 428, 442, 429] };

const LAUNCHER = String.raw`
use strict;
use Fcntl;
use POSIX ();
my ($unshare, $mount, $open_tree, $setattr, $move, $U, $G, $n) = splice(@ARGV, 0, 8);
my @binds = splice(@ARGV, 0, 5 * $n);
shift(@ARGV) eq '--' or die "usage\n";
sub die1 { print STDERR "icode jail launcher: $_[0]: $!\n"; exit 126 }
sub wr { my ($f, $s) = @_; open(my $h, '>', $f) or die1 "open $f"; syswrite($h, $s) // die1 "write $f"; close($h) or die1 "write $f" }
# A user namespace with these maps (held by a child until its fd is open); nested: no user namespaces below it.
sub userns {
  my ($umap, $gmap, $closed) = @_;
  pipe(my $r1, my $w1) or die1 "pipe"; pipe(my $r2, my $w2) or die1 "pipe";
  my $pid = fork() // die1 "fork";
  if ($pid == 0) {
    close $r1; close $w2;
    # The jail's namespace is owned by the unprivileged uid (bwrap, running as it, may enter it).
    if ($closed) { drop() }
    syscall($unshare, 0x10000000) == 0 or exit 1;
    syswrite($w1, "u"); close $w1;
    sysread($r2, my $b, 1) == 1 or exit 1;
    if ($closed) { open(my $h, '>', '/proc/sys/user/max_user_namespaces') or exit 2; syswrite($h, "0") or exit 2; close($h) or exit 2 }
    exit 0;
  }
  close $w1; close $r2;
  sysread($r1, my $b, 1) == 1 or die1 "new user namespace";
  wr("/proc/$pid/setgroups", "deny");
  wr("/proc/$pid/uid_map", $umap);
  wr("/proc/$pid/gid_map", $gmap);
  open(my $ns, '<', "/proc/$pid/ns/user") or die1 "open user namespace";
  syswrite($w2, "m"); close $w2;
  (waitpid($pid, 0) == $pid && $? == 0) or die1 "user namespace helper";
  return $ns;
}
# Become $U:$G with no supplementary groups, for good.
sub drop {
  $) = "$G $G"; $( = $G;
  POSIX::setgid($G) or die1 "setgid";
  POSIX::setuid($U) or die1 "setuid";
  ($< == $U && $> == $U && $( == $G) or die1 "drop privileges";
}
# Files of uid $from appear as $to and the other way round; every other id as itself.
sub idmap {
  my ($from, $to) = @_;
  return "0 0 4294967295\n" if $from == $to;
  my ($lo, $hi) = $from < $to ? ($from, $to) : ($to, $from);
  my @l = ("$from $to 1", "$to $from 1");
  push @l, "0 0 $lo" if $lo > 0;
  push @l, ($lo + 1) . " " . ($lo + 1) . " " . ($hi - $lo - 1) if $hi - $lo - 1 > 0;
  push @l, ($hi + 1) . " " . ($hi + 1) . " " . (4294967295 - $hi - 1);
  return join("\n", @l) . "\n";
}
if ($n > 0) {
  syscall($unshare, 0x00020000) == 0 or die1 "unshare mount namespace";
  my ($none, $root) = ("none", "/");
  syscall($mount, $none, $root, 0, 0x4000 | 0x40000, 0) == 0 or die1 "make mounts private";
  while (my ($src, $dst, $ouid, $ogid, $ro) = splice(@binds, 0, 5)) {
    my $ns = userns(idmap($ouid, $U), idmap($ogid, $G), 0);
    my $t = syscall($open_tree, -100, $src, 1 | 0x80000);
    $t >= 0 or die1 "open_tree $src";
    # MOUNT_ATTR_IDMAP, nosuid, nodev, and read-only unless asked otherwise.
    my $attr = pack("QQQQ", 0x00100000 | 2 | 4 | ($ro ? 1 : 0), 0, 0, fileno($ns));
    my $e = "";
    syscall($setattr, $t, $e, 0x1000, $attr, 32) == 0 or die1 "idmapped mount of $src";
    my $e2 = "";
    syscall($move, $t, $e2, -100, $dst, 4) == 0 or die1 "attach $src";
    POSIX::close($t);
  }
}
my $jail = userns("1000 $U 1\n", "1000 $G 1\n", 1);
fcntl($jail, F_SETFD, 0) or die1 "fcntl";
# bwrap runs as the unprivileged uid from the start: its uid switch inside the namespace then changes no
# host credential, so the kernel keeps its parent-death signal (--die-with-parent) for the jail's pid 1.
drop();
my $fd = fileno($jail);
exec { $ARGV[0] } map { $_ eq '${USERNS_FD}' ? $fd : $_ } @ARGV or die1 "exec $ARGV[0]";
`;

/**
 * The command line that runs bwrap (`bwrapArgs`, holding USERNS_FD where `--userns` takes its fd) in a
 * user namespace mapped to `ids`, with `binds` idmapped so their owner's files are owned by `ids`.
 */
export function launcherCommand(ids: HostIds, binds: readonly IdmappedBind[], bwrapArgs: readonly string[]): { file: string; args: string[] } {
  const nrs = SYSCALLS[arch];
  if (!nrs) throw new JailError(`a jail that does not run as root is not supported on ${arch}`, 'run icode as a regular user');
  const bad = untrustedReason(PERL);
  if (bad) throw new JailError(`cannot start the jail as an unprivileged user: ${bad}`, 'install perl-base');
  const flat: string[] = [];
  for (const b of binds) {
    const st = statSync(b.source);
    flat.push(b.source, b.target, String(st.uid), String(st.gid), b.readOnly ? '1' : '0');
  }
  return { file: PERL, args: ['-e', LAUNCHER, ...nrs.map(String), String(ids.uid), String(ids.gid), String(binds.length), ...flat, '--', BWRAP, ...bwrapArgs] };
}
