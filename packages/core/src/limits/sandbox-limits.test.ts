import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { SandboxLimits } from './sandbox-limits.ts';

const good = `defaults: { maxPlugins: 2, maxMemoryMb: 256, maxDiskMb: 100, maxCpuPercent: 100, maxPackageMb: 1, installsPerMinute: 5 }
tenants:
  big: { maxPackageMb: 20 }
`;

describe('sandbox limits', () => {
  it('applies tenant overrides on top of the defaults', () => {
    const limits = SandboxLimits.parse(good, 'test');
    expect(limits.forTenant('x').maxPackageMb).toBe(1);
    expect(limits.forTenant('big').maxPackageMb).toBe(20);
    expect(limits.forTenant('big').maxPlugins).toBe(2);
    expect(limits.maxPackageBytesAnyTenant()).toBe(20 * 1024 * 1024);
  });

  it('names the field of a negative quota', () => {
    expect(() => SandboxLimits.parse(good.replace('maxPlugins: 2', 'maxPlugins: -1'), 'test')).toThrow(
      /defaults\.maxPlugins/,
    );
  });

  it('names an unknown field', () => {
    expect(() => SandboxLimits.parse(good.replace('maxPackageMb: 20', 'maxPackagMb: 20'), 'test')).toThrow(
      /LIMITS_CONFIG_INVALID|maxPackagMb|additional/,
    );
  });

  it('refuses a file that is not YAML', () => {
    expect(() => SandboxLimits.parse('defaults: [', 'test')).toThrow(/not valid YAML/);
  });

  it('accepts the shipped file', async () => {
    const text = await readFile(
      new URL('../../../../config/plugins/sandbox_limits.yaml', import.meta.url),
      'utf8',
    );
    expect(SandboxLimits.parse(text, 'shipped').forTenant('sandbox-dev').maxPlugins).toBeGreaterThan(0);
  });
});
