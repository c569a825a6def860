/**
 * IPC brokers for node plugins, with one idle broker kept spawned ahead so a cold start spawns
 * only the plugin process (saves one Node start-up per start; costs one idle broker process).
 *
 * The broker's own limits: a small heap, so an endless line the plugin writes kills only the
 * broker (it normally catches that much earlier, see broker.ts), and a minimal environment.
 * `--jitless --single-threaded`: a relay needs no optimizing compiler or GC threads.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const BROKER_FLAGS = ['--max-old-space-size=48', '--max-semi-space-size=1', '--jitless', '--single-threaded'];
const BROKER_ENV = { LANG: 'C.UTF-8', TZ: 'UTC' };

type Refable = { ref?(): void; unref?(): void } | null;

export class BrokerPool {
  #spare?: ChildProcess;
  readonly nodePath: string;
  readonly cwd: string;
  readonly prewarm: boolean;

  constructor(nodePath: string, cwd: string, prewarm: boolean) {
    this.nodePath = nodePath;
    this.cwd = cwd;
    this.prewarm = prewarm;
  }

  #spawn(brokerPath: string): ChildProcess {
    return spawn(this.nodePath, [...BROKER_FLAGS, brokerPath], {
      cwd: this.cwd,
      env: BROKER_ENV,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
  }

  /** The spare broker when it is alive and idle, else a fresh one. */
  take(brokerPath: string): ChildProcess {
    const spare = this.#spare;
    this.#spare = undefined;
    if (
      spare &&
      spare.connected &&
      spare.exitCode === null &&
      spare.signalCode === null &&
      spare.spawnargs.includes(brokerPath)
    ) {
      spare.removeAllListeners('exit');
      spare.removeAllListeners('error');
      spare.ref();
      spare.channel?.ref();
      (spare.stdout as unknown as Refable)?.ref?.();
      (spare.stderr as unknown as Refable)?.ref?.();
      return spare;
    }
    spare?.kill('SIGKILL');
    return this.#spawn(brokerPath);
  }

  /** Spawns the next spare after a start is healthy, so it does not compete with that start. */
  refill(brokerPath: string): void {
    if (!this.prewarm || this.#spare) return;
    const spare = this.#spawn(brokerPath);
    // An idle spare must not keep core's event loop alive; it exits when core's channel closes.
    spare.unref();
    spare.channel?.unref();
    (spare.stdout as unknown as Refable)?.unref?.();
    (spare.stderr as unknown as Refable)?.unref?.();
    spare.on('error', () => undefined);
    spare.on('exit', () => {
      if (this.#spare === spare) this.#spare = undefined;
    });
    this.#spare = spare;
  }

  close(): void {
    this.#spare?.kill('SIGKILL');
    this.#spare = undefined;
  }
}
