/**
 * The seccomp filter handed to bubblewrap (`--seccomp FD`): a classic BPF program that refuses, with
 * EPERM, the system calls no plugin needs and that widen a kernel attack surface (ptrace, mount,
 * bpf, keyctl, perf_event_open, userfaultfd, kexec, module loading, namespace changes…).
 *
 * Why hand-written: bwrap takes the compiled program, not rules. The usual builder is libseccomp,
 * which has no maintained Node binding, and the npm registry has no maintained seccomp compiler
 * (searched: nothing current). A deny-list filter is small and fixed: check the architecture (a
 * foreign ABI is killed), refuse the x32 ABI, compare the syscall number against the list. The
 * numbers are x86_64's (arch/x86/entry/syscalls/syscall_64.tbl); other architectures get no
 * filter and the isolation report says so.
 */

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

// BPF opcodes (linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
/** Offsets in struct seccomp_data. */
const NR = 0;
const ARCH = 4;

export const DENIED_SYSCALLS_X86_64: Record<string, number> = {
  ptrace: 101,
  syslog: 103,
  vhangup: 153,
  pivot_root: 155,
  adjtimex: 159,
  acct: 163,
  settimeofday: 164,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  sethostname: 170,
  setdomainname: 171,
  iopl: 172,
  ioperm: 173,
  init_module: 175,
  delete_module: 176,
  quotactl: 179,
  lookup_dcookie: 212,
  clock_settime: 227,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  perf_event_open: 298,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
};

function insn(code: number, jt: number, jf: number, k: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(code, 0);
  b.writeUInt8(jt, 2);
  b.writeUInt8(jf, 3);
  b.writeUInt32LE(k >>> 0, 4);
  return b;
}

/** The filter as bwrap reads it from the file descriptor: struct sock_filter[] in host byte order. */
export function seccompFilterX86_64(denied: number[] = Object.values(DENIED_SYSCALLS_X86_64)): Buffer {
  const n = denied.length;
  // Layout: [0] load arch, [1] arch ok?, [2] kill, [3] load nr, [4] x32?, [5..5+n) deny list,
  // [5+n] allow, [6+n] deny. Jump offsets count instructions after the jumping one.
  const denyAt = 6 + n;
  const program = [
    insn(LD_W_ABS, 0, 0, ARCH),
    insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
    insn(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
    insn(LD_W_ABS, 0, 0, NR),
    insn(JGE_K, denyAt - 5, 0, X32_SYSCALL_BIT),
    ...denied.map((nr, i) => insn(JEQ_K, denyAt - (5 + i) - 1, 0, nr)),
    insn(RET_K, 0, 0, SECCOMP_RET_ALLOW),
    insn(RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
  ];
  return Buffer.concat(program);
}
