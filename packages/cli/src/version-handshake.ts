/**
 * The CLI side of the version handshake (rules in @powerx/protocol version-handshake.ts): every
 * request carries the CLI's statement in x-px-client (core refuses an incompatible one with
 * VERSION_INCOMPATIBLE), and the first request of a session asks GET /api/version, so an
 * incompatible pair fails before anything is uploaded, with a message naming the side to upgrade.
 */
import { readFileSync } from 'node:fs';
import {
  CLIENT_VERSION_HEADER,
  MIN_PEER_PROTOCOL_LEVEL,
  PROTOCOL_LEVEL,
  PxError,
  checkVersionHandshake,
  formatVersionHeader,
  isErrorCode,
  type PeerVersion,
} from '@powerx/protocol';
import { coreUnreachable } from './core-unreachable.ts';

let cached: PeerVersion | undefined;

/** This CLI: its package version and the protocol levels it speaks and needs. */
export function cliPeerVersion(): PeerVersion {
  cached ??= {
    name: 'px-plugin',
    version: (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version,
    protocol: PROTOCOL_LEVEL,
    minPeerProtocol: MIN_PEER_PROTOCOL_LEVEL,
  };
  return cached;
}

/** Headers every request of the CLI sends. */
export function clientVersionHeaders(self: PeerVersion = cliPeerVersion()): Record<string, string> {
  return { [CLIENT_VERSION_HEADER]: formatVersionHeader(self) };
}

function isPeerVersion(value: unknown): value is PeerVersion {
  const v = value as PeerVersion | undefined;
  return (
    !!v &&
    typeof v.name === 'string' &&
    typeof v.version === 'string' &&
    Number.isInteger(v.protocol) &&
    Number.isInteger(v.minPeerProtocol)
  );
}

/**
 * Asks core for its version and checks the pair; resolves with core's statement or throws the
 * PxError VERSION_INCOMPATIBLE (or the connection error). A core without /api/version predates
 * the handshake: it speaks protocol 0.
 */
export async function versionHandshake(
  url: string,
  self: PeerVersion = cliPeerVersion(),
): Promise<PeerVersion> {
  const base = url.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/api/version`, { headers: clientVersionHeaders(self) });
  } catch (error) {
    throw coreUnreachable(base, error);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  let core: PeerVersion;
  if (response.status === 404)
    core = { name: 'powerx-core', version: 'unknown (no /api/version)', protocol: 0, minPeerProtocol: 0 };
  else if (response.ok && isPeerVersion((body as { core?: unknown } | undefined)?.core))
    core = (body as { core: PeerVersion }).core;
  else {
    const b = body as
      { code?: string; message?: string; hint?: string; details?: Record<string, unknown> } | undefined;
    if (b?.code && isErrorCode(b.code))
      throw new PxError(b.code, b.details ?? {}, { message: b.message, hint: b.hint });
    throw new PxError(
      'INTERNAL',
      { ref: `HTTP ${response.status}` },
      {
        message: `${base}/api/version answered HTTP ${response.status}, not a PowerX core version`,
        hint: 'Check PX_API_URL points to a PowerX core.',
      },
    );
  }
  const error = checkVersionHandshake(self, core);
  if (error) throw error;
  return core;
}
