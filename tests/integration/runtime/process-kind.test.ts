import { describe, expect, it } from 'vitest';
import { probeHostIsolation } from '@powerx/runtime';
import { harness, request } from './helpers.ts';

describe('runtime.kind process plugins', () => {
  it('runs any executable serving HTTP on PX_SOCKET inside the same bubblewrap sandbox, and says so', async () => {
    const h = await harness();
    try {
      const info = await h.supervisor.start(
        await h.spec('process-hello', { config: { GREETING: 'hej' }, secrets: {} }),
      );
      const host = probeHostIsolation();
      expect(info.state).toBe('ready');
      expect(info.isolation.permissionModel).toBe(false);
      expect(host.bwrap).toBeTruthy();
      expect(info.isolation.networkNamespace).toBe(true);
      expect(info.isolation.level).toBe('bubblewrap');
      expect(info.isolation.notes.join(' ')).toMatch(/no Node permission model/);
      expect((await request(info, '/anything')).json()).toEqual({ hello: 'hej', path: '/anything' });
      const net = (await request(info, '/net')).json<{ tcpOut: string; env: string[] }>();
      expect(net.tcpOut).not.toBe('connected');
      expect(net.env).toEqual([
        'HOME',
        'LANG',
        'PATH',
        'PWD',
        'PX_CONFIG_FILE',
        'PX_DATA_DIR',
        'PX_INSTANCE',
        'PX_SOCKET',
        'TZ',
      ]);
      await h.supervisor.stop(info.id, { graceMs: 2000 });
      expect(h.supervisor.list()).toEqual([]);
      expect(h.lines.some((l) => l.source === 'stdout' && l.msg.startsWith('process plugin listening'))).toBe(
        true,
      );
    } finally {
      await h.close();
    }
  });
});
