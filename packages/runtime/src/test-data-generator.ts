/**
 * generateTestData (test-data.ts) off core's heap and event loop. The schemas come from the
 * package: a hostile one (arrays of millions of items, in 10 000 records) made core itself
 * allocate until it died, and blocked its event loop all along. Here a worker thread with a heap
 * limit and a deadline generates the records, and dies instead: the install fails with
 * TEST_DATA_LIMIT.
 *
 * One worker serves every install, one generation at a time, and is kept for the next: starting
 * one loads the faker libraries again, about half a second, which would double an install.
 * After a failure (too large, too slow, out of memory) it is replaced, so that nothing the hostile
 * schema left behind carries over; when idle for a while it ends, giving its memory back.
 */
import { Worker } from 'node:worker_threads';
import { PxError, type TestDataSpec } from '@powerx/protocol';

type Records = Record<string, Array<Record<string, unknown>>>;

interface Reply {
  id: number;
  ok: boolean;
  data?: Records;
  detail?: string;
}

export interface TestDataGeneratorOptions {
  /** Heap of the generating worker (MB). */
  heapMb?: number;
  /** Longest a generation may take (ms). */
  timeoutMs?: number;
  /** An idle worker ends after this long (ms). */
  idleMs?: number;
}

export class IsolatedTestDataGenerator {
  readonly #heapMb: number;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  #worker: Worker | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  /** Workers started so far (one, unless a generation failed or the worker went idle). */
  workersStarted = 0;

  constructor(opts: TestDataGeneratorOptions = {}) {
    this.#heapMb = opts.heapMb ?? 256;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#idleMs = opts.idleMs ?? 60_000;
  }

  /** The records of `specs`, at most `maxBytes` of JSON (the plugin's storage limit). */
  generate(specs: TestDataSpec[], seed: string, limits: { maxBytes: number }): Promise<Records> {
    const run = this.#tail.then(() => this.#generate(specs, seed, limits.maxBytes));
    this.#tail = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #spawn(): Worker {
    this.workersStarted++;
    const worker = new Worker(new URL('./test-data-worker.ts', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb, maxYoungGenerationSizeMb: 32 },
      stdout: true,
      stderr: true,
    });
    // An idle worker never keeps core's process alive.
    worker.unref();
    return worker;
  }

  #retire(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    void worker.terminate();
  }

  #generate(specs: TestDataSpec[], seed: string, maxBytes: number): Promise<Records> {
    clearTimeout(this.#idleTimer);
    const worker = (this.#worker ??= this.#spawn());
    const id = this.#nextId++;
    const refuse = (detail: string) => new PxError('TEST_DATA_LIMIT', { detail });
    return new Promise<Records>((resolve, reject) => {
      const end = (failed: boolean, settle: () => void) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (failed) this.#retire(worker);
        else {
          this.#idleTimer = setTimeout(() => this.#retire(worker), this.#idleMs);
          this.#idleTimer.unref();
        }
        settle();
      };
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        if (m.ok) end(false, () => resolve(m.data!));
        else end(true, () => reject(refuse(m.detail ?? 'the generator failed')));
      };
      const onError = (error: Error & { code?: string }) =>
        end(true, () =>
          reject(
            refuse(
              error.code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? `generating the records needed more than ${this.#heapMb} MB of memory`
                : `the generator failed: ${error.message.slice(0, 300)}`,
            ),
          ),
        );
      const onExit = (code: number) =>
        end(true, () => reject(refuse(`the generator stopped (exit code ${code})`)));
      const timer = setTimeout(
        () => end(true, () => reject(refuse(`generating the records took over ${this.#timeoutMs} ms`))),
        this.#timeoutMs,
      );
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, specs, seed, maxBytes });
    });
  }
}
