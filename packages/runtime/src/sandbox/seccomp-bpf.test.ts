import { describe, expect, it } from 'vitest';
import { DENIED_SYSCALLS_X86_64, seccompFilterX86_64 } from './seccomp-bpf.ts';

/** A tiny interpreter of the instructions the filter uses, to check what it answers. */
function run(filter: Buffer, arch: number, nr: number): number {
  let acc = 0;
  for (let pc = 0; pc * 8 < filter.length;) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter.readUInt8(pc * 8 + 2);
    const jf = filter.readUInt8(pc * 8 + 3);
    const k = filter.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = k === 4 ? arch : nr;
    else if (code === 0x06) return k;
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x35) pc += acc >= k ? jt : jf;
    else throw new Error(`unknown opcode ${code}`);
    pc++;
  }
  throw new Error('fell off the end');
}

const X86_64 = 0xc000003e;

describe('the seccomp filter', () => {
  const filter = seccompFilterX86_64();

  it('refuses every listed system call with EPERM', () => {
    for (const [name, nr] of Object.entries(DENIED_SYSCALLS_X86_64))
      expect(run(filter, X86_64, nr), name).toBe(0x00050001);
  });

  it('allows the system calls a Node process needs', () => {
    // read, write, openat, mmap, clone, epoll_wait, futex, exit_group
    for (const nr of [0, 1, 257, 9, 56, 232, 202, 231]) expect(run(filter, X86_64, nr)).toBe(0x7fff0000);
  });

  it('refuses the x32 ABI and kills a process of another architecture', () => {
    expect(run(filter, X86_64, 0x40000000 + 101)).toBe(0x00050001);
    expect(run(filter, 0x40000003, 1)).toBe(0x80000000);
  });
});
