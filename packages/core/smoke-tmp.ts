import { packDirectory } from '@powerx/package-format';
import { readFile, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { startCore } from '@powerx/core';
await rm('/tmp/pxs', { recursive: true, force: true });
const key = await readFile('packages/package-format/fixtures/keys/test.key.pem', 'utf8');
const pub = await readFile('packages/package-format/fixtures/keys/test.pub.pem', 'utf8');
const core = await startCore({ dataDir: '/tmp/pxs/data', port: 0, logLevel: 'debug', platformKeys: [pub], platformKeysDir: false });
for (const name of process.argv.slice(2)) {
  await packDirectory('tests/fixtures/plugins/' + name, `/tmp/pxs/${name}.pxp`, { privateKeyPem: key });
  const form = new FormData(); form.append('tenant', 'sandbox-dev'); form.append('package', await openAsBlob(`/tmp/pxs/${name}.pxp`), 'p.pxp');
  const r = await fetch(core.url + '/api/plugins/install/local?wait=true', { method: 'POST', headers: { authorization: `Bearer ${core.adminToken}` }, body: form });
  console.log(name, r.status, (await r.text()).slice(0, 200));
}
const t = performance.now();
await core.close();
console.log('closed in', performance.now() - t);
