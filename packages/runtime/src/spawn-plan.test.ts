import { describe, expect, it } from 'vitest';
import { normalizeManifest } from '@powerx/protocol';
import type { StartSpec } from './contract.ts';
import { buildSpawnPlan, FORBIDDEN_NODE_FLAGS, heapLimitMb } from './spawn-plan.ts';

const spec = (kind: 'node' | 'process', entry = 'dist/server.js'): StartSpec => ({
  tenant: 't',
  pluginId: 'com.example.plugin.x',
  version: '1.0.0',
  versionDir: '/srv/px/versions/x/1.0.0',
  dataDir: '/srv/px/data/t/x',
  manifest: normalizeManifest({
    id: 'com.example.plugin.x',
    name: 'X',
    version: '1.0.0',
    powerx: '>=1.0.0',
    runtime: { kind, entry },
    resources: { memoryMb: 128 },
  }),
  config: { A: 1 },
  secrets: { S: 'secret-value' },
  logLevel: 'info',
});
const fullHost = { prlimit: '/usr/bin/prlimit', unshare: '/usr/bin/unshare', pidNamespace: false, notes: [] };
const bareHost = {
  prlimit: undefined,
  unshare: undefined,
  pidNamespace: false,
  notes: ['prlimit unavailable', 'no netns'],
};

describe('the spawn plan of a node plugin', () => {
  const plan = buildSpawnPlan({
    spec: spec('node'),
    nodePath: '/opt/node',
    runnerPath: '/run/runner/runner-abc.mjs',
    host: fullHost,
  });

  it('turns the permission model on and never grants network, child processes, workers, addons, inspector or WASI', () => {
    expect(plan.args).toContain('--permission');
    for (const flag of FORBIDDEN_NODE_FLAGS) expect(plan.args.some((a) => a.startsWith(flag))).toBe(false);
  });

  it('grants reads of the runner, the version folder and the data folder, and writes of the data folder only', () => {
    expect(plan.args.filter((a) => a.startsWith('--allow-fs-read=')).sort()).toEqual(
      [
        '--allow-fs-read=/run/runner/runner-abc.mjs',
        '--allow-fs-read=/srv/px/data/t/x',
        '--allow-fs-read=/srv/px/versions/x/1.0.0',
      ].sort(),
    );
    expect(plan.args.filter((a) => a.startsWith('--allow-fs-write='))).toEqual([
      '--allow-fs-write=/srv/px/data/t/x',
    ]);
  });

  it('limits the heap from resources.memoryMb and wraps the process in unshare and prlimit', () => {
    expect(plan.args).toContain(`--max-old-space-size=${heapLimitMb(128)}`);
    expect(plan.command).toBe('/usr/bin/unshare');
    expect(plan.args.slice(0, 2)).toEqual(['-rn', '/usr/bin/prlimit']);
    expect(plan.args.some((a) => a.startsWith('--as='))).toBe(true);
    expect(plan.args.some((a) => a.startsWith('--cpu='))).toBe(true);
    expect(plan.args).toContain('--nofile=256');
    // diskMb of the manifest caps every single file (per-file backstop of the sampled disk quota).
    expect(plan.args.some((a) => /^--fsize=\d+$/.test(a))).toBe(true);
    expect(plan.isolation).toEqual({
      level: 'node-permission',
      permissionModel: true,
      networkNamespace: true,
      pidNamespace: false,
      prlimit: true,
      notes: [],
    });
  });

  it('builds the environment from nothing: no host variables, no config, no secrets', () => {
    expect(plan.env).toEqual({ LANG: 'C.UTF-8', TZ: 'UTC', PX_INSTANCE: '1' });
    expect(JSON.stringify(plan)).not.toContain('secret-value');
  });

  it('reports honestly what a bare host could not give', () => {
    const bare = buildSpawnPlan({
      spec: spec('node'),
      nodePath: '/opt/node',
      runnerPath: '/r.mjs',
      host: bareHost,
    });
    expect(bare.command).toBe('/opt/node');
    expect(bare.isolation).toMatchObject({
      level: 'node-permission',
      networkNamespace: false,
      prlimit: false,
    });
    expect(bare.isolation.notes).toHaveLength(2);
  });

  it('refuses an entry that escapes the version folder', () => {
    expect(() =>
      buildSpawnPlan({
        spec: spec('node', '../../etc/x.js'),
        nodePath: '/n',
        runnerPath: '/r',
        host: bareHost,
      }),
    ).toThrow(/escapes/);
  });
});

describe('the spawn plan of a process plugin', () => {
  it('runs the executable with its socket and config file named in the environment, and reports netns isolation', () => {
    const plan = buildSpawnPlan({
      spec: spec('process', 'bin/server'),
      nodePath: '/n',
      runnerPath: '',
      host: fullHost,
      socketPath: '/run/s/i1.sock',
      configFile: '/run/i/i1/config.json',
    });
    expect(plan.args).toContain('/srv/px/versions/x/1.0.0/bin/server');
    expect(plan.args).not.toContain('--permission');
    expect(plan.env).toMatchObject({ PX_SOCKET: '/run/s/i1.sock', PX_CONFIG_FILE: '/run/i/i1/config.json' });
    expect(plan.isolation).toMatchObject({ level: 'netns', permissionModel: false, networkNamespace: true });
  });
});
