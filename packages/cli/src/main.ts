/**
 * px-plugin: the plugin developer's CLI. The launcher (bin/px-plugin.js) imports this file on
 * Node 26; it builds the commander program, runs it, and turns any error into one message and
 * an exit code through report-error.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import type { CliContext } from './context.ts';
import { EXIT, reportError } from './report-error.ts';

export function buildProgram(ctx: CliContext): Command {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const program = new Command('px-plugin')
    .description('Build, sign, validate and inspect PowerX plugin packages (.pxp).')
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    // Errors are printed by report-error.ts only; commander throws instead of exiting.
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  program.hook('preAction', (_program, actionCommand) => {
    ctx.json = Boolean(actionCommand.opts().json);
  });
  for (const register of COMMANDS) register(program, ctx);
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok · 1 a check failed (validation, build, bad package) · 2 usage error · 3 other error.\nDocs: packages/cli/README.md',
  );
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const ctx: CliContext = { json: false, exitCode: EXIT.OK };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0; help shown for a missing command is a usage error.
      if (error.exitCode === 0) return EXIT.OK;
      if (error.code === 'commander.help') return EXIT.USAGE;
    }
    // Usage errors happen before any action ran, so look at the raw arguments for --json.
    return reportError(error, { json: ctx.json || argv.includes('--json') });
  }
}

process.exitCode = await main(process.argv);
