import { homedir } from 'node:os';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { writeKeyPair } from '../keys/write-key-pair.ts';
import { out } from '../output.ts';

export function registerKeygen(program: Command, _ctx: CliContext): void {
  program
    .command('keygen')
    .description('create an Ed25519 signing key pair (PEM) and print its keyId')
    .option(
      '-o, --out <prefix>',
      'write <prefix>.key.pem and <prefix>.pub.pem (default: ~/.px-plugin/keys/default)',
    )
    .option(
      '--force',
      'replace an existing key (packages signed with it will no longer verify against the new one)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  px-plugin keygen\n  px-plugin keygen --out ./keys/release')
    .action(async (opts: { out?: string; force?: boolean; json?: boolean }) => {
      const pair = await writeKeyPair(opts);
      if (opts.json) return out.json({ ok: true, ...pair });
      const s = out.style;
      const home = (path: string) => path.replace(homedir(), '~');
      out.line(`${s.ok('✓')} created Ed25519 key ${s.bold(pair.keyId)}`);
      out.line(
        `  private  ${home(pair.privateKeyPath)}  ${s.dim('(0600: keep it secret, never commit it)')}`,
      );
      out.line(
        `  public   ${home(pair.publicKeyPath)}  ${s.dim('(share it: core trusts packages signed by this key once it is registered)')}`,
      );
    });
}
