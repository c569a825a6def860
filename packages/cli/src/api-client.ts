/**
 * The CLI's client of the core REST API. Where to talk and with what token: PX_API_URL and
 * PX_TOKEN override ~/.px-plugin/credentials.json (written by `px-plugin login`, mode 0600).
 * Error bodies of core ({code, message, hint, details}) become PxErrors, so report-error.ts
 * prints them like any local error.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream, openAsBlob } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PxError, isErrorCode, type ErrorBody } from '@powerx/protocol';
import { clientVersionHeaders, versionHandshake } from './version-handshake.ts';
import { coreUnreachable } from './core-unreachable.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8077';

export interface Credentials {
  url: string;
  token: string;
}

export function credentialsPath(): string {
  return join(process.env.HOME || homedir(), '.px-plugin', 'credentials.json');
}

export async function saveCredentials(credentials: Credentials): Promise<string> {
  const path = credentialsPath();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

async function storedCredentials(): Promise<Partial<Credentials>> {
  try {
    return JSON.parse(await readFile(credentialsPath(), 'utf8')) as Partial<Credentials>;
  } catch {
    return {};
  }
}

function errorFromBody(status: number, body: unknown): PxError {
  const b = body as Partial<ErrorBody> | undefined;
  if (b && typeof b.code === 'string' && typeof b.message === 'string') {
    const code = isErrorCode(b.code) ? b.code : 'INTERNAL';
    return new PxError(code, (b.details as Record<string, unknown>) ?? {}, {
      message: b.message,
      hint: b.hint ?? '',
    });
  }
  return new PxError(
    'INTERNAL',
    { ref: `HTTP ${status}` },
    { message: `Core answered HTTP ${status}`, hint: 'Check PX_API_URL points to a PowerX core.' },
  );
}

export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  /** The version handshake, once per client (session); retried after a failure to connect. */
  #handshake: Promise<unknown> | undefined;

  constructor(url: string, token: string | undefined) {
    this.url = url.replace(/\/+$/, '');
    this.#token = token;
  }

  /** The bearer token, for the WebSocket channels (they authenticate with an auth frame). */
  get token(): string | undefined {
    return this.#token;
  }

  /** From env (PX_API_URL, PX_TOKEN), then the credentials file, then the default URL. */
  static async fromEnvironment(opts: { url?: string; requireToken?: boolean } = {}): Promise<ApiClient> {
    const stored = await storedCredentials();
    const url = opts.url ?? process.env.PX_API_URL ?? stored.url ?? DEFAULT_API_URL;
    const token = process.env.PX_TOKEN ?? stored.token;
    if (opts.requireToken !== false && !token)
      throw new PxError('AUTH_REQUIRED', {}, { hint: 'Run `px-plugin login`, or set PX_TOKEN.' });
    return new ApiClient(url, token);
  }

  #ensureHandshake(): Promise<unknown> {
    this.#handshake ??= versionHandshake(this.url).catch((error: unknown) => {
      this.#handshake = undefined;
      throw error;
    });
    return this.#handshake;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    await this.#ensureHandshake();
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: {
          ...clientVersionHeaders(),
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw coreUnreachable(this.url, error);
    }
    return this.#parse<T>(response);
  }

  async #parse<T>(response: Response): Promise<T> {
    const text = await response.text();
    const parsed: unknown = text
      ? response.headers.get('content-type')?.includes('json')
        ? JSON.parse(text)
        : text
      : undefined;
    if (!response.ok) throw errorFromBody(response.status, parsed);
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  put<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /**
   * POSTs and streams a binary answer into `toFile`: written to `<file>.partial` (0600) and renamed
   * only when complete, so a cut connection never leaves something that looks like a whole file.
   */
  async download(path: string, toFile: string): Promise<{ bytes: number; headers: Headers }> {
    await this.#ensureHandshake();
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method: 'POST',
        headers: {
          ...clientVersionHeaders(),
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        },
      });
    } catch (error) {
      throw coreUnreachable(this.url, error);
    }
    if (!response.ok || !response.body) return this.#parse(response);
    const partial = `${toFile}.partial`;
    try {
      await pipeline(
        Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
        createWriteStream(partial, { mode: 0o600 }),
      );
      await rename(partial, toFile);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { bytes: (await stat(toFile)).size, headers: response.headers };
  }

  /** Multipart upload of a package; the tenant goes first so core applies its size limit at once. */
  async uploadPackage<T>(path: string, packageFile: string, fields: Record<string, string>): Promise<T> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('package', await openAsBlob(packageFile), 'package.pxp');
    await this.#ensureHandshake();
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method: 'POST',
        headers: {
          ...clientVersionHeaders(),
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        },
        body: form,
      });
    } catch (error) {
      throw coreUnreachable(this.url, error);
    }
    return this.#parse<T>(response);
  }
}
