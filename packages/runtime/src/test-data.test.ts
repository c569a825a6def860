import { describe, expect, it } from 'vitest';
import { generateTestData } from './test-data.ts';

const specs = [
  {
    collection: 'customers',
    count: 20,
    schema: {
      type: 'object',
      required: ['name', 'email', 'city', 'age', 'joined'],
      properties: {
        name: { type: 'string' },
        email: { type: 'string', format: 'email' },
        city: { type: 'string' },
        age: { type: 'integer', minimum: 18, maximum: 90 },
        joined: { type: 'string', format: 'date-time' },
        tier: { type: 'string', enum: ['gold', 'silver'] },
      },
    },
  },
  {
    collection: 'orders',
    count: 3,
    schema: { type: 'object', required: ['total'], properties: { total: { type: 'number', minimum: 0 } } },
  },
];

describe('generated test data', () => {
  it('is the same for the same seed and different for another', () => {
    const a = generateTestData(specs, 'install-1');
    expect(generateTestData(specs, 'install-1')).toEqual(a);
    expect(generateTestData(specs, 'install-2')).not.toEqual(a);
  });

  it('honours counts and the schema of each collection', () => {
    const data = generateTestData(specs, 'seed');
    expect(data.customers).toHaveLength(20);
    expect(data.orders).toHaveLength(3);
    for (const c of data.customers) {
      expect(c.email).toMatch(/^[^@\s]+@[^@\s]+$/);
      expect(c.age).toBeGreaterThanOrEqual(18);
      expect(c.age).toBeLessThanOrEqual(90);
      expect(Number.isNaN(Date.parse(String(c.joined)))).toBe(false);
      if (c.tier !== undefined) expect(['gold', 'silver']).toContain(c.tier);
    }
  });

  it('looks realistic: names and cities come from faker, not lorem ipsum', () => {
    const { customers } = generateTestData(specs, 'seed');
    const names = customers.map((c) => String(c.name));
    expect(names.every((n) => /^[A-Z][\p{L}'.-]+( [\p{L}'.-]+)+$/u.test(n))).toBe(true);
    expect(new Set(names).size).toBeGreaterThan(15);
    expect(customers.every((c) => /^[A-Z]/.test(String(c.city)))).toBe(true);
  });
});
