import { relative } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { scaffoldProject } from '../init/scaffold.ts';
import { out } from '../output.ts';

export function registerInit(program: Command, _ctx: CliContext): void {
  program
    .command('init')
    .description('create a TypeScript plugin project from the template')
    .argument('<dir>', 'folder to create (must be empty or missing)')
    .option('--id <id>', 'plugin id, lower-case reverse DNS (default: com.example.plugin.<folder name>)')
    .option('--name <name>', 'display name (default: from the id)')
    .option('--force', 'write into a non-empty folder, replacing template files')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  px-plugin init my-plugin --id com.acme.plugin.orders --name Orders')
    .action(async (dir: string, opts: { id?: string; name?: string; force?: boolean; json?: boolean }) => {
      const result = await scaffoldProject(dir, opts);
      if (opts.json) return out.json({ ok: true, ...result });
      const s = out.style;
      out.line(`${s.ok('✓')} created ${s.bold(result.name)} (${result.id}) in ${result.dir}`);
      for (const file of result.files) out.line(`  ${file}`);
      for (const link of result.links) out.line(`  ${link.path} ${s.dim(`→ ${link.target}`)}`);
      const rel = relative(process.cwd(), result.dir) || '.';
      const cd = rel.startsWith('..') ? result.dir : rel;
      out.line('');
      out.line('Next:');
      if (cd !== '.') out.line(`  cd ${cd}`);
      out.line(
        `  npx px-plugin keygen   ${s.dim('# once per machine: your signing key in ~/.px-plugin/keys/')}`,
      );
      out.line(`  npx px-plugin build    ${s.dim('# bundles src/, writes a signed .pxp')}`);
    });
}
