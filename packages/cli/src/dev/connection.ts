/**
 * Where core is and which token to use, the way api-client.ts resolves them (PX_API_URL /
 * PX_TOKEN, then ~/.px-plugin/credentials.json), plus --url / --token. The token itself is
 * needed too: the WebSocket log stream authenticates with it.
 */
import { readFile } from 'node:fs/promises';
import { PxError } from '@powerx/protocol';
import { ApiClient, DEFAULT_API_URL, credentialsPath } from '../api-client.ts';

/** URL and token the way api-client.ts resolves them, plus --url / --token. The token is also needed for the WebSocket. */
export async function connection(opts: {
  url?: string;
  token?: string;
}): Promise<{ api: ApiClient; token: string }> {
  const stored = (await readFile(credentialsPath(), 'utf8')
    .then((t) => JSON.parse(t) as { url?: string; token?: string })
    .catch(() => ({}))) as { url?: string; token?: string };
  const url = opts.url ?? process.env.PX_API_URL ?? stored.url ?? DEFAULT_API_URL;
  const token = opts.token ?? process.env.PX_TOKEN ?? stored.token;
  if (!token)
    throw new PxError('AUTH_REQUIRED', {}, { hint: 'Run `px-plugin login`, set PX_TOKEN, or pass --token.' });
  return { api: new ApiClient(url, token), token };
}
