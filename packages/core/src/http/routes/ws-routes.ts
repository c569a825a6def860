/**
 * WebSocket `/api/ws` — channel `plugin.dev.logs` (frames: @powerx/protocol dev-schemas.ts,
 * documented in docs/websocket.md). Used by the Admin's live log panel, `px-plugin dev` and
 * `px-plugin logs -f`: the same lines, from the same hub. Channel `plugin.install.progress`:
 * stage changes of the installs of a tenant (install/progress-hub.ts), for the Admin's install
 * progress and `px-plugin install`.
 *
 * - Auth: `Authorization: Bearer …` on the upgrade request, or (browsers cannot set headers)
 *   a first frame `{type:"auth", token}` within 10 s. Tokens in URLs are not accepted: URLs
 *   end up in logs. A socket outlives its authentication: revoking its token closes it (4001)
 *   on every node (bus event `auth.token.revoked`), and each heartbeat checks the token again.
 * - Subscribe per (tenant, plugin), authorized per tenant (members and admins); each
 *   subscription is audited as a log access. Backfill of the last N lines or resume after an id,
 *   level filter.
 * - Heartbeats: a `heartbeat` frame and a ping every PX_WS_HEARTBEAT_MS (15 s); a client that
 *   did not answer the previous ping is cut.
 * - Backpressure: nothing is queued per client beyond what the socket buffers; above
 *   PX_WS_MAX_BUFFERED_BYTES (1 MiB) the client gets `dropped` and is closed (4008). That frame
 *   sits behind the unread backlog and may never arrive, so the drop is also remembered per
 *   (user, tenant, plugin) and reported on the next `subscribed` frame (`dropped.missedAfterId`),
 *   as is a cut by the heartbeat.
 *   The most core ever buffered for one socket is the gauge px_ws_buffered_bytes_max.
 * A plain GET (no upgrade) answers 426 with a short description, so clients can probe for it.
 */
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { Compile } from 'typebox/compile';
import {
  LOG_CHANNEL,
  PROGRESS_CHANNEL,
  PxError,
  WsClientFrameSchema,
  isPxError,
  type WsClientFrame,
  type WsServerFrame,
} from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import type { Principal } from '../../identity/principal.ts';
import { ProgressHub } from '../../install/progress-hub.ts';

const clientFrame = Compile(WsClientFrameSchema);
const AUTH_TIMEOUT_MS = 10_000;
/** How long a drop is remembered for the user's next subscription, and how many at most. */
const DROP_MEMORY_MS = 60 * 60_000;
const DROP_MEMORY_MAX = 10_000;
/** The reason a drop notice gives for a client cut by the heartbeat (not reading, or gone). */
const HEARTBEAT_CUT = 'no answer to the heartbeat: the client did not read its messages';

interface DropNotice {
  at: string;
  reason: string;
  missedAfterId: number;
}

