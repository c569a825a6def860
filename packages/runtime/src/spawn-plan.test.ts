import { describe, expect, it } from 'vitest';
import { normalizeManifest } from '@powerx/protocol';
import type { StartSpec } from './contract.ts';
import { buildSpawnPlan, FORBIDDEN_NODE_FLAGS, heapLimitMb, type SpawnPlan } from './spawn-plan.ts';
import type { HostIsolation } from './sandbox/host-probe.ts';

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
    resources: { memoryMb: 128, diskMb: 64 },
  }),
  config: { A: 1 },
  secrets: { S: 'secret-value' },
  logLevel: 'info',
});
const sandbox = { uid: 59500, gid: 59501, allowWeakIsolation: false };
const rootHost: HostIsolation = {
  prlimit: '/usr/bin/prlimit',
  unshare: '/usr/bin/unshare',
  pidNamespace: true,
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  root: true,
  seccomp: true,
  notes: [],
};
const userHost: HostIsolation = { ...rootHost, root: false, setpriv: undefined };
const weakHost: HostIsolation = { ...rootHost, bwrap: undefined, pidNamespace: false, notes: ['no bwrap'] };

/** The values that follow a flag, for every occurrence. */
const after = (plan: SpawnPlan, flag: string, n = 1) =>
  plan.args.flatMap((a, i) => (a === flag ? [plan.args.slice(i + 1, i + 1 + n).join(' ')] : []));

describe('the spawn plan of a node plugin, core running as root', () => {
  const plan = buildSpawnPlan({
    spec: spec('node'),
    nodePath: '/opt/node',
    runnerPath: '/run/runner/runner-abc.cjs',
    host: rootHost,
    sandbox,
    libraries: ['/lib/x86_64-linux-gnu/libc.so.6'],
    cgroupDirs: ['/sys/fs/cgroup/memory/powerx/i1', '/sys/fs/cgroup/pids/powerx/i1'],
  });

  it('joins its cgroups first, then applies the rlimits, then starts bubblewrap', () => {
    expect(plan.command).toBe('/bin/sh');
    expect(plan.args.slice(2, 6)).toEqual([
      'px-cgroup',
      '2',
      '/sys/fs/cgroup/memory/powerx/i1',
      '/sys/fs/cgroup/pids/powerx/i1',
    ]);
    expect(plan.args[6]).toBe('/usr/bin/prlimit');
    expect(plan.args).toContain('--nofile=256');
    expect(plan.args).toContain(`--fsize=${64 * 2 ** 20}`);
    expect(plan.args[plan.args.indexOf('--', 6) + 1]).toBe('/usr/bin/bwrap');
  });

  it('builds the file system from nothing: runtime files read-only, /plugin read-only, /data writable, a capped /tmp', () => {
    expect(after(plan, '--tmpfs')).toEqual(['/', '/tmp']);
    expect(after(plan, '--ro-bind', 2)).toEqual([
      '/lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libc.so.6',
      '/opt/node /px/node',
      '/run/runner/runner-abc.cjs /px/runner.cjs',
      '/usr/bin/setpriv /usr/bin/setpriv',
      '/usr/bin/bwrap /usr/bin/bwrap',
      '/srv/px/versions/x/1.0.0 /plugin',
    ]);
    expect(after(plan, '--bind', 2)).toEqual(['/srv/px/data/t/x /data', '/ /']);
    expect(after(plan, '--size')).toEqual([String(16 * 2 ** 20)]);
    expect(after(plan, '--proc')).toEqual(['/proc']);
    expect(after(plan, '--dev')).toEqual(['/dev']);
    expect(plan.args.join(' ')).not.toMatch(/\/etc|\/srv\/px\/data\/t\/x\b(?! \/data)/);
  });

  it('leaves root for the sandbox uid between the outer and the inner bwrap, with no capabilities and no nested user namespaces', () => {
    const setpriv = plan.args.indexOf('/usr/bin/setpriv', plan.args.indexOf('--remount-ro'));
    expect(plan.args.slice(setpriv, setpriv + 8)).toEqual([
      '/usr/bin/setpriv',
      '--reuid=59500',
      '--regid=59501',
      '--clear-groups',
      '--no-new-privs',
      '--bounding-set=-all',
      '--inh-caps=-all',
      '--',
    ]);
    const inner = plan.args.slice(setpriv + 8);
    expect(inner.slice(0, 12)).toEqual([
      '/usr/bin/bwrap',
      '--unshare-user',
      '--disable-userns',
      '--uid',
      '1000',
      '--gid',
      '1000',
      '--cap-drop',
      'ALL',
      '--seccomp',
      '4',
      '--die-with-parent',
    ]);
    expect(plan.args).toEqual(
      expect.arrayContaining(['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts']),
    );
    expect(plan.args).toContain('--new-session');
    expect(plan.pidDepth).toBe(3);
    expect(plan.isolation).toMatchObject({
      level: 'bubblewrap',
      weak: false,
      uid: 59500,
      gid: 59501,
      seccomp: true,
    });
  });

  it('keeps the permission model as a second layer, with the paths inside the sandbox', () => {
    expect(plan.args).toContain('--permission');
    for (const flag of FORBIDDEN_NODE_FLAGS) expect(plan.args.some((a) => a.startsWith(flag))).toBe(false);
    expect(plan.args.filter((a) => a.startsWith('--allow-fs-')).sort()).toEqual([
      '--allow-fs-read=/data',
      '--allow-fs-read=/plugin',
      '--allow-fs-read=/px/runner.cjs',
      '--allow-fs-write=/data',
    ]);
    expect(plan.args).toContain(`--max-old-space-size=${heapLimitMb(128)}`);
    expect(plan.entry).toBe('/plugin/dist/server.js');
    expect(plan.dataDir).toBe('/data');
  });

  it('builds the environment from nothing: no host variables, no config, no secrets', () => {
    expect(after(plan, '--setenv', 2)).toEqual([
      'LANG C.UTF-8',
      'TZ UTC',
      'PX_INSTANCE 1',
      'NODE_CHANNEL_FD 3',
      'NODE_CHANNEL_SERIALIZATION_MODE json',
    ]);
    expect(plan.args).toContain('--clearenv');
    expect(JSON.stringify(plan)).not.toContain('secret-value');
  });

  it('refuses an entry that escapes the version folder', () => {
    expect(() =>
      buildSpawnPlan({
        spec: spec('node', '../../etc/x.js'),
        nodePath: '/n',
        runnerPath: '/r',
        host: rootHost,
        sandbox,
      }),
    ).toThrow(/escapes/);
  });
});

