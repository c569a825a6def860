/**
 * The scripted workload of the ops tests, run through core's HTTP API with real signed packages:
 * successful installs and an upgrade, an install that fails its health gate, one refused for its
 * core range, and three uploads signed by an untrusted key (three signature failures in a row);
 * then, on a dev-mode core, a dev install that serves and two reloads that fail their health gate.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import { fixturePlugins, testKeys, type Api } from '../../support/core-kit.ts';

export interface WorkloadResult {
  succeeded: number;
  failed: number;
  signatureFailures: number;
  failureCodes: string[];
}

export async function packWorkload(outDir: string): Promise<Record<string, string>> {
  const { privateKeyPem, untrustedPrivateKeyPem } = await testKeys();
  const out: Record<string, string> = {};
  for (const name of ['hello', 'hello-v2', 'base', 'hello-unhealthy', 'future-core']) {
    out[name] = (
      await packDirectory(join(fixturePlugins, name), join(outDir, `${name}.pxp`), { privateKeyPem })
    ).file;
  }
  out.untrusted = (
    await packDirectory(join(fixturePlugins, 'hello'), join(outDir, 'hello-untrusted.pxp'), {
      privateKeyPem: untrustedPrivateKeyPem,
    })
  ).file;
  return out;
}

export async function runWorkload(
  api: Api,
  pkgs: Record<string, string>,
  opts: { secret?: string } = {},
): Promise<WorkloadResult> {
  const result: WorkloadResult = { succeeded: 0, failed: 0, signatureFailures: 0, failureCodes: [] };
  const config = { env: { TIMES: '2' }, secrets: { API_KEY: opts.secret ?? 'ops-secret-value' } };
  const expectOk = async (pkg: string, withConfig: unknown = config) => {
    const r = await api.install(pkg, { config: withConfig });
    if (r.status !== 200)
      throw new Error(`install ${pkg} should succeed: ${r.status} ${JSON.stringify(r.body)}`);
    result.succeeded++;
    // Traffic on the test entry point: the plugin answers (and hello writes a log line).
    const entry = await fetch(r.body.entryUrl);
    await entry.arrayBuffer();
  };
  const expectFail = async (pkg: string, code: string) => {
    const r = await api.install(pkg, { config });
    if (r.status < 400 || r.body?.code !== code)
      throw new Error(`install ${pkg} should fail with ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    result.failed++;
    result.failureCodes.push(code);
  };
  await expectOk(pkgs.hello);
  await expectOk(pkgs.base, {});
  await expectOk(pkgs['hello-v2']);
  await expectFail(pkgs['hello-unhealthy'], 'HEALTH_TIMEOUT');
  await expectFail(pkgs['future-core'], 'CORE_INCOMPATIBLE');
  for (let i = 0; i < 3; i++) {
    await expectFail(pkgs.untrusted, 'PXP_KEY_UNTRUSTED');
    result.signatureFailures++;
  }
  return result;
}

export interface DevWorkloadResult {
  succeeded: number;
  failed: number;
}

const opsPlugins = join(import.meta.dirname, 'fixtures/plugins');

/**
 * Dev installs from a folder (core copies it from an allowed root: the temp folder): the healthy
 * build serves, then two broken builds are rolled back in a row while it keeps serving.
 */
export async function runDevWorkload(api: Api, workDir: string): Promise<DevWorkloadResult> {
  const result: DevWorkloadResult = { succeeded: 0, failed: 0 };
  for (const [name, expected] of [
    ['dev-ok', 'running'],
    ['dev-unhealthy', 'failed'],
    ['dev-unhealthy', 'failed'],
  ] as const) {
    const dir = join(workDir, `dev-build-${result.succeeded + result.failed}`);
    await cp(join(opsPlugins, name), dir, { recursive: true });
    const r = await api.post('/api/plugins/dev/install', { tenant: 'sandbox-dev', path: dir });
    if (r.status !== 200 || r.body?.result !== expected)
      throw new Error(`dev install of ${name} should be ${expected}: ${r.status} ${JSON.stringify(r.body)}`);
    if (expected === 'running') result.succeeded++;
    else result.failed++;
  }
  return result;
}
