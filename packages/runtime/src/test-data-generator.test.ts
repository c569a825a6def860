import { afterEach, describe, expect, it } from 'vitest';
import { generateTestData } from './test-data.ts';
import { IsolatedTestDataGenerator } from './test-data-generator.ts';

const people = [
  {
    collection: 'people',
    count: 3,
    schema: { type: 'object', required: ['email'], properties: { email: { type: 'string' } } },
  },
];
const bomb = [
  {
    collection: 'bomb',
    count: 1,
    schema: {
      type: 'object',
      required: ['n'],
      properties: {
        n: { type: 'array', minItems: 50_000_000, maxItems: 50_000_000, items: { type: 'integer' } },
      },
    },
  },
];

let generator: IsolatedTestDataGenerator | undefined;
afterEach(async () => {
  await generator?.close();
  generator = undefined;
});

describe('the isolated test data generator', () => {
  it('generates the same records as generateTestData, in a worker kept for the next install', async () => {
    generator = new IsolatedTestDataGenerator();
    const first = await generator.generate(people, 'seed', { maxBytes: 1024 * 1024 });
    expect(first).toEqual(generateTestData(people, 'seed'));
    // The second one reuses the worker: no half-second start of the faker libraries again.
    const second = await generator.generate(people, 'other', { maxBytes: 1024 * 1024 });
    expect(second).toEqual(generateTestData(people, 'other'));
    expect(generator.workersStarted).toBe(1);
  });

  it('stops a record that outgrows the worker heap with TEST_DATA_LIMIT, and generates again after', async () => {
    generator = new IsolatedTestDataGenerator({ heapMb: 32 });
    await expect(
      generator.generate(bomb, 'seed', { maxBytes: Number.MAX_SAFE_INTEGER }),
    ).rejects.toMatchObject({ code: 'TEST_DATA_LIMIT', message: expect.stringContaining('32 MB of memory') });
    expect(await generator.generate(people, 'seed', { maxBytes: 1024 * 1024 })).toEqual(
      generateTestData(people, 'seed'),
    );
    expect(generator.workersStarted).toBe(2);
  }, 30_000);

  it('stops at the byte limit (the plugin storage limit)', async () => {
    generator = new IsolatedTestDataGenerator();
    const words = [
      {
        collection: 'words',
        count: 100,
        schema: {
          type: 'object',
          required: ['s'],
          properties: { s: { type: 'string', minLength: 100, maxLength: 100 } },
        },
      },
    ];
    await expect(generator.generate(words, 'seed', { maxBytes: 1000 })).rejects.toMatchObject({
      code: 'TEST_DATA_LIMIT',
      message: expect.stringContaining('1000 bytes'),
    });
  });

  it('stops a generation past its deadline, and the next one runs in a fresh worker', async () => {
    // Ten million small records: slow, not large (the deadline, not the heap, ends it).
    const endless = [{ ...people[0], count: 10_000_000 }];
    generator = new IsolatedTestDataGenerator({ timeoutMs: 3000 });
    await expect(
      generator.generate(endless, 'seed', { maxBytes: Number.MAX_SAFE_INTEGER }),
    ).rejects.toMatchObject({ code: 'TEST_DATA_LIMIT', message: expect.stringContaining('3000 ms') });
    expect(await generator.generate(people, 'seed', { maxBytes: 1024 * 1024 })).toEqual(
      generateTestData(people, 'seed'),
    );
    expect(generator.workersStarted).toBe(2);
  }, 30_000);
});
