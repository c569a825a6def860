import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { validatePackage, type PackageValidationReport } from '@powerx/package-format';
import type { ValidationCheck } from '@powerx/protocol';
import { buildProject, type BuildResult } from '../build/build-project.ts';
import type { CliContext } from '../context.ts';
import { trustedKeys, type TrustedKey } from '../keys/trusted-keys.ts';
import { formatMs, out } from '../output.ts';
import { EXIT } from '../report-error.ts';
import { validateOnCore } from './validate-on-core.ts';

interface ValidateOpts {
  trust?: string[];
  defaultKeys: boolean;
  coreVersion?: string;
  allowUnsigned?: boolean;
  key?: string;
  sign: boolean;
  json?: boolean;
  tenant?: string;
  url?: string;
}

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description(
      'run every check core runs on upload: archive safety, manifest, hashes, signature, trust, core version',
    )
    .argument(
      '<target>',
      'a .pxp file, an unpacked package folder (has _pxp/), or a plugin project folder (built to a temporary package first)',
    )
    .option(
      '-t, --trust <pub.pem>',
      'trust this public key (repeatable); ~/.px-plugin/keys/*.pub.pem are trusted too',
      collect,
    )
    .option('--no-default-keys', 'trust only the --trust keys, not ~/.px-plugin/keys/*.pub.pem')
    .option('--core-version <version>', 'also check the manifest\'s "powerx" range against this core version')
    .option(
      '--allow-unsigned',
      'accept an unsigned package (what a dev-mode core does for sandbox tenants that allow it)',
    )
    .option(
      '-k, --key <file>',
      'project folders only: key to sign the temporary build with (default: as for build)',
    )
    .option('--no-sign', 'project folders only: build the temporary package unsigned')
    .option('--json', 'print the report as JSON')
    .option(
      '--tenant <tenant>',
      "let core validate it for this tenant instead (quota, dependencies, and whether it also fits the tenant's production counterpart); needs PX_API_URL/PX_TOKEN or px-plugin login",
    )
    .option('--url <url>', 'core to ask with --tenant (default PX_API_URL, then px-plugin login)')
    .addHelpText(
      'after',
      '\nExit code 1 when any check fails (a production-parity warning alone does not fail).\nExamples:\n  px-plugin validate com.example.plugin.hello-0.1.0.pxp\n  px-plugin validate pkg.pxp --trust platform.pub.pem --no-default-keys --core-version 1.4.0 --json\n  px-plugin validate .\n  px-plugin validate pkg.pxp --tenant sandbox-dev',
    )
    .action(async (target: string, opts: ValidateOpts) => {
      const { keys, skipped } = await trustedKeys(opts.trust ?? [], { includeDefaults: opts.defaultKeys });
      const input = resolve(target);
      const kind = await targetKind(input);
      let built: BuildResult | undefined;
      let tempDir: string | undefined;
      try {
        let packagePath = input;
        if (kind === 'project') {
          tempDir = await mkdtemp(join(tmpdir(), 'px-validate-'));
          built = await buildProject(input, {
            out: tempDir,
            key: opts.key,
            sign: opts.sign,
            writeDist: false,
          });
          packagePath = built.packagePath;
        }
        if (opts.tenant)
          return await validateOnCore(ctx, packagePath, {
            tenant: opts.tenant,
            url: opts.url,
            json: opts.json,
          });
        const report = await validatePackage(packagePath, {
          trustedKeys: keys.map((k) => k.pem),
          ...(opts.coreVersion !== undefined ? { coreVersion: opts.coreVersion } : {}),
          allowUnsigned: Boolean(opts.allowUnsigned),
        });
        if (!report.ok) ctx.exitCode = EXIT.CHECK_FAILED;
        const trusted = keys.map(({ keyId, path }) => ({ keyId, path }));
        if (opts.json) {
          return out.json({
            target: input,
            kind,
            trusted,
            ...(built
              ? { built: { sha256: built.sha256, size: built.size, signer: built.signer ?? null } }
              : {}),
            ...report,
          });
        }
        printReport(target, kind, report, keys, skipped, built);
      } finally {
        if (tempDir) await rm(tempDir, { recursive: true, force: true });
      }
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A folder with _pxp/ is an unpacked package; one with plugin.yaml or manifest.json (and no _pxp/) is a project. */
async function targetKind(input: string): Promise<'package' | 'package folder' | 'project'> {
  const st = await stat(input).catch(() => undefined);
  if (!st?.isDirectory()) return 'package'; // a missing file is reported by the validator as PXP_NOT_FOUND
  if (existsSync(join(input, '_pxp'))) return 'package folder';
  if (existsSync(join(input, 'plugin.yaml')) || existsSync(join(input, 'manifest.json'))) return 'project';
  return 'package folder';
}

function printReport(
  target: string,
  kind: string,
  report: PackageValidationReport,
  keys: TrustedKey[],
  skipped: string[],
  built?: BuildResult,
): void {
  const s = out.style;
  if (built)
    out.line(
      s.dim(
        `built ${target} into a temporary package in ${formatMs(built.totalMs)}${built.signer ? `, signed by ${built.signer.keyId}` : ', unsigned'}`,
      ),
    );
  const trustText = keys.length ? `trusting ${keys.map((k) => k.keyId).join(', ')}` : 'trusting no key';
  out.line(`Validating ${relative(process.cwd(), resolve(target)) || '.'} (${kind}; ${trustText})`);
  for (const path of skipped) out.line(s.warn(`  ! skipped ${path}: not a valid Ed25519 public key`));
  const width = Math.max(...report.checks.map((c) => c.title.length));
  for (const check of report.checks) out.line(checkLine(check, width));
  const failed = report.checks.filter((c) => !c.ok && c.code).length;
  const notRun = report.checks.filter((c) => !c.ok && !c.code).length;
  if (report.ok) {
    out.line(
      `${s.ok('✓')} valid: all ${report.checks.length} checks passed ${s.dim(`(${formatMs(report.durationMs)})`)}`,
    );
  } else {
    const extra = notRun ? `, ${notRun} not run` : '';
    out.line(
      `${s.fail('✗')} invalid: ${failed} of ${report.checks.length} checks failed${extra} ${s.dim(`(${formatMs(report.durationMs)})`)}`,
    );
  }
}

function checkLine(check: ValidationCheck, width: number): string {
  const s = out.style;
  const took = check.durationMs !== undefined ? s.dim(` ${formatMs(check.durationMs)}`) : '';
  if (check.ok) return `  ${s.ok('✓')} ${check.title.padEnd(width)}  ${s.dim(check.message)}${took}`;
  if (!check.code) return `  ${s.dim('–')} ${s.dim(check.title.padEnd(width))}  ${s.dim(check.message)}`;
  const hint = check.hint ? `\n      ${s.dim('hint:')} ${check.hint}` : '';
  return `  ${s.fail('✗')} ${check.title.padEnd(width)}  ${s.fail(check.code)} ${check.message}${took}${hint}`;
}
