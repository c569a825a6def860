/**
 * Worker thread of generateTestDataIsolated (test-data.ts): the generation runs here, in a heap
 * of its own with a hard limit, never in core's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateTestData, TestDataTooLarge } from './test-data.ts';
import type { TestDataSpec } from '@powerx/protocol';

const { specs, seed, maxBytes } = workerData as { specs: TestDataSpec[]; seed: string; maxBytes: number };
try {
  parentPort!.postMessage({ ok: true, data: generateTestData(specs, seed, maxBytes) });
} catch (error) {
  parentPort!.postMessage({
    ok: false,
    detail:
      error instanceof TestDataTooLarge
        ? error.message
        : `the generator failed: ${String((error as Error)?.message ?? error).slice(0, 300)}`,
  });
}
