import { validatePackage } from '@powerx/package-format';
for (let i = 0; i < 2; i++) {
  const t = performance.now();
  await validatePackage('/tmp/pf-big.pxp', { stagingRoot: '/tmp/pf-stage' });
  console.log('validate', (performance.now() - t).toFixed(0));
}
