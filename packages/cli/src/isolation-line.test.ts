import { describe, expect, it } from 'vitest';
import { isolationLine } from './isolation-line.ts';

describe('the isolation line of px-plugin status', () => {
  it('names the sandbox, uid, seccomp, cgroup and disk mechanism an instance got', () => {
    expect(
      isolationLine({
        level: 'bubblewrap',
        weak: false,
        uid: 59500,
        seccomp: true,
        cgroup: { version: 1 },
        disk: { mechanism: 'ext4-loop' },
      }),
    ).toBe('bubblewrap, uid 59500, seccomp, cgroup v1, disk ext4-loop');
  });

  it('says WEAK first when the instance runs without the OS sandbox', () => {
    expect(isolationLine({ level: 'node-permission', weak: true, uid: 1000 })).toBe(
      'WEAK isolation (node-permission, no OS sandbox), uid 1000',
    );
  });
});
