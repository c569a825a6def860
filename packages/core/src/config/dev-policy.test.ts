import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDevPolicyFile, resolveDevPolicy, tenantMatches, unsignedAllowed } from './dev-policy.ts';

const shipped = join(import.meta.dirname, '../../../../config/plugins/dev_policy.yaml');
const dataDir = '/srv/px-data';

function problem(yaml: string): string {
  try {
    parseDevPolicyFile(yaml, 'dev_policy.yaml', dataDir);
  } catch (error) {
    expect((error as { code: string }).code).toBe('DEV_POLICY_INVALID');
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

describe('the dev policy file', () => {
  it('the shipped file is valid and says what the defaults are', () => {
    const file = parseDevPolicyFile(readFileSync(shipped, 'utf8'), shipped, dataDir);
    const policy = resolveDevPolicy(file, shipped, { env: {} });
    expect(policy).toMatchObject({
      devMode: false,
      access: { permission: 'plugin:dev', roles: ['owner', 'developer'], tenants: ['*'] },
      roots: [],
      unsignedDevBuilds: { default: true },
      sessions: { maxPerUser: 10, idleTimeoutSeconds: 30 },
      retention: { logDays: 7, devAuditDays: 7 },
      overrides: [],
    });
  });

  it('an empty file means every default', () => {
    expect(resolveDevPolicy(parseDevPolicyFile('', 'x', dataDir), 'x', { env: {} }).sessions.maxPerUser).toBe(
      10,
    );
  });

  it('names the bad field', () => {
    expect(problem('sessions:\n  maxPerUser: 0\n')).toMatch(/sessions\.maxPerUser/);
    expect(problem('retention:\n  logDays: -1\n')).toMatch(/retention\.logDays/);
    expect(problem('devMode: yes please\n')).toMatch(/devMode/);
    expect(problem('sesions: {}\n')).toMatch(/sesions/);
    expect(problem('access:\n  tenants: ["Bad Tenant"]\n')).toMatch(/access\.tenants\.0/);
    expect(problem('roots: [relative/path]\n')).toMatch(/roots\.0: must be an absolute path/);
    expect(problem('devMode: [\n')).toMatch(/not valid YAML/);
  });

  it("refuses a root inside core's data folder", () => {
    expect(problem(`roots: [/home/dev, ${dataDir}/tenants]\n`)).toMatch(
      /roots\.1: .*inside core's data folder/,
    );
  });

  it('environment variables and start options override single fields and are listed as such', () => {
    const file = parseDevPolicyFile(
      'devMode: false\nroots: [~/plugins]\nretention: {logDays: 3}\n',
      'f',
      dataDir,
    );
    const plain = resolveDevPolicy(file, 'f', { env: {} });
    expect(plain.roots).toEqual([join(homedir(), 'plugins')]);
    expect(plain.retention).toEqual({ logDays: 3, devAuditDays: 7 });
    const env = { devMode: true, roots: ['/a', '/b'], sessionTtlMs: 1500 };
    const over = resolveDevPolicy(file, 'f', { env, retentionDays: 2 });
    expect(over).toMatchObject({
      devMode: true,
      roots: ['/a', '/b'],
      sessions: { idleTimeoutSeconds: 1.5 },
      retention: { logDays: 2, devAuditDays: 2 },
    });
    expect(over.overrides.map((o) => `${o.field}<-${o.source}`)).toEqual([
      'devMode<-PX_PLUGIN_DEV_MODE',
      'roots<-PX_DEV_ROOTS',
      'sessions.idleTimeoutSeconds<-PX_DEV_SESSION_TTL_MS',
      'retention.logDays<-retentionDays option',
      'retention.devAuditDays<-retentionDays option',
    ]);
    expect(resolveDevPolicy(file, 'f', { env, devMode: false }).devMode).toBe(false);
  });

  it('matches tenants by id, prefix or star, and unsigned builds per tenant', () => {
    expect(tenantMatches('sandbox-a', ['sandbox-*'])).toBe(true);
    expect(tenantMatches('team-a', ['sandbox-*', 'team-b'])).toBe(false);
    expect(tenantMatches('anything', ['*'])).toBe(true);
    const policy = resolveDevPolicy(
      parseDevPolicyFile('unsignedDevBuilds: {default: false, tenants: {sandbox-dev: true}}\n', 'f', dataDir),
      'f',
      { env: {} },
    );
    expect(unsignedAllowed(policy, 'sandbox-dev')).toBe(true);
    expect(unsignedAllowed(policy, 'release-check')).toBe(false);
  });

  it('PX_DEV_ROOTS gets the checks of the file: absolute, never inside the data folder', async () => {
    const { DevPolicyStore } = await import('./dev-policy.ts');
    for (const [roots, says] of [
      [['relative/dir'], /PX_DEV_ROOTS is invalid: each root must be an absolute path/],
      [['/home/dev', `${dataDir}/tenants`], /PX_DEV_ROOTS is invalid: lies inside core's data folder/],
    ] as const)
      await expect(DevPolicyStore.load(shipped, dataDir, { env: { roots } })).rejects.toThrow(says);
  });
});
