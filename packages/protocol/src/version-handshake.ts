/**
 * The version handshake between the CLI (or any client) and core. Each side states its version,
 * the API protocol level it speaks and the oldest protocol level of the other side it still works
 * with. They are compatible when each speaks at least what the other needs. The client sends its
 * statement on every request (header x-px-client) and asks `GET /api/version` once per session;
 * core sends its own on every response (header x-px-core) and refuses an incompatible client
 * with VERSION_INCOMPATIBLE (426), naming the side to upgrade.
 *
 * Raise PROTOCOL_LEVEL when the REST/WS surface changes in a way an older peer cannot handle;
 * raise MIN_PEER_PROTOCOL_LEVEL when this side drops support for an older peer.
 */
import Type, { type Static } from 'typebox';
import { PxError } from './errors.ts';
import { FeatureFlagStateSchema } from './dev-policy-schemas.ts';

export const PROTOCOL_LEVEL = 1;
export const MIN_PEER_PROTOCOL_LEVEL = 1;

export const CLIENT_VERSION_HEADER = 'x-px-client';
export const CORE_VERSION_HEADER = 'x-px-core';

export const PeerVersionSchema = Type.Object({
  /** "powerx-core", "px-plugin", "powerx-admin", … */
  name: Type.String(),
  version: Type.String(),
  protocol: Type.Integer({ minimum: 0 }),
  minPeerProtocol: Type.Integer({ minimum: 0 }),
});
export type PeerVersion = Static<typeof PeerVersionSchema>;

/** Body of GET /api/version. */
export const VersionInfoSchema = Type.Object({
  core: PeerVersionSchema,
  /** The client's statement as core read it from x-px-client, if sent. */
  client: Type.Optional(PeerVersionSchema),
  compatible: Type.Boolean(),
  /** Core's feature flags and whether each is on (see dev-policy-schemas.ts). */
  flags: Type.Optional(Type.Array(FeatureFlagStateSchema)),
});
export type VersionInfo = Static<typeof VersionInfoSchema>;

/** "px-plugin/0.1.0; protocol=1; min-peer-protocol=1" */
export function formatVersionHeader(peer: PeerVersion): string {
  return `${peer.name}/${peer.version}; protocol=${peer.protocol}; min-peer-protocol=${peer.minPeerProtocol}`;
}

/** The inverse of formatVersionHeader; undefined for anything that does not parse. */
export function parseVersionHeader(value: string | undefined | null): PeerVersion | undefined {
  if (!value) return undefined;
  const match =
    /^([\w.@/-]{1,64})\/([\w.+-]{1,64});\s*protocol=(\d{1,6});\s*min-peer-protocol=(\d{1,6})$/.exec(
      value.trim(),
    );
  if (!match) return undefined;
  return { name: match[1], version: match[2], protocol: Number(match[3]), minPeerProtocol: Number(match[4]) };
}

/** undefined when the pair works together; otherwise the error that says which side to upgrade. */
export function checkVersionHandshake(client: PeerVersion, core: PeerVersion): PxError | undefined {
  const params = {
    cli: `${client.name} ${client.version}`,
    cliProtocol: client.protocol,
    core: `${core.name} ${core.version}`,
    coreProtocol: core.protocol,
  };
  if (client.protocol < core.minPeerProtocol) {
    return new PxError('VERSION_INCOMPATIBLE', {
      ...params,
      side: 'the CLI',
      reason: `core needs a client of protocol ${core.minPeerProtocol} or newer`,
      how: `install a ${client.name} release that speaks protocol ${core.minPeerProtocol} or newer (the one shipped with core ${core.version}).`,
    });
  }
  if (core.protocol < client.minPeerProtocol) {
    return new PxError('VERSION_INCOMPATIBLE', {
      ...params,
      side: 'core',
      reason: `the client needs core protocol ${client.minPeerProtocol} or newer`,
      how: `upgrade core to a release that speaks protocol ${client.minPeerProtocol} or newer, or use the ${client.name} release shipped with core ${core.version}.`,
    });
  }
  return undefined;
}
