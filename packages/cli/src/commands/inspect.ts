import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  extractPackage,
  MANIFEST_PATH,
  parseSigner,
  SIGNER_PATH,
  type SignerInfo,
} from '@powerx/package-format';
import type { CliContext } from '../context.ts';
import { formatBytes, out } from '../output.ts';

export function registerInspect(program: Command, _ctx: CliContext): void {
  program
    .command('inspect')
    .description('show a package: manifest summary, files with sizes, signer')
    .argument('<pkg>', 'the .pxp file')
    .option('--json', 'print everything as JSON (the full manifest included)')
    .addHelpText('after', '\nInspect only reads; `px-plugin validate` checks hashes, signature and trust.')
    .action(async (pkg: string, opts: { json?: boolean }) => {
      const info = await inspectPackage(resolve(pkg));
      if (opts.json) return out.json({ ok: true, ...info });
      printInspect(info);
    });
}

export interface PackageInfo {
  package: string;
  sha256: string;
  size: number;
  uncompressedBytes: number;
  /** manifest.json as found (not normalized or checked), or undefined with manifestProblem set. */
  manifest?: Record<string, unknown>;
  manifestProblem?: string;
  signer?: SignerInfo;
  signerProblem?: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

/** Unpacks safely into a temp folder (all archive limits apply), reads what it needs, removes it. */
export async function inspectPackage(pkgFile: string): Promise<PackageInfo> {
  const staged = await extractPackage(pkgFile);
  try {
    const info: PackageInfo = {
      package: pkgFile,
      sha256: staged.packageSha256,
      size: staged.compressedBytes,
      uncompressedBytes: staged.uncompressedBytes,
      files: staged.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    };
    const has = (path: string) => staged.files.some((f) => f.path === path);
    if (!has(MANIFEST_PATH)) info.manifestProblem = 'no manifest.json';
    else {
      try {
        info.manifest = JSON.parse(await readFile(join(staged.dir, MANIFEST_PATH), 'utf8')) as Record<
          string,
          unknown
        >;
      } catch (error) {
        info.manifestProblem = `manifest.json is not JSON: ${(error as Error).message}`;
      }
    }
    if (has(SIGNER_PATH)) {
      const parsed = parseSigner(await readFile(join(staged.dir, SIGNER_PATH)));
      if (parsed.ok) info.signer = parsed.signer;
      else info.signerProblem = parsed.detail;
    }
    return info;
  } finally {
    await staged.remove();
  }
}

function printInspect(info: PackageInfo): void {
  const s = out.style;
  const m = info.manifest as ManifestView | undefined;
  out.line(m ? `${s.bold(`${m.id} ${m.version}`)}  ${m.name ?? ''}` : s.fail(`✗ ${info.manifestProblem}`));
  const row = (label: string, value: string | undefined) => {
    if (value) out.line(`  ${label.padEnd(12)} ${value}`);
  };
  row(
    'package',
    `${relative(process.cwd(), info.package) || info.package}  ${formatBytes(info.size)}  sha256 ${info.sha256}`,
  );
  if (m) {
    row('description', m.description || undefined);
    row('powerx', m.powerx);
    if (m.runtime) {
      const health = m.runtime.health
        ? ` (health ${m.runtime.health.path}, ${m.runtime.health.timeoutMs} ms)`
        : '';
      row('runtime', `${m.runtime.kind} ${m.runtime.entry}${health}`);
    }
    row('permissions', list(m.permissions));
    row('requires', list(Object.entries(m.requires ?? {}).map(([id, range]) => `${id} ${range}`)));
    row('conflicts', list(Object.entries(m.conflicts ?? {}).map(([id, range]) => `${id} ${range}`)));
    row(
      'events',
      list([
        ...(m.events?.publish ?? []).map((e) => `publish ${e}`),
        ...(m.events?.subscribe ?? []).map((e) => `subscribe ${e}`),
      ]),
    );
    if (m.resources)
      row(
        'resources',
        `memory ${m.resources.memoryMb} MB · cpu ${m.resources.cpuPercent}% · disk ${m.resources.diskMb} MB`,
      );
    row(
      'env',
      list(
        (m.config?.env ?? []).map(
          (v) =>
            `${v.name} (${v.type ?? 'string'}${v.required ? ', required' : ''}${v.default !== undefined ? `, default ${JSON.stringify(v.default)}` : ''})`,
        ),
      ),
    );
    row('secrets', list((m.config?.secrets ?? []).map((v) => `${v.name}${v.required ? ' (required)' : ''}`)));
    row('log level', m.config?.logLevel);
    row('test data', list((m.sandbox?.testData ?? []).map((t) => `${t.collection} ×${t.count}`)));
    row('seed', m.sandbox?.seed);
    if (m.admin?.staticDir || m.admin?.menus?.length) {
      row(
        'admin',
        `${m.admin.staticDir ?? '-'}/  menus: ${list((m.admin.menus ?? []).map((menu) => `${menu.title} (${menu.route})`)) ?? 'none'}`,
      );
    }
  }
  row(
    'signer',
    info.signer
      ? `keyId ${s.bold(info.signer.keyId)} (${info.signer.algorithm})`
      : info.signerProblem
        ? s.fail(info.signerProblem)
        : s.warn('unsigned'),
  );
  out.line(`  files (${info.files.length}, ${formatBytes(info.files.reduce((sum, f) => sum + f.size, 0))})`);
  const width = Math.max(...info.files.map((f) => formatBytes(f.size).length));
  for (const f of info.files) out.line(`    ${s.dim(formatBytes(f.size).padStart(width))}  ${f.path}`);
}

const list = (items: string[] | undefined) => (items && items.length ? items.join(', ') : undefined);

/** The fields inspect shows; manifest.json is read as found, so every field may be missing. */
interface ManifestView {
  id?: string;
  name?: string;
  version?: string;
  description?: string;
  powerx?: string;
  runtime?: { kind?: string; entry?: string; health?: { path?: string; timeoutMs?: number } };
  permissions?: string[];
  requires?: Record<string, string>;
  conflicts?: Record<string, string>;
  events?: { publish?: string[]; subscribe?: string[] };
  resources?: { memoryMb?: number; cpuPercent?: number; diskMb?: number };
  config?: {
    env?: Array<{ name: string; type?: string; required?: boolean; default?: unknown }>;
    secrets?: Array<{ name: string; required?: boolean }>;
    logLevel?: string;
  };
  sandbox?: { testData?: Array<{ collection: string; count: number }>; seed?: string };
  admin?: { staticDir?: string; menus?: Array<{ title: string; route: string }> };
}
