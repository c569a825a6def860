/**
 * The background work of installs and the waiters on it. Each install runs as a task in the
 * background; `waitSettled` resolves once the install is finished (or waiting for wizard values)
 * and its task — including clean-up after the final state — is done. close() waits for all tasks.
 */
import { EventEmitter } from 'node:events';
import { NotFoundError } from '@powerx/protocol';
import type { InstallRow, InstallStore } from './install-store.ts';
import { isFinished } from './stage-transitions.ts';

/** How often a waiter re-reads the row when no change was announced (another core may own it). */
const POLL_MS = 250;

export class InstallTasks {
  readonly #store: InstallStore;
  readonly #isWaitingForConfig: (id: string) => Promise<boolean>;
  readonly #changes = new EventEmitter();
  readonly #all = new Set<Promise<unknown>>();
  readonly #byInstall = new Map<string, Promise<unknown>>();

  constructor(store: InstallStore, isWaitingForConfig: (id: string) => Promise<boolean>) {
    this.#store = store;
    this.#isWaitingForConfig = isWaitingForConfig;
    this.#changes.setMaxListeners(0);
  }

  /** Runs `task` in the background; waiters on `installId` also wait for it. */
  track(task: Promise<unknown>, installId?: string): void {
    this.#all.add(task);
    if (installId) this.#byInstall.set(installId, task);
    void task.finally(() => {
      this.#all.delete(task);
      if (installId && this.#byInstall.get(installId) === task) this.#byInstall.delete(installId);
      if (installId) this.#changes.emit(installId);
    });
  }

  /** Wakes the waiters of an install: its row changed. */
  changed(installId: string): void {
    this.#changes.emit(installId);
  }

  /** Resolves when the install is terminal or waiting for configuration. */
  async waitSettled(id: string, timeoutMs = 120_000): Promise<InstallRow> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.#store.get(id);
      if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId: id });
      const waiting = row.state === 'awaiting_config' && (await this.#isWaitingForConfig(id));
      if (isFinished(row.state) || waiting || Date.now() > deadline) {
        const task = this.#byInstall.get(id);
        if (task && !waiting) {
          await task;
          return (await this.#store.get(id))!;
        }
        return row;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        const changes = this.#changes;
        function done(): void {
          clearTimeout(timer);
          changes.off(id, done);
          resolve();
        }
        this.#changes.once(id, done);
      });
    }
  }

  /** Waits for every task in flight (shutdown). */
  async allSettled(): Promise<void> {
    await Promise.allSettled([...this.#all]);
  }
}
