/**
 * Worker thread of IsolatedTestDataGenerator (test-data-generator.ts): the generation runs here,
 * in a heap of its own with a hard limit, never in core's. One request at a time, by id.
 */
import { parentPort } from 'node:worker_threads';
import type { TestDataSpec } from '@powerx/protocol';
import { generateTestData, TestDataTooLarge } from './test-data.ts';

parentPort!.on('message', (m: { id: number; specs: TestDataSpec[]; seed: string; maxBytes: number }) => {
  try {
    parentPort!.postMessage({ id: m.id, ok: true, data: generateTestData(m.specs, m.seed, m.maxBytes) });
  } catch (error) {
    parentPort!.postMessage({
      id: m.id,
      ok: false,
      detail:
        error instanceof TestDataTooLarge
          ? error.message
          : `the generator failed: ${String((error as Error)?.message ?? error).slice(0, 300)}`,
    });
  }
});
