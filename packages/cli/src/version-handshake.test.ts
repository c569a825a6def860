import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CLIENT_VERSION_HEADER, PROTOCOL_LEVEL, parseVersionHeader } from '@powerx/protocol';
import { cliPeerVersion, clientVersionHeaders, versionHandshake } from './version-handshake.ts';

describe('CLI version handshake', () => {
  it('states the CLI package version and the protocol level it speaks', () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(cliPeerVersion()).toMatchObject({ name: 'px-plugin', version, protocol: PROTOCOL_LEVEL });
    expect(parseVersionHeader(clientVersionHeaders()[CLIENT_VERSION_HEADER])).toEqual(cliPeerVersion());
  });

  it('says core cannot be reached when nothing listens, with the hint to start it', async () => {
    // Port 9 (discard) on loopback: nothing listens there on a test machine.
    const error = (await versionHandshake('http://127.0.0.1:9').then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; message: string; hint: string };
    expect(error.code).toBe('CORE_UNREACHABLE');
    expect(error.message).toContain('Cannot reach PowerX core at http://127.0.0.1:9: ');
    expect(error.hint).toContain('npm start');
    expect(error.hint).toContain('PX_API_URL');
  });
});
