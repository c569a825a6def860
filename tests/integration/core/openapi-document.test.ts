/**
 * The OpenAPI document at /docs/json says what the routes really answer: DELETE routes 204 No
 * Content (not swagger's invented "200 Default Response"), and the error body
 * {code, message, hint, details?} for 4XX and 5XX on every operation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

type Responses = Record<
  string,
  {
    description?: string;
    content?: Record<string, { schema?: { properties?: Record<string, unknown>; required?: string[] } }>;
  }
>;
type Doc = { paths: Record<string, Record<string, { responses: Responses }>> };

let core: TestCore;
let doc: Doc;
beforeAll(async () => {
  core = await startTestCore();
  doc = (await (await fetch(`${core.url}/docs/json`)).json()) as Doc;
});
afterAll(async () => {
  await stopTestCore(core);
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method, responses: op.responses })),
  );

describe('OpenAPI document', () => {
  it('documents 204 No Content for the DELETE routes that answer 204, and no default 200 for them', async () => {
    const deletes = operations().filter((o) => o.method === 'delete');
    expect(deletes.map((d) => d.path)).toEqual(
      expect.arrayContaining([
        '/api/tenants/{tenant}/plugins/{plugin}',
        '/api/installs/{id}',
        '/api/me/keys/{keyId}',
        '/api/me/tokens/{tokenId}',
      ]),
    );
    for (const d of deletes.filter((x) => x.path !== '/api/plugins/dev/sessions/{id}')) {
      expect(
        Object.keys(d.responses).filter((s) => s.startsWith('2')),
        d.path,
      ).toEqual(['204']);
    }
    // And the route really answers what the document says.
    const created = await core.api.post('/api/me/tokens', { name: 'to-revoke' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const revoked = await core.api.delete(`/api/me/tokens/${created.body.tokenId}`);
    expect(revoked.status).toBe(204);
  });

  it('documents the error body {code, message, hint, details?} for 4XX and 5XX on every operation', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(20);
    for (const o of ops) {
      for (const status of ['4XX', '5XX']) {
        const schema = o.responses[status]?.content?.['application/json']?.schema;
        expect(schema?.required, `${o.method} ${o.path} ${status}`).toEqual(
          expect.arrayContaining(['code', 'message', 'hint']),
        );
        expect(Object.keys(schema?.properties ?? {})).toEqual(['code', 'message', 'hint', 'details']);
      }
    }
  });
});
