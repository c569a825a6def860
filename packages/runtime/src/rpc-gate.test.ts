import { describe, expect, it } from 'vitest';
import { admitMessage } from './rpc-gate.ts';

describe('the supervisor message gate', () => {
  it('admits well-formed messages of every kind', () => {
    expect(admitMessage({ t: 'ready' }).ok).toBe(true);
    expect(admitMessage({ t: 'log', level: 'info', msg: 'hi', fields: { a: 1 } }).ok).toBe(true);
    expect(
      admitMessage({ t: 'rpc', id: 1, method: 'storage.find', args: { collection: 'customers', limit: 10 } })
        .ok,
    ).toBe(true);
    expect(admitMessage({ t: 'seed.done', id: 2, ok: false, message: 'nope' }).ok).toBe(true);
  });

  it('refuses a message over the size cap before looking at it', () => {
    const result = admitMessage(
      {
        t: 'rpc',
        id: 7,
        method: 'storage.insert',
        args: { collection: 'c', doc: { big: 'x'.repeat(2000) } },
      },
      1000,
    );
    expect(result).toMatchObject({ ok: false, id: 7, error: { code: 'RPC_MESSAGE_TOO_LARGE' } });
  });

  it('refuses a tenant smuggled into a call', () => {
    const result = admitMessage({
      t: 'rpc',
      id: 3,
      method: 'storage.find',
      args: { collection: 'customers', tenant: 'victim' },
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('RPC_INVALID');
      expect(result.error.message).toContain('tenant');
      expect(result.id).toBe(3);
    }
  });

  it('refuses collection names that try to leave the plugin scope', () => {
    for (const collection of ['../victim/customers', 'a/b', '', 'UPPER']) {
      expect(
        admitMessage({ t: 'rpc', id: 1, method: 'storage.get', args: { collection, id: 'x' } }).ok,
        collection,
      ).toBe(false);
    }
  });

  it('refuses unknown message types, unknown methods and non-objects', () => {
    expect(admitMessage({ t: 'exec', cmd: 'rm -rf /' })).toMatchObject({
      ok: false,
      error: { code: 'RPC_INVALID' },
    });
    expect(admitMessage({ t: 'rpc', id: 1, method: 'process.spawn', args: {} })).toMatchObject({
      ok: false,
      error: { code: 'RPC_INVALID' },
    });
    expect(admitMessage('conn')).toMatchObject({ ok: false, error: { code: 'RPC_INVALID' } });
    expect(admitMessage(null)).toMatchObject({ ok: false });
  });
});
