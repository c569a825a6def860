/**
 * Package interop end to end with real processes and standard tools: in a folder
 * outside the repository, `px-plugin init` → `keygen` → `build` gives a .pxp that GNU tar lists,
 * whose files pass `sha256sum -c`, whose signature `openssl pkeyutl -verify -rawin` accepts, and
 * that `px-plugin validate --trust` passes. Each step depends on the one before (one project).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAUNCHER, REPO_ROOT, finish, launcher, npx, run, shellEnv } from './run-cli.ts';

const PKG = 'com.example.plugin.p-0.1.0.pxp';

describe('px-plugin from init to a verifiable package, outside the repository', () => {
  let root: string;
  let home: string;
  let project: string;
  let pub: string;
  let firstBuild: Buffer;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'px-cli-interop-'));
    home = join(root, 'home');
    project = join(root, 'p');
    pub = join(home, '.px-plugin/keys/default.pub.pem');
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a project with npx px-plugin init from the repository root', () => {
    expect(root.startsWith(REPO_ROOT)).toBe(false);
    const r = npx(['init', project], { cwd: REPO_ROOT, home });
    expect(r.code, r.output).toBe(0);
    for (const file of [
      'plugin.yaml',
      'src/server.ts',
      'admin/index.html',
      'package.json',
      'tsconfig.json',
      '.gitignore',
      'README.md',
    ]) {
      expect(statSync(join(project, file)).isFile(), file).toBe(true);
    }
    expect(r.stdout).toContain('com.example.plugin.p');
  });

  it('refuses to init into a folder that is not empty, with INIT_DIR_NOT_EMPTY, and changes nothing', () => {
    const before = readFileSync(join(project, 'plugin.yaml'));
    const r = launcher(['init', project, '--name', 'Other'], { cwd: root, home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('INIT_DIR_NOT_EMPTY');
    expect(r.stderr).toContain('hint:');
    expect(readFileSync(join(project, 'plugin.yaml'))).toEqual(before);
  });

  it('keygen writes an Ed25519 pair, the private key readable only by its owner, and prints its keyId', () => {
    const r = npx(['keygen'], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/[0-9a-f]{16}/);
    expect(statSync(join(home, '.px-plugin/keys/default.key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(pub, 'utf8')).toContain('BEGIN PUBLIC KEY');
  });

  it('keygen refuses to overwrite an existing key with KEY_EXISTS and leaves it as it was', () => {
    const before = readFileSync(join(home, '.px-plugin/keys/default.key.pem'));
    const r = npx(['keygen'], { cwd: project, home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KEY_EXISTS');
    expect(readFileSync(join(home, '.px-plugin/keys/default.key.pem'))).toEqual(before);
  });

  it('build bundles src/server.ts and writes a signed package that GNU tar lists', () => {
    const r = npx(['build'], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(PKG);
    expect(r.stdout).toMatch(/sha256 [0-9a-f]{64}/);
    expect(r.stdout).toMatch(/signed +keyId [0-9a-f]{16}/);
    const listed = run('tar', ['-tzf', PKG], { cwd: project });
    expect(listed.code, listed.output).toBe(0);
    expect(listed.stdout.trim().split('\n').sort()).toEqual(
      [
        '_pxp/SHA256SUMS',
        '_pxp/SHA256SUMS.sig',
        '_pxp/signer.json',
        'admin/index.html',
        'dist/server.js',
        'manifest.json',
      ].sort(),
    );
    firstBuild = readFileSync(join(project, PKG));
  });

  it('the extracted files pass sha256sum -c and openssl accepts the signature', () => {
    const x = join(root, 'extracted');
    cpSync(join(project, PKG), join(root, 'copy.pxp'));
    execFileSync('mkdir', ['-p', x]);
    expect(run('tar', ['-xzf', join(root, 'copy.pxp'), '-C', x], { cwd: root }).code).toBe(0);
    const sums = run('sha256sum', ['-c', '_pxp/SHA256SUMS'], { cwd: x });
    expect(sums.code, sums.output).toBe(0);
    expect(sums.stdout).toContain('dist/server.js: OK');
    const verify = run(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pub,
        '-rawin',
        '-in',
        '_pxp/SHA256SUMS',
        '-sigfile',
        '_pxp/SHA256SUMS.sig',
      ],
      { cwd: x },
    );
    expect(verify.code, verify.output).toBe(0);
    expect(verify.stdout).toContain('Signature Verified Successfully');
  });

  it('validate --trust <pub.pem> passes every check and exits 0', () => {
    const r = npx(['validate', '--trust', pub, '--no-default-keys', PKG], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('✓ valid');
    const json = launcher(['validate', '--trust', pub, '--no-default-keys', '--json', PKG], {
      cwd: project,
      home,
    });
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ id: string; ok: boolean }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(['archive.safety', 'integrity.hashes', 'signature.valid', 'signature.trusted']),
    );
  });

  it('validate fails with PXP_KEY_UNTRUSTED and exit code 1 when the signing key is not trusted', () => {
    const r = launcher(['validate', '--no-default-keys', PKG], { cwd: project, home });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('PXP_KEY_UNTRUSTED');
  });

  it('inspect shows the manifest summary, every file with its size, and the signer', () => {
    const r = launcher(['inspect', PKG], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    for (const text of [
      'com.example.plugin.p 0.1.0',
      'dist/server.js',
      'admin/index.html',
      'manifest.json',
      'GREETING',
      'API_KEY',
      'customers ×25',
    ]) {
      expect(r.stdout).toContain(text);
    }
    const info = JSON.parse(launcher(['inspect', '--json', PKG], { cwd: project, home }).stdout) as {
      manifest: { id: string };
      signer: { keyId: string };
      files: Array<{ path: string; size: number }>;
    };
    expect(info.manifest.id).toBe('com.example.plugin.p');
    expect(r.stdout).toContain(info.signer.keyId);
    expect(info.files.find((f) => f.path === 'dist/server.js')!.size).toBeGreaterThan(0);
  });

  it('signs with the key named by --key or PX_PLUGIN_KEY instead of the default key', () => {
    const other = join(root, 'release');
    const made = JSON.parse(launcher(['keygen', '--out', other, '--json'], { cwd: root, home }).stdout) as {
      keyId: string;
    };
    const viaFlag = launcher(
      ['build', '--key', `${other}.key.pem`, '--out', join(root, 'via-flag.pxp'), '--json'],
      { cwd: project, home },
    );
    expect(viaFlag.code, viaFlag.output).toBe(0);
    expect((JSON.parse(viaFlag.stdout) as { signer: { keyId: string } }).signer.keyId).toBe(made.keyId);
    const inspected = launcher(['inspect', '--json', join(root, 'via-flag.pxp')], { cwd: root, home });
    expect((JSON.parse(inspected.stdout) as { signer: { keyId: string } }).signer.keyId).toBe(made.keyId);
    const env = { ...shellEnv(home), PX_PLUGIN_KEY: `${other}.key.pem` };
    const built = spawnSync(process.execPath, [LAUNCHER, 'build', '--out', join(root, 'via-env'), '--json'], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
    expect((JSON.parse(built.stdout) as { signer: { keyId: string; source: string } }).signer).toMatchObject({
      keyId: made.keyId,
      source: 'PX_PLUGIN_KEY',
    });
    const missing = launcher(['build', '--key', join(root, 'nope.key.pem')], { cwd: project, home });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('KEY_NOT_FOUND');
  });

  it('validate on a project folder builds it into a temporary package and validates that', () => {
    const r = launcher(['validate', '.'], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('(project;');
    expect(readdirSync(project).filter((f) => f.endsWith('.pxp'))).toEqual([PKG]);
  });

  it('building twice gives byte-identical packages', () => {
    const r = launcher(['build'], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(project, PKG)).equals(firstBuild)).toBe(true);
  });

  // A host without user namespaces cannot run this check: it is reported as skipped, never passed.
  it.skipIf(spawnSync('unshare', ['-rn', 'true']).status !== 0)(
    'builds with no network at all: npx px-plugin build inside an empty network namespace',
    () => {
      // unshare -rn: a user and network namespace with no interface up, so any download attempt
      // (npx fetching a package, esbuild fetching a binary) would fail the build.
      const r = finish(
        spawnSync('unshare', ['-rn', 'npx', 'px-plugin', 'build'], {
          cwd: project,
          env: shellEnv(home),
          encoding: 'utf8',
          timeout: 120_000,
        }),
      );
      expect(r.code, r.output).toBe(0);
      expect(readFileSync(join(project, PKG)).equals(firstBuild)).toBe(true);
    },
  );

  it('the same project in another folder builds the same bytes', () => {
    const elsewhere = join(root, 'elsewhere', 'deeper', 'p');
    expect(
      launcher(['init', elsewhere, '--id', 'com.example.plugin.p', '--name', 'P'], { cwd: root, home }).code,
    ).toBe(0);
    const r = launcher(['build', elsewhere], { cwd: root, home });
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(elsewhere, PKG)).equals(firstBuild)).toBe(true);
  });

  it('a syntax error fails the build with BUILD_FAILED at src/server.ts:line and leaves the last package alone', () => {
    const server = join(project, 'src/server.ts');
    const source = readFileSync(server, 'utf8').split('\n');
    const line = source.findIndex((l) => l.includes("'GET /healthz'")) + 1;
    source[line - 1] = '    const broken = ;';
    writeFileSync(server, source.join('\n'));
    const r = npx(['build'], { cwd: project, home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BUILD_FAILED');
    expect(r.stderr).toContain(`src/server.ts:${line}:`);
    expect(readFileSync(join(project, PKG)).equals(firstBuild)).toBe(true);
    expect(readdirSync(project).filter((f) => f.includes('.tmp') || f.includes('partial'))).toEqual([]);
  });

  it('build --no-sign makes an unsigned package that validate refuses unless --allow-unsigned', () => {
    writeFileSync(
      join(project, 'src/server.ts'),
      readFileSync(join(REPO_ROOT, 'packages/cli/templates/plugin/src/server.ts'), 'utf8').replaceAll(
        '{{slug}}',
        'p',
      ),
    );
    const out = join(root, 'unsigned');
    const r = launcher(['build', '--no-sign', '--out', out], { cwd: project, home });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('unsigned');
    const pkg = join(out, PKG);
    const refused = launcher(['validate', pkg], { cwd: root, home });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('PXP_UNSIGNED');
    expect(launcher(['validate', '--allow-unsigned', pkg], { cwd: root, home }).code).toBe(0);
    // sign adds the signature; the result is the very package build would have made with the key.
    const signed = launcher(['sign', pkg, '--out', join(root, 'signed.pxp')], { cwd: root, home });
    expect(signed.code, signed.output).toBe(0);
    expect(readFileSync(join(root, 'signed.pxp')).equals(firstBuild)).toBe(true);
  });
});
