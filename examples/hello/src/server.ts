/**
 * The plugin's backend. `px-plugin build` bundles this file (and everything it imports) into
 * dist/server.js. The sandbox runs it with no network and no file system access beyond its own
 * data folder: storage, events, secrets and outbound HTTP all go through `ctx`.
 */
import { definePlugin, json } from '@powerx/plugin-sdk';

const GREETED_EVENT = 'hello.greeted';

// What the plugin answers, listed on `/`: the entry URL `px-plugin install` prints opens there.
const ROUTES = {
  'GET /hello?name=Ada': 'a greeting from GREETING, with a look at the test data',
  'GET /customers?limit=10&offset=0': 'the generated test customers, paged',
  'GET /customers/:id': 'one customer',
  'GET /healthz': 'the health gate',
};

export default definePlugin({
  routes: {
    'GET /': (_req, ctx) => ({ plugin: ctx.plugin, routes: ROUTES }),

    // The health gate: the plugin receives traffic only after this answers 200.
    'GET /healthz': () => ({ ok: true }),

    // A greeting from configuration (GREETING in plugin.yaml) plus a look at the generated test data.
    'GET /hello': async (req, ctx) => {
      const who = req.query.get('name') ?? 'world';
      const customers = ctx.storage.collection('customers');
      const [first] = await customers.find({ limit: 1 });
      await ctx.events.publish(GREETED_EVENT, { who });
      ctx.log.info('greeted', { who });
      return {
        message: `${String(ctx.config.GREETING)}, ${who}!`,
        plugin: ctx.plugin,
        tenant: ctx.tenant,
        customers: await customers.count(),
        firstCustomer: first ?? null,
        // Say whether the secret is set, never its value.
        apiKeyConfigured: ctx.secrets.has('API_KEY'),
      };
    },

    // The generated test customers, paged: GET /customers?limit=10&offset=0
    'GET /customers': async (req, ctx) => {
      const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 10) || 10, 1), 100);
      const offset = Math.max(Number(req.query.get('offset') ?? 0) || 0, 0);
      const customers = ctx.storage.collection('customers');
      return { total: await customers.count(), items: await customers.find({ limit, offset }) };
    },

    'GET /customers/:id': async (req, ctx) => {
      const customer = await ctx.storage.collection('customers').get(req.params.id);
      return customer ?? json({ code: 'NOT_FOUND', message: `No customer ${req.params.id}` }, { status: 404 });
    },
  },

  onStart(ctx) {
    ctx.log.info('started', { version: ctx.plugin.version, logLevel: ctx.log.level });
  },

  // Runs once per sandbox install, after the generated test data is written: add a record of
  // our own that tests can rely on.
  async seed(ctx) {
    const customers = ctx.storage.collection('customers');
    if ((await customers.count({ email: 'ada@example.com' })) === 0) {
      await customers.insert({ name: 'Ada Lovelace', email: 'ada@example.com', city: 'London', tier: 'enterprise', since: '1843-07-10', seeded: true });
    }
    ctx.log.info('seeded', { customers: await customers.count() });
  },
});
