/**
 * `npm run cluster:node -- <id> <port>`: one core node of a local cluster on the PostgreSQL
 * (127.0.0.1:5432, database `test`) and NATS JetStream (127.0.0.1:4222) this machine runs, so that
 * two terminals (`… a 8081`, `… b 8082`) make a two-node cluster. Every PX_* variable set in the
 * environment wins over these defaults.
 *
 * The nodes of a cluster must share the master key (secrets sealed on one node are opened on
 * another) and the audit key (one chain): the first node to start writes both into
 * `.px-cluster/` (mode 0600, created exclusively so two nodes starting at once agree), the others
 * read them. Each node keeps its data folder in `.px-cluster/<id>`. The first node up installs
 * the hello example; the others find it running and serve it too.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { startCore } from '@powerx/core';
import { isPxError } from '@powerx/protocol';
import { HELLO_ID, SANDBOX, ensureHelloInstalled } from './quickstart-hello.ts';

const USAGE = 'usage: npm run cluster:node -- <node id> <port>   (e.g. a 8081, then b 8082)';

/** The key in `file`, made by whichever node gets there first. */
async function sharedKey(file: string): Promise<string> {
  try {
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A node that lost the race may read before the winner's write landed: wait for the whole key.
  for (let attempt = 0; ; attempt++) {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length === 44 || attempt > 50) return key;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const [id, port] = process.argv.slice(2);
  if (!id || !/^[A-Za-z0-9_-]{1,40}$/.test(id) || !port || !/^\d{1,5}$/.test(port)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  // PX_CLUSTER_DIR: where the nodes' folders and shared keys go (tests use a temporary one).
  const root = resolve(process.env.PX_CLUSTER_DIR ?? '.px-cluster');
  await mkdir(root, { recursive: true, mode: 0o700 });
  const env = process.env;
  env.PX_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
  env.PX_DATABASE_SCHEMA ??= 'px_local';
  env.PX_NATS_URL ??= 'nats://127.0.0.1:4222';
  env.PX_NATS_PREFIX ??= 'pxlocal';
  env.PX_NODE_ID ??= id;
  env.PX_PORT ??= port;
  env.PX_DATA_DIR ??= join(root, id);
  env.PX_MASTER_KEY ??= await sharedKey(join(root, 'master.key'));
  if (!env.PX_AUDIT_KEY && !env.PX_AUDIT_KEY_FILE) {
    await sharedKey(join(root, 'audit.key'));
    env.PX_AUDIT_KEY_FILE = join(root, 'audit.key');
  }

  const core = await startCore({ logLevel: env.PX_LOG_LEVEL ?? 'warn' });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // SIGTERM drains: this node hands its plugins to the others before it exits.
    process.stdout.write(`\n${signal}: handing plugins over and stopping node ${id}…\n`);
    core.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  let helloLine: string;
  try {
    helloLine = await ensureHelloInstalled(core);
  } catch (error) {
    // Two nodes started together both try; the one that loses finds it installed by the other.
    helloLine = `not installed by this node (${(error as Error).message.split('\n')[0]})`;
  }
  const entry = core.entryUrl(SANDBOX, HELLO_ID);
  process.stdout.write(
    [
      `PowerX core ${core.coreVersion}, cluster node ${id}, on ${core.url}`,
      `  Admin          ${core.url}/admin/`,
      `  hello plugin   ${helloLine}`,
      `  entry point    ${entry}hello   (answers on every node)`,
      `  admin token    ${core.dataDir}/admin-token   (export PX_TOKEN=$(cat ${core.dataDir}/admin-token) PX_API_URL=${core.url})`,
      ...(core.adminPassword
        ? [
            `  admin user     admin / ${core.adminPassword}   (shown once; also in ${core.dataDir}/admin-password)`,
          ]
        : []),
      `  metrics        ${core.url}/metrics   (series labelled node="${id}")`,
      `  store, bus     ${env.PX_DATABASE_URL} (schema ${env.PX_DATABASE_SCHEMA}), ${env.PX_NATS_URL} (prefix ${env.PX_NATS_PREFIX})`,
      'Ctrl-C (or SIGTERM) hands this node’s plugins to the others, then stops it.',
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  if (isPxError(error))
    process.stderr.write(`error ${error.code}: ${error.message}\n  hint: ${error.hint}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
