/**
 * The runner's side of the IPC channel. Runs inside the sandboxed process, next to plugin code,
 * so it trusts nothing for security: the supervisor re-checks size, shape and permission of every
 * message. The checks here exist to give plugin authors a clear error early.
 */
import { PluginCallError } from '@powerx/plugin-sdk';

type Send = (message: unknown, handle?: undefined) => boolean;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class RpcClient {
  readonly #send: Send;
  readonly #maxBytes: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(send: Send, maxBytes: number) {
    this.#send = send;
    this.#maxBytes = maxBytes;
  }

  /** Sends a message after checking its serialized size; throws RPC_MESSAGE_TOO_LARGE above the cap. */
  post(message: object): void {
    const serialized = JSON.stringify(message);
    const size = Buffer.byteLength(serialized);
    if (size > this.#maxBytes) throw tooLarge(size, this.#maxBytes);
    this.#send(message);
  }

  call(method: string, args: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.post({ t: 'rpc', id, method, args });
      } catch (error) {
        reject(error as Error);
        return;
      }
      this.#pending.set(id, { resolve, reject });
    });
  }

  /** Feeds an `rpc.result` from the supervisor; results for unknown ids are ignored. */
  settle(result: {
    id: number;
    ok: boolean;
    value?: unknown;
    error?: { code: string; message: string; hint: string };
  }): void {
    const pending = this.#pending.get(result.id);
    if (!pending) return;
    this.#pending.delete(result.id);
    if (result.ok) pending.resolve(result.value);
    else
      pending.reject(
        new PluginCallError(result.error ?? { code: 'RPC_INVALID', message: 'RPC failed', hint: '' }),
      );
  }
}

export function tooLarge(size: number, limit: number): PluginCallError {
  return new PluginCallError({
    code: 'RPC_MESSAGE_TOO_LARGE',
    message: `An RPC message of ${size} bytes exceeds the ${limit}-byte cap`,
    hint: 'Send less data per call; page through collections instead.',
  });
}
