import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { signPackage } from '@powerx/package-format';
import type { CliContext } from '../context.ts';
import { requireSigningKey } from '../keys/signing-key.ts';
import { out } from '../output.ts';

export function registerSign(program: Command, _ctx: CliContext): void {
  program
    .command('sign')
    .description('(re)sign an existing .pxp package with your key')
    .argument('<pkg>', 'the .pxp file')
    .option(
      '-k, --key <file>',
      'private key (default: $PX_PLUGIN_KEY, then ~/.px-plugin/keys/default.key.pem)',
    )
    .option('-o, --out <file>', 'write the signed package here instead of replacing <pkg>')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  px-plugin sign com.example.plugin.hello-0.1.0.pxp --key ./release.key.pem',
    )
    .action(async (pkg: string, opts: { key?: string; out?: string; json?: boolean }) => {
      const key = await requireSigningKey({ key: opts.key });
      const target = resolve(opts.out ?? pkg);
      await signPackage(resolve(pkg), key.privateKeyPem, opts.out ? { outFile: target } : {});
      const result = {
        ok: true,
        package: target,
        keyId: key.keyId,
        keyPath: key.path,
        keySource: key.source,
      };
      if (opts.json) return out.json(result);
      out.line(
        `${out.style.ok('✓')} signed ${relative(process.cwd(), target)} with key ${out.style.bold(key.keyId)} (${key.source})`,
      );
    });
}