describe('the spawn plan as a normal user', () => {
  it('uses one bwrap with every namespace, mapping the user to an unprivileged id inside', () => {
    const plan = buildSpawnPlan({
      spec: spec('node'),
      nodePath: '/n',
      runnerPath: '/r',
      host: userHost,
      sandbox,
    });
    expect(plan.args).not.toContain('/usr/bin/setpriv');
    expect(plan.args).toEqual(
      expect.arrayContaining(['--unshare-all', '--unshare-user', '--disable-userns', '--cap-drop', 'ALL']),
    );
    expect(after(plan, '--uid')).toEqual(['1000']);
    expect(plan.pidDepth).toBe(2);
    expect(plan.isolation.uid).toBe(process.getuid!());
  });
});

describe('the spawn plan with weak isolation', () => {
  it('falls back to unshare with host paths, and says WEAK in the report', () => {
    const plan = buildSpawnPlan({
      spec: spec('node'),
      nodePath: '/n',
      runnerPath: '/r',
      host: weakHost,
      sandbox,
    });
    expect(plan.command).toBe('/usr/bin/unshare');
    expect(plan.args).toContain('--allow-fs-write=/srv/px/data/t/x');
    expect(plan.isolation.weak).toBe(true);
    expect(plan.isolation.level).toBe('node-permission');
    expect(plan.isolation.notes.join(' ')).toMatch(/WEAK ISOLATION/);
  });
});

describe('the spawn plan of a process plugin', () => {
  it('runs the executable in the same sandbox with the host /usr read-only, its socket folder and config file', () => {
    const plan = buildSpawnPlan({
      spec: spec('process', 'bin/server'),
      nodePath: '/n',
      runnerPath: '',
      host: rootHost,
      sandbox,
      systemDirs: { '/usr': 'dir', '/bin': 'usr/bin' },
      socketDir: '/run/s/i1.d',
      configFile: '/run/i/i1/config.json',
    });
    expect(plan.args[plan.args.length - 1]).toBe('/plugin/bin/server');
    expect(plan.args).not.toContain('--permission');
    expect(after(plan, '--ro-bind', 2)).toEqual(
      expect.arrayContaining([
        '/usr /usr',
        '/run/i/i1/config.json /px/config.json',
        '/srv/px/versions/x/1.0.0 /plugin',
      ]),
    );
    expect(after(plan, '--symlink', 2)).toEqual(['usr/bin /bin']);
    expect(after(plan, '--bind', 2)).toEqual(expect.arrayContaining(['/run/s/i1.d /run/px']));
    expect(after(plan, '--setenv', 2)).toEqual(
      expect.arrayContaining(['PX_SOCKET /run/px/http.sock', 'PX_CONFIG_FILE /px/config.json', 'HOME /data']),
    );
    expect(plan.isolation).toMatchObject({ level: 'bubblewrap', permissionModel: false, uid: 59500 });
  });
});
