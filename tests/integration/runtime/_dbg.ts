import { harness } from './helpers.ts';
const h = await harness({ quotaSampleMs: 5000 });
const t = (await h.spec('neighbour'));
await h.supervisor.stop((await h.supervisor.start({ ...t, tenant: 'w' })).id);
for (let i = 0; i < 8; i++) {
  const t0 = performance.now();
  const marks: string[] = [];
  const off = h.events.length;
  const info = await h.supervisor.start({ ...t, tenant: 'x' + i, dataDir: t.dataDir + i });
  const total = performance.now() - t0;
  const evs = h.events.slice(off).filter(e => e.type === 'instance.state').map(e => e.instance.state);
  console.log('total', total.toFixed(1), evs.join(','));
  await h.supervisor.stop(info.id);
}
await h.close();
