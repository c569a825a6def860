import { validatePackage, packDirectory, generateKeyPair } from '@powerx/package-format';
import { execFileSync } from 'node:child_process';
const k = generateKeyPair();
await packDirectory('/tmp/pf-big', '/tmp/pf-big.pxp', { privateKeyPem: k.privateKeyPem });
for (let i = 0; i < 3; i++) {
  let t = performance.now();
  const r = await validatePackage('/tmp/pf-big.pxp', { trustedKeys: [k.publicKeyPem], stagingRoot: '/tmp/pf-stage' });
  const v = performance.now() - t;
  t = performance.now();
  execFileSync('sh', ['-c', 'rm -rf /tmp/pf-fl && mkdir /tmp/pf-fl && tar -xzf /tmp/pf-big.pxp -C /tmp/pf-fl && find /tmp/pf-fl -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null']);
  const f = performance.now() - t;
  t = performance.now();
  execFileSync('sh', ['-c', 'gzip -dc /tmp/pf-big.pxp > /dev/null']);
  const g = performance.now() - t;
  console.log(r.ok, 'validate', v.toFixed(0), 'floor', f.toFixed(0), 'gunzip only', g.toFixed(0), r.checks.map(c => c.id + '=' + c.durationMs).join(' '));
}
