/**
 * The core side of the version handshake (see @powerx/protocol version-handshake.ts):
 * - every response carries core's statement in x-px-core;
 * - a request whose x-px-client statement is incompatible is refused before authentication with
 *   VERSION_INCOMPATIBLE (426), naming the side to upgrade;
 * - GET /api/version (public) answers both statements and whether they fit, so a client can check
 *   once at the start of a session, even before it has a token.
 * Clients that send no x-px-client header (curl, scripts, the Admin) are not checked.
 */
import type { FastifyInstance } from 'fastify';
import {
  CLIENT_VERSION_HEADER,
  CORE_VERSION_HEADER,
  MIN_PEER_PROTOCOL_LEVEL,
  PROTOCOL_LEVEL,
  VersionInfoSchema,
  checkVersionHandshake,
  formatVersionHeader,
  parseVersionHeader,
  type FeatureFlagState,
  type PeerVersion,
  type VersionInfo,
} from '@powerx/protocol';

export function corePeerVersion(coreVersion: string): PeerVersion {
  return {
    name: 'powerx-core',
    version: coreVersion,
    protocol: PROTOCOL_LEVEL,
    minPeerProtocol: MIN_PEER_PROTOCOL_LEVEL,
  };
}

/** Registers the header hook (call before the auth hook) and GET /api/version. */
export function registerVersionRoutes(
  app: FastifyInstance,
  s: { coreVersion: string; flags?: { list(): FeatureFlagState[] } },
): void {
  const core = corePeerVersion(s.coreVersion);
  const coreHeader = formatVersionHeader(core);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(CORE_VERSION_HEADER, coreHeader);
    // /api/version answers even an incompatible client; plugin entry points are the plugin's business.
    if (
      request.url === '/api/version' ||
      request.url.startsWith('/api/version?') ||
      request.url.startsWith('/_p/')
    )
      return;
    const client = parseVersionHeader(request.headers[CLIENT_VERSION_HEADER] as string | undefined);
    if (!client) return;
    const error = checkVersionHandshake(client, core);
    if (error) throw error;
  });

  app.get(
    '/api/version',
    {
      schema: {
        tags: ['system'],
        summary:
          'Core version and protocol level, and its feature flags; checks the x-px-client statement if sent',
        security: [],
        response: { 200: VersionInfoSchema },
      },
    },
    async (request): Promise<VersionInfo> => {
      const client = parseVersionHeader(request.headers[CLIENT_VERSION_HEADER] as string | undefined);
      return {
        core,
        ...(client ? { client } : {}),
        compatible: client ? !checkVersionHandshake(client, core) : true,
        ...(s.flags ? { flags: s.flags.list() } : {}),
      };
    },
  );
}
