import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { PxError, type SigningKey } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { defaultKeyPrefix } from '../cli-paths.ts';
import { out } from '../output.ts';

export function registerKeys(program: Command, _ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('register the public keys core trusts for your sandbox installs');
  keys
    .command('add')
    .description('register a public key (the .pub.pem that keygen made)')
    .argument('[pub.pem]', 'public key file', `${defaultKeyPrefix()}.pub.pem`)
    .option('--name <name>', 'a name to recognise it by (default: the file name)')
    .option('--json', 'print as JSON')
    .action(async (file: string, opts: { name?: string; json?: boolean }) => {
      const path = resolve(file);
      const pem = await readFile(path, 'utf8').catch(() => {
        throw new PxError('KEY_NOT_FOUND', { path: file });
      });
      const api = await ApiClient.fromEnvironment();
      const key = await api.post<SigningKey>('/api/me/keys', {
        publicKeyPem: pem,
        name: opts.name ?? basename(path),
      });
      if (opts.json) return out.json(key);
      out.line(
        `${out.style.ok('✓')} registered key ${out.style.bold(key.keyId)} (${key.name}): packages you sign with it install into your sandbox tenants`,
      );
    });
  keys
    .command('list')
    .description('your registered keys')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const { keys: list } = await api.get<{ keys: SigningKey[] }>('/api/me/keys');
      if (opts.json) return out.json({ keys: list });
      if (!list.length) return out.line('no keys registered (px-plugin keys add)');
      for (const k of list) out.line(`${k.keyId}  ${k.name}  ${out.style.dim(k.createdAt)}`);
    });
  keys
    .command('remove')
    .description('unregister a key (packages signed with it are no longer trusted)')
    .argument('<keyId>', 'key id from keys list')
    .option('--json', 'print as JSON')
    .action(async (keyId: string, opts: { json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      await api.delete(`/api/me/keys/${encodeURIComponent(keyId)}`);
      if (opts.json) return out.json({ ok: true, keyId });
      out.line(`${out.style.ok('✓')} removed key ${keyId}`);
    });
}
