/**
 * A small seccomp filter (classic BPF, passed to `bwrap --seccomp FD`) for everything in the jail.
 * Namespaces and the absence of capabilities do the confining; this removes what they leave:
 * - keyctl/add_key/request_key: kernel keyrings are per host uid, so a jail running as the host user (or
 *   root) could read and plant keys in that user's keyrings;
 * - ioctl TIOCSTI and TIOCLINUX: terminal input injection (belt and braces to --new-session);
 * - perf_event_open, bpf, userfaultfd, io_uring_*: large kernel attack surface a shell does not need;
 * - every syscall of another ABI (i386, x32), which would bypass the numbers above.
 * Denied calls fail with EPERM (ENOSYS for other ABIs). Unknown architectures get no filter (null).
 */
import { arch } from 'node:process';

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

interface ArchTable {
  audit: number;
  ioctl: number;
  denied: number[];
  /** x86_64: syscall numbers with this bit are the x32 ABI. */
  x32Bit?: number;
}

const TABLES: Partial<Record<NodeJS.Architecture, ArchTable>> = {
  // keyctl, add_key, request_key, perf_event_open, bpf, userfaultfd, io_uring_setup/enter/register
  x64: { audit: 0xc000003e, ioctl: 16, denied: [250, 248, 249, 298, 321, 323, 425, 426, 427], x32Bit: 0x40000000 },
  arm64: { audit: 0xc00000b7, ioctl: 29, denied: [219, 217, 218, 241, 280, 282, 425, 426, 427] },
};

type Insn = [code: number, jt: number, jf: number, k: number];

/** The compiled filter for this machine, or null when its architecture is not covered. */
export function seccompProgram(): Buffer | null {
  const t = TABLES[arch];
  if (!t) return null;
  const prog: Insn[] = [];
  // Jump targets are filled in relative to the final three instructions: ALLOW, DENY, WRONG_ABI.
  const DENY = -1;
  const ALLOW = -2;
  const ABI = -3;
  const jumps: { at: number; jt: number; jf: number }[] = [];
  const emit = (code: number, jt: number, jf: number, k: number) => {
    prog.push([code, 0, 0, k]);
    if (jt < 0 || jf < 0) jumps.push({ at: prog.length - 1, jt, jf });
    else prog[prog.length - 1] = [code, jt, jf, k];
  };
  emit(LD_W_ABS, 0, 0, 4); // arch
  emit(JEQ_K, 0, ABI, t.audit);
  emit(LD_W_ABS, 0, 0, 0); // syscall number
  if (t.x32Bit !== undefined) emit(JGE_K, ABI, 0, t.x32Bit);
  for (const nr of t.denied) emit(JEQ_K, DENY, 0, nr);
  emit(JEQ_K, 0, ALLOW, t.ioctl);
  emit(LD_W_ABS, 0, 0, 24); // args[1] (the ioctl request), low 32 bits: the kernel truncates it to int
  emit(JEQ_K, DENY, 0, TIOCSTI);
  emit(JEQ_K, DENY, ALLOW, TIOCLINUX);
  const allowAt = prog.length;
  prog.push([RET_K, 0, 0, RET_ALLOW]);
  prog.push([RET_K, 0, 0, RET_ERRNO | EPERM]);
  prog.push([RET_K, 0, 0, RET_ERRNO | ENOSYS]);
  const target = (code: number) => (code === ALLOW ? allowAt : code === DENY ? allowAt + 1 : allowAt + 2);
  for (const j of jumps) {
    const [code, , , k] = prog[j.at]!;
    const rel = (v: number) => {
      if (v >= 0) return v;
      const off = target(v) - j.at - 1;
      if (off > 255) throw new Error('seccomp: jump too far');
      return off;
    };
    prog[j.at] = [code, rel(j.jt), rel(j.jf), k];
  }
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
