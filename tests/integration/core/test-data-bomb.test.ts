/**
 * `sandbox.testData` is a JSON Schema and a count from the package; core generates the records
 * when the plugin is first installed. The hostile fixture hello-test-data-bomb asks for 10 000
 * records of 2 million integers each. Before, core generated them in its own heap and on its own
 * event loop: it answered nothing while it did, and died of "JavaScript heap out of memory" after
 * some 60 records, every tenant with it. Now the records are generated in a worker thread with a
 * heap limit and a deadline, and no more than the plugin could store: the install fails with
 * TEST_DATA_LIMIT and rolls back, and core goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, packFixtures, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

const HELLO_ID = 'com.fixture.core.hello';

let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore();
}, 60_000);

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('a package whose testData schema generates without bound', () => {
  it('fails its install with TEST_DATA_LIMIT at seeding; core keeps serving and installs the next one', async () => {
    const r = await core.api.install(pkgs['hello-test-data-bomb']);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body).toMatchObject({ code: 'TEST_DATA_LIMIT', details: { stage: 'seeding' } });
    expect((await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(404);
    const hello = await core.api.install(pkgs.hello);
    expect(hello.body.state, JSON.stringify(hello.body)).toBe('running');
    const [row] = await core.sql(
      'select count(*) as n from plugin_docs where tenant_id = ? and plugin_id = ?',
      ['sandbox-dev', HELLO_ID],
    );
    expect(Number(row.n)).toBeGreaterThan(0);
  }, 120_000);
});
