import { homedir } from 'node:os';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { buildProject, type BuildResult } from '../build/build-project.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatMs, out } from '../output.ts';

export function registerBuild(program: Command, _ctx: CliContext): void {
  program
    .command('build')
    .description('bundle src/ with esbuild into dist/ and write a signed <id>-<version>.pxp')
    .argument('[dir]', 'plugin project folder', '.')
    .option(
      '-o, --out <path>',
      'output .pxp file, or a folder for <id>-<version>.pxp (default: the project folder)',
    )
    .option(
      '-k, --key <file>',
      'private key to sign with (default: $PX_PLUGIN_KEY, then ~/.px-plugin/keys/default.key.pem)',
    )
    .option('--no-sign', 'do not sign, even if a key is configured (dev builds)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  px-plugin build\n  px-plugin build --key ./release.key.pem --out build/\n  px-plugin build --no-sign',
    )
    .action(async (dir: string, opts: { out?: string; key?: string; sign: boolean; json?: boolean }) => {
      const result = await buildProject(dir, { out: opts.out, key: opts.key, sign: opts.sign });
      if (opts.json) return out.json({ ok: true, ...result });
      printBuild(result);
    });
}

function printBuild(r: BuildResult): void {
  const s = out.style;
  const show = (path: string) => relative(process.cwd(), path) || '.';
  const home = (path: string) => path.replace(homedir(), '~');
  out.line(`${s.ok('✓')} built ${s.bold(`${r.manifest.id} ${r.manifest.version}`)} → ${show(r.packagePath)}`);
  for (const b of r.bundled) out.line(`  bundled  ${b.source} → ${b.output}`);
  const width = Math.max(...r.files.map((f) => f.path.length));
  r.files.forEach((f, i) =>
    out.line(`  ${i === 0 ? 'files  ' : '       '}  ${f.path.padEnd(width)}  ${s.dim(formatBytes(f.size))}`),
  );
  out.line(
    `  ${s.dim('         + _pxp/SHA256SUMS' + (r.signer ? ', _pxp/SHA256SUMS.sig, _pxp/signer.json' : ''))}`,
  );
  out.line(`  package  ${formatBytes(r.size)}  sha256 ${r.sha256}`);
  if (r.signer) {
    out.line(
      `  signed   keyId ${s.bold(r.signer.keyId)} ${s.dim(`(${r.signer.source}: ${home(r.signer.keyPath)})`)}`,
    );
  } else if (r.unsigned === 'no-sign') {
    out.line(
      `  ${s.warn('unsigned')} (--no-sign): accepted only by a dev-mode core in a sandbox tenant that allows unsigned packages`,
    );
  } else {
    out.line(
      `  ${s.warn('unsigned')}: no signing key found (--key, $PX_PLUGIN_KEY or ~/.px-plugin/keys/default.key.pem).`,
    );
    out.line(
      `           To sign: \`px-plugin keygen\` once, then build again — or \`px-plugin sign ${show(r.packagePath)} --key <file>\`.`,
    );
  }
  const timings = r.steps.map((step) => `${step.name} ${formatMs(step.ms)}`).join(' · ');
  out.line(`  time     ${timings} · ${s.bold(`total ${formatMs(r.totalMs)}`)}`);
}
