import { describe, expect, it } from 'vitest';
import {
  checkVersionHandshake,
  formatVersionHeader,
  parseVersionHeader,
  type PeerVersion,
} from './version-handshake.ts';

const core: PeerVersion = { name: 'powerx-core', version: '1.4.0', protocol: 2, minPeerProtocol: 2 };

describe('version handshake', () => {
  it('formats and parses the header both sides send', () => {
    const cli: PeerVersion = { name: 'px-plugin', version: '0.1.0', protocol: 1, minPeerProtocol: 1 };
    expect(formatVersionHeader(cli)).toBe('px-plugin/0.1.0; protocol=1; min-peer-protocol=1');
    expect(parseVersionHeader(formatVersionHeader(cli))).toEqual(cli);
    expect(parseVersionHeader('curl/8.0')).toBeUndefined();
    expect(parseVersionHeader(undefined)).toBeUndefined();
  });

  it('accepts a pair where each side speaks what the other needs', () => {
    expect(
      checkVersionHandshake({ name: 'px-plugin', version: '0.2.0', protocol: 2, minPeerProtocol: 1 }, core),
    ).toBeUndefined();
    expect(
      checkVersionHandshake({ name: 'px-plugin', version: '0.3.0', protocol: 3, minPeerProtocol: 2 }, core),
    ).toBeUndefined();
  });

  it('tells an old CLI to upgrade the CLI', () => {
    const error = checkVersionHandshake(
      { name: 'px-plugin', version: '0.1.0', protocol: 1, minPeerProtocol: 1 },
      core,
    )!;
    expect(error.code).toBe('VERSION_INCOMPATIBLE');
    expect(error.status).toBe(426);
    expect(error.message).toContain('px-plugin 0.1.0 (protocol 1) and powerx-core 1.4.0 (protocol 2)');
    expect(error.hint).toMatch(/^Upgrade the CLI: /);
  });

  it('tells a new CLI talking to an old core to upgrade core', () => {
    const error = checkVersionHandshake(
      { name: 'px-plugin', version: '0.9.0', protocol: 5, minPeerProtocol: 3 },
      core,
    )!;
    expect(error.code).toBe('VERSION_INCOMPATIBLE');
    expect(error.hint).toMatch(/^Upgrade core: /);
  });
});
