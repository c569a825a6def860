import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { InstallProgress, WsServerFrame } from '@powerx/protocol';
import { openSqliteDatabase } from '../storage/open-database.ts';
import type { Db } from '../storage/schema.ts';
import { InProcessEventBus } from '../events/in-process-event-bus.ts';
import { PluginRepository } from '../plugins/plugin-repository.ts';
import { InstallStore } from './install-store.ts';
import { announceProgress, announceUninstall, progressOf, type ProgressDeps } from './install-progress.ts';
import { ProgressHub } from './progress-hub.ts';

let dir: string;
let db: Db;
let deps: ProgressDeps & { db: Db };
let hub: ProgressHub;

function sink(): { frames: WsServerFrame[]; send(f: WsServerFrame): boolean; drop(): void } {
  const frames: WsServerFrame[] = [];
  return { frames, send: (f) => (frames.push(f), true), drop: () => {} };
}

const seqs = (frames: WsServerFrame[]) =>
  frames.flatMap((f) =>
    f.type === 'progress_snapshot'
      ? f.installs.map((p) => `snapshot ${p.stage} ${p.seq}`)
      : f.type === 'progress'
        ? [`live ${f.progress.stage} ${f.progress.seq}`]
        : [],
  );

const storesOn = (on: Db) => ({ store: new InstallStore(on), plugins: new PluginRepository(on) });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-progress-'));
  db = await openSqliteDatabase(join(dir, 'core.db'));
  deps = {
    db,
    ...storesOn(db),
    bus: new InProcessEventBus(),
    log: pino({ level: 'silent' }),
  };
  hub = new ProgressHub(deps);
});
afterEach(async () => {
  hub.close();
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('install progress hub', () => {
  it('sends the snapshot, then only the changes the snapshot does not cover, in order', async () => {
    const row = await deps.store.create({ kind: 'install', tenant: 't1', actorId: 'u' });
    await deps.store.transition(row.id, 'validating');
    const inFlight = await progressOf(deps, (await deps.store.get(row.id))!);
    const s = sink();
    // Events that arrive while the snapshot is read: one it already covers, one after it.
    const subscribed = hub.subscribe('t1', undefined, s);
    await deps.bus.publish('plugin.install.progress', inFlight);
    await deps.store.transition(row.id, 'awaiting_config');
    await announceProgress(deps, row.id);
    await subscribed;
    await deps.store.transition(row.id, 'provisioning');
    await announceProgress(deps, row.id);
    const shown = seqs(s.frames);
    expect(shown[0]).toMatch(/^snapshot (validating 4|awaiting_config 6)$/);
    expect(shown.slice(1)).toEqual(
      shown[0] === 'snapshot validating 4'
        ? ['live awaiting_config 6', 'live provisioning 8']
        : ['live provisioning 8'],
    );
  });

  it('keeps tenants apart and narrows to one install when asked', async () => {
    const mine = await deps.store.create({ kind: 'install', tenant: 't1', actorId: 'u' });
    const other = await deps.store.create({ kind: 'install', tenant: 't1', actorId: 'u' });
    const foreign = await deps.store.create({ kind: 'install', tenant: 't2', actorId: 'u' });
    const all = sink();
    const one = sink();
    await hub.subscribe('t1', undefined, all);
    await hub.subscribe('t1', mine.id, one);
    for (const id of [mine.id, other.id, foreign.id]) {
      await deps.store.transition(id, 'validating');
      await announceProgress(deps, id);
    }
    const ids = (frames: WsServerFrame[]) =>
      frames.flatMap((f) => (f.type === 'progress' ? [f.progress.installId] : []));
    expect(ids(all.frames)).toEqual([mine.id, other.id]);
    expect(ids(one.frames)).toEqual([mine.id]);
    const snapshot = one.frames[0] as Extract<WsServerFrame, { type: 'progress_snapshot' }>;
    expect(snapshot.installs.map((p: InstallProgress) => p.installId)).toEqual([mine.id]);
  });

  it('reads what one stage announcement says in three queries (the stages, the install and its plugin), and an uninstall in two', async () => {
    let queries = 0;
    const counted: ProgressDeps = {
      ...deps,
      ...storesOn(
        db.withPlugin({
          transformQuery: (args) => args.node,
          transformResult: async (args) => (queries++, args.result),
        }),
      ),
    };
    const row = await deps.store.create({ kind: 'install', tenant: 't1', actorId: 'u' });
    await deps.store.update(row.id, { plugin_id: 'com.example.counted', version: '1.0.0' });
    await deps.store.transition(row.id, 'validating');
    const frames: InstallProgress[] = [];
    deps.bus.subscribe('plugin.install.progress', (e) => void frames.push(e.payload as InstallProgress));
    await announceProgress(counted, row.id);
    expect(queries).toBe(3);
    await expect.poll(() => frames.length).toBe(1);
    // What the frame says is what the snapshot of the same install says.
    expect(frames[0]).toEqual(await progressOf(deps, (await deps.store.get(row.id))!));
    expect(frames[0]).toMatchObject({
      kind: 'install',
      stage: 'validating',
      pluginId: 'com.example.counted',
    });
    // An uninstall is told on the serving install: its stages and row, nothing of its plugin.
    queries = 0;
    await announceUninstall(counted, row.id, 'uninstalling', new Date().toISOString());
    expect(queries).toBe(2);
    await expect.poll(() => frames.length).toBe(2);
    expect(frames[1]).toMatchObject({ kind: 'uninstall', stage: 'uninstalling', seq: 6 });
  });

  it('refuses a snapshot of an install of another tenant', async () => {
    const foreign = await deps.store.create({ kind: 'install', tenant: 't2', actorId: 'u' });
    await expect(hub.subscribe('t1', foreign.id, sink())).rejects.toMatchObject({
      code: 'INSTALL_NOT_FOUND',
    });
  });
});
