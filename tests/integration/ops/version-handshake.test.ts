/**
 * The version handshake between the CLI and a real core: compatible pairs work, an old CLI is
 * told to upgrade the CLI, a CLI that needs a newer core is told to upgrade core, and core itself
 * refuses requests from an incompatible client before doing anything, naming the side to upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { CORE_VERSION } from '@powerx/core';
import {
  CLIENT_VERSION_HEADER,
  CORE_VERSION_HEADER,
  PROTOCOL_LEVEL,
  formatVersionHeader,
  isPxError,
  parseVersionHeader,
  type PeerVersion,
} from '@powerx/protocol';
import { cliPeerVersion, versionHandshake } from '../../../packages/cli/src/version-handshake.ts';
import { makeTmp, repoRoot, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

const run = promisify(execFile);

let core: TestCore;
let home: string;

beforeAll(async () => {
  core = await startTestCore();
  home = await makeTmp('px-hs-home-');
});
afterAll(async () => {
  await stopTestCore(core);
  if (home) await rm(home, { recursive: true, force: true });
});

const oldCli: PeerVersion = {
  name: 'px-plugin',
  version: '0.0.1',
  protocol: PROTOCOL_LEVEL - 1,
  minPeerProtocol: 0,
};
const futureCli: PeerVersion = {
  name: 'px-plugin',
  version: '9.0.0',
  protocol: PROTOCOL_LEVEL + 1,
  minPeerProtocol: PROTOCOL_LEVEL + 1,
};

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPxError(error)) throw new Error(`expected a PxError, got ${String(error)}`);
  return error;
}

describe('version handshake', () => {
  it('this CLI and this core agree: GET /api/version answers core version and protocol level', async () => {
    const coreVersion = await versionHandshake(core.url);
    expect(coreVersion).toEqual({
      name: 'powerx-core',
      version: CORE_VERSION,
      protocol: PROTOCOL_LEVEL,
      minPeerProtocol: expect.any(Number),
    });
    const r = await fetch(`${core.url}/api/version`, {
      headers: { [CLIENT_VERSION_HEADER]: formatVersionHeader(cliPeerVersion()) },
    });
    expect(await r.json()).toEqual({
      core: coreVersion,
      client: cliPeerVersion(),
      compatible: true,
      // The feature flags, all on by default (tests/integration/core/feature-flags.test.ts).
      flags: expect.arrayContaining([
        expect.objectContaining({ name: 'px-plugin-runtime-v2', enabled: true }),
      ]),
    });
  });

  it('an old CLI fails early and is told to upgrade the CLI', async () => {
    const error = await rejection(versionHandshake(core.url, oldCli));
    expect(error.code).toBe('VERSION_INCOMPATIBLE');
    expect(error.message).toContain(
      `px-plugin 0.0.1 (protocol ${oldCli.protocol}) and powerx-core ${CORE_VERSION}`,
    );
    expect(error.hint).toMatch(/^Upgrade the CLI: /);
  });

  it('a CLI that needs a newer core fails early and is told to upgrade core', async () => {
    const error = await rejection(versionHandshake(core.url, futureCli));
    expect(error.code).toBe('VERSION_INCOMPATIBLE');
    expect(error.hint).toMatch(/^Upgrade core: /);
  });

  it('core refuses any request of an incompatible client with 426 before authentication', async () => {
    for (const [client, side] of [
      [oldCli, 'the CLI'],
      [futureCli, 'core'],
    ] as const) {
      const r = await fetch(`${core.url}/api/tenants`, {
        headers: { [CLIENT_VERSION_HEADER]: formatVersionHeader(client) },
      }); // no token
      expect(r.status).toBe(426);
      const body = (await r.json()) as { code: string; hint: string; details: { side: string } };
      expect(body.code).toBe('VERSION_INCOMPATIBLE');
      expect(body.details.side).toBe(side);
    }
  });

  it('core states its version on every response and leaves clients without the header alone', async () => {
    const plain = await fetch(`${core.url}/api/tenants`, {
      headers: { authorization: `Bearer ${core.adminToken}` },
    });
    expect(plain.status).toBe(200);
    expect(parseVersionHeader(plain.headers.get(CORE_VERSION_HEADER))).toMatchObject({
      name: 'powerx-core',
      version: CORE_VERSION,
      protocol: PROTOCOL_LEVEL,
    });
    const health = await fetch(`${core.url}/healthz`);
    expect(parseVersionHeader(health.headers.get(CORE_VERSION_HEADER))?.version).toBe(CORE_VERSION);
  });

  it('the real px-plugin binary does the handshake and then its work', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(repoRoot, 'packages/cli/bin/px-plugin.js'), 'list', '--tenant', 'sandbox-dev', '--json'],
      {
        env: { PATH: process.env.PATH ?? '', HOME: home, PX_API_URL: core.url, PX_TOKEN: core.adminToken },
      },
    );
    expect(JSON.parse(stdout)).toEqual({ tenant: 'sandbox-dev', plugins: [] });
  });
});
