import type { Command } from 'commander';
import { PxError, type Me, type TokenResponse } from '@powerx/protocol';
import { ApiClient, DEFAULT_API_URL, saveCredentials } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';
import { ask } from '../wizard-prompt.ts';

interface LoginOpts {
  url?: string;
  username?: string;
  password?: string;
  token?: string;
  json?: boolean;
}

export function registerLogin(program: Command, _ctx: CliContext): void {
  program
    .command('login')
    .description('sign in to core and store the API token in ~/.px-plugin/credentials.json (mode 0600)')
    .option('--url <url>', `core URL (default: $PX_API_URL or ${DEFAULT_API_URL})`)
    .option('-u, --username <name>', 'user name (asked on a TTY when missing)')
    .option(
      '-p, --password <password>',
      'password (asked on a TTY when missing; prefer the prompt, flags end up in shell history)',
    )
    .option(
      '--token <token>',
      'store an existing API token instead (e.g. the admin token core wrote to <data dir>/admin-token)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nPX_API_URL and PX_TOKEN, when set, override the stored credentials.\nExamples:\n  px-plugin login -u alice\n  px-plugin login --token "$(cat .px-data/admin-token)"',
    )
    .action(async (opts: LoginOpts) => {
      const url = opts.url ?? process.env.PX_API_URL ?? DEFAULT_API_URL;
      let token = opts.token;
      if (!token) {
        const username = opts.username ?? (await ask('username: '));
        const password = opts.password ?? (await ask('password: ', { secret: true }));
        if (!username || !password)
          throw new PxError('USAGE', { detail: 'username and password are needed (or --token)' });
        const anonymous = new ApiClient(url, undefined);
        token = (
          await anonymous.post<TokenResponse>('/api/auth/login', {
            username,
            password,
            tokenName: 'px-plugin login',
          })
        ).token;
      }
      const me = await new ApiClient(url, token).get<Me>('/api/me');
      const path = await saveCredentials({ url, token });
      if (opts.json)
        return out.json({
          ok: true,
          url,
          user: me.username,
          permissions: me.permissions,
          tenants: me.tenants,
          credentials: path,
        });
      out.line(
        `${out.style.ok('✓')} signed in to ${url} as ${out.style.bold(me.username)} (${me.permissions.join(', ') || 'no permissions'})`,
      );
      out.line(`  tenants  ${me.tenants.map((t) => `${t.id} (${t.kind})`).join(', ') || 'none'}`);
      out.line(`  token stored in ${path} (0600)`);
    });
}
