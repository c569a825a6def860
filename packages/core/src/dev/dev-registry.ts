/**
 * One DevService (sessions, reload lanes, the live log hub) per core, created with the routes
 * that use it, so start-core needs no dev-specific wiring: sessions load when the server is
 * ready and everything stops when it closes.
 */
import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../core-services.ts';
import { DevService } from './dev-service.ts';

const services = new WeakMap<CoreServices, DevService>();

export function devServiceFor(app: FastifyInstance, s: CoreServices): DevService {
  let dev = services.get(s);
  if (!dev) {
    const created = new DevService(s);
    dev = created;
    services.set(s, created);
    app.addHook('onReady', () => created.start());
    app.addHook('onClose', () => created.close());
  }
  return dev;
}