export function registerWsRoutes(base: FastifyInstance, s: CoreServices): void {
  const hub = s.dev.hub;
  const { heartbeatMs, maxBufferedBytes: maxBuffered } = s.config.ws;
  // (user, tenant, plugin) → the last drop, told on the next `subscribed` frame, then forgotten.
  const drops = new Map<string, DropNotice>();
  const rememberDrop = (key: string, notice: DropNotice) => {
    drops.delete(key);
    drops.set(key, notice);
    for (const [k, v] of drops) {
      if (drops.size <= DROP_MEMORY_MAX && Date.parse(v.at) > Date.now() - DROP_MEMORY_MS) break;
      drops.delete(k);
    }
  };
  const bufferedMax = new Gauge({
    name: 'px_ws_buffered_bytes_max',
    help: 'Most bytes core has held buffered for one /api/ws client since start (bounded by PX_WS_MAX_BUFFERED_BYTES plus one frame)',
    registers: [s.metrics.registry],
  });
  let bufferedHighWater = 0;
  // token id → how to close the sockets authenticated with it (on this node).
  const byToken = new Map<string, Set<() => void>>();
  const unsubscribeRevoked = s.bus.subscribe('auth.token.revoked', (event) => {
    const { tokenId } = event.payload as { tokenId: string };
    for (const revoke of [...(byToken.get(tokenId) ?? [])]) revoke();
  });
  base.addHook('onClose', async () => unsubscribeRevoked());
  const progressHub = new ProgressHub({
    db: s.db,
    store: s.pipeline.store,
    plugins: s.plugins,
    bus: s.bus,
    log: s.log,
  });
  base.addHook('onClose', async () => progressHub.close());

  void base.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });
    scope.route({
      method: 'GET',
      url: '/api/ws',
      schema: {
        tags: ['logs'],
        summary: `WebSocket: channels ${LOG_CHANNEL} (live plugin logs and reload markers) and ${PROGRESS_CHANNEL} (live install progress); see docs/websocket.md`,
      },
      handler: async (_req, reply) =>
        reply
          .status(426)
          .header('upgrade', 'websocket')
          .send({
            code: 'UPGRADE_REQUIRED',
            message: 'This is a WebSocket endpoint',
            hint: `Connect with a WebSocket client and subscribe to ${LOG_CHANNEL} or ${PROGRESS_CHANNEL}; see docs/websocket.md.`,
          }),
      wsHandler: (socket: WebSocket, req) => {
        let principal: Principal | undefined;
        let closed = false;
        let alive = true;
        const subscriptions = new Map<string, () => void>();
        // Per topic of this socket: the last line id sent (what a drop reports as missedAfterId).
        const sentUpTo = new Map<string, number>();
        const raw = (frame: WsServerFrame) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
        };
        const fail = (error: unknown) => {
          const e = isPxError(error) ? error : new PxError('INTERNAL', { ref: 'ws' });
          raw({ type: 'error', code: e.code, message: e.message, hint: e.hint });
        };
        const revoked = () => {
          if (closed) return;
          fail(new PxError('AUTH_INVALID'));
          cleanup();
          socket.close(4001, 'token revoked');
        };
        const forget = () => {
          if (!principal) return;
          const set = byToken.get(principal.tokenId);
          set?.delete(revoked);
          if (set?.size === 0) byToken.delete(principal.tokenId);
        };
        const cleanup = () => {
          if (closed) return;
          closed = true;
          forget();
          clearInterval(beat);
          clearTimeout(authTimer);
          for (const unsubscribe of subscriptions.values()) unsubscribe();
          subscriptions.clear();
        };
        /** The user's next subscription to each topic still followed here is told where its lines stopped. */
        const rememberMissed = (reason: string) => {
          if (!principal || closed) return;
          const at = new Date().toISOString();
          for (const [topic, id] of sentUpTo)
            if (subscriptions.has(topic))
              rememberDrop(`${principal.username}\0${topic}`, { at, reason, missedAfterId: id });
        };
        const sink = {
          send(frame: WsServerFrame): boolean {
            if (closed || socket.readyState !== socket.OPEN) return true; // gone: the close handler unsubscribes
            if (socket.bufferedAmount > maxBuffered) return false;
            socket.send(JSON.stringify(frame));
            if (frame.type === 'log' && frame.lines.length)
              sentUpTo.set(`${frame.tenant}\0${frame.plugin}`, frame.lines[frame.lines.length - 1].id);
            if (socket.bufferedAmount > bufferedHighWater)
              bufferedMax.set((bufferedHighWater = socket.bufferedAmount));
            return true;
          },
          drop(reason: string) {
            const queued = socket.bufferedAmount;
            rememberMissed(reason);
            cleanup();
            try {
              socket.send(JSON.stringify({ type: 'dropped', reason, queued } satisfies WsServerFrame));
              socket.close(4008, 'slow consumer');
            } catch {
              // already broken
            }
            // A client that does not read will not complete the closing handshake either.
            setTimeout(() => socket.terminate(), 1000).unref();
            req.log.warn({ queued }, 'dropped a slow WebSocket client');
          },
        };

        const beat = setInterval(() => {
          if (!alive) {
            // A client that stopped reading misses the ping before it fills the buffer bound on a
            // slow stream: it lost lines just like a dropped one, and is told so the same way.
            rememberMissed(HEARTBEAT_CUT);
            socket.terminate();
            return;
          }
          alive = false;
          raw({ type: 'heartbeat', ts: new Date().toISOString() });
          socket.ping();
          // A revocation this node did not hear of (the event lost, the row changed in the store).
          if (principal)
            void s.identity.isActive(principal.tokenId).then(
              (active) => active || revoked(),
              () => undefined,
            );
        }, heartbeatMs);
        beat.unref();
        socket.on('pong', () => (alive = true));

        const authTimer = setTimeout(() => {
          if (principal) return;
          fail(new PxError('AUTH_REQUIRED'));
          socket.close(4001, 'authentication required');
        }, AUTH_TIMEOUT_MS);
        authTimer.unref();

        const authenticate = async (token: string) => {
          forget();
          principal = await s.identity.authenticate(token);
          if (!principal) {
            fail(new PxError('AUTH_INVALID'));
            socket.close(4001, 'invalid token');
            return;
          }
          if (closed) return;
          let set = byToken.get(principal.tokenId);
          if (!set) byToken.set(principal.tokenId, (set = new Set()));
          set.add(revoked);
        };
        const header = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
        const ready = header ? authenticate(header[1]) : Promise.resolve();

        // Frames are handled one after the other (a subscribe finishes its backfill first).
        let chain: Promise<void> = ready;
        socket.on('message', (data) => {
          alive = true;
          chain = chain.then(() => handle(String(data))).catch(fail);
        });
        socket.on('close', cleanup);
        socket.on('error', cleanup);

        async function handle(text: string): Promise<void> {
          if (closed) return;
          let frame: WsClientFrame;
          try {
            frame = JSON.parse(text) as WsClientFrame;
          } catch {
            throw new PxError('BAD_REQUEST', { detail: 'frames are JSON objects' });
          }
          if (!clientFrame.Check(frame))
            throw new PxError(
              'BAD_REQUEST',
              { detail: `unknown or malformed frame ${JSON.stringify(text.slice(0, 100))}` },
              { hint: 'See docs/websocket.md for the frames of /api/ws.' },
            );
          if (frame.type === 'auth') return authenticate(frame.token);
          if (frame.type === 'ping') return void raw({ type: 'heartbeat', ts: new Date().toISOString() });
          if (!principal) throw new PxError('AUTH_REQUIRED');
          if (frame.channel === PROGRESS_CHANNEL) return progress(principal, frame);
          const key = `${frame.tenant}\0${frame.plugin}`;
          if (frame.type === 'unsubscribe') {
            subscriptions.get(key)?.();
            subscriptions.delete(key);
            return void raw({
              type: 'unsubscribed',
              channel: LOG_CHANNEL,
              tenant: frame.tenant,
              plugin: frame.plugin,
            });
          }
          s.flags.require('plugin-dev-logs', `the live log channel ${LOG_CHANNEL}`);
          await s.tenants.assertReadAccess(principal, frame.tenant);
          subscriptions.get(key)?.();
          if (!sentUpTo.has(key)) sentUpTo.set(key, frame.afterId ?? 0);
          await s.audit.append({
            actor: principal.username,
            tenant: frame.tenant,
            action: 'plugin.logs.read',
            target: frame.plugin,
            outcome: 'ok',
            details: { channel: LOG_CHANNEL, level: frame.level ?? null, afterId: frame.afterId ?? null },
          });
          const sub = await hub.subscribe(frame.tenant, frame.plugin, sink, {
            afterId: frame.afterId,
            backfill: frame.backfill,
            level: frame.level,
          });
          if (closed) return sub.unsubscribe();
          subscriptions.set(key, sub.unsubscribe);
          sentUpTo.set(key, Math.max(sentUpTo.get(key) ?? 0, sub.lastId));
          const dropKey = `${principal.username}\0${key}`;
          const dropped = drops.get(dropKey);
          drops.delete(dropKey);
          raw({
            type: 'subscribed',
            channel: LOG_CHANNEL,
            tenant: frame.tenant,
            plugin: frame.plugin,
            lastId: sub.lastId,
            ...(dropped ? { dropped } : {}),
          });
        }

        /** Channel plugin.install.progress: authorized per tenant like the logs, snapshot first. */
        async function progress(
          who: Principal,
          frame: Extract<WsClientFrame, { channel: typeof PROGRESS_CHANNEL }>,
        ): Promise<void> {
          const key = `\u0001progress\0${frame.tenant}\0${frame.installId ?? ''}`;
          const topic = { channel: PROGRESS_CHANNEL, tenant: frame.tenant } as const;
          const only = frame.installId ? { installId: frame.installId } : {};
          if (frame.type === 'unsubscribe') {
            subscriptions.get(key)?.();
            subscriptions.delete(key);
            return void raw({ type: 'progress_unsubscribed', ...topic, ...only });
          }
          await s.tenants.assertReadAccess(who, frame.tenant);
          subscriptions.get(key)?.();
          subscriptions.delete(key);
          const unsubscribe = await progressHub.subscribe(frame.tenant, frame.installId, sink);
          if (closed) return unsubscribe();
          subscriptions.set(key, unsubscribe);
        }
      },
    });
  });
}
