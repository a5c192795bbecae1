/**
 * What of the host system a jail sees, read-only: /usr and the top-level links or directories of a
 * merged or split /usr, and an allowlist of /etc entries a shell and common tools need. Secrets of
 * /etc (shadow, gshadow, sudoers, ssh host keys, ssl/private, machine credentials) are simply not in
 * it; /etc/passwd and /etc/group are synthetic (written per jail), so the host's account list is not
 * shown either.
 */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';

/** Top-level system directories; each is bound read-only, or recreated as the same symlink (merged /usr). */
const TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** /etc entries bound read-only when present (files or directories). Nothing secret. */
export const ETC_ALLOWLIST: readonly string[] = [
  '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d',
  '/etc/nsswitch.conf', '/etc/host.conf', '/etc/gai.conf', '/etc/protocols', '/etc/services',
  '/etc/localtime', '/etc/timezone', '/etc/locale.alias', '/etc/locale.conf', '/etc/default/locale',
  '/etc/alternatives', '/etc/os-release', '/etc/debian_version', '/etc/lsb-release', '/etc/issue',
  '/etc/ssl/certs', '/etc/ssl/openssl.cnf', '/etc/ca-certificates', '/etc/ca-certificates.conf',
  '/etc/pki/tls/certs', '/etc/pki/ca-trust/extracted', '/etc/crypto-policies/back-ends',
  '/etc/mime.types', '/etc/magic', '/etc/magic.mime', '/etc/terminfo', '/etc/inputrc',
  '/etc/gitconfig', '/etc/vim', '/etc/perl', '/etc/python3', '/etc/bash.bashrc', '/etc/profile',
  '/etc/manpath.config', '/etc/papersize', '/etc/ucf.conf',
];

/** Only with network access. */
export const ETC_NETWORK: readonly string[] = ['/etc/resolv.conf', '/etc/hosts'];

/** bwrap arguments for the read-only system part of the jail. */
export function systemArgs(network: boolean): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const top of TOP_LEVEL) {
    let st;
    try {
      st = lstatSync(top);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      const target = readlinkSync(top);
      // Only the usual merged-/usr links (usr/bin, /usr/lib64, …) are recreated; anything else is bound.
      if (/^\/?usr\/[A-Za-z0-9_]+$/.test(target)) {
        args.push('--symlink', target, top);
        continue;
      }
    }
    args.push('--ro-bind', top, top);
  }
  for (const p of network ? [...ETC_ALLOWLIST, ...ETC_NETWORK] : ETC_ALLOWLIST) {
    if (existsSync(p)) args.push('--ro-bind', p, p);
  }
  return args;
}
