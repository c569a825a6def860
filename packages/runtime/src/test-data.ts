/**
 * Realistic sandbox records from each `sandbox.testData` entry (JSON Schema + count), generated
 * with json-schema-faker and @faker-js/faker, both seeded: the same seed (one per install) gives
 * the same data, byte for byte. Properties without a generation hint get one from their name
 * (email, name, phone, city, …) so a plain schema still yields believable records.
 */
import { createHash } from 'node:crypto';
import { Faker, en } from '@faker-js/faker';
import { createGeneratorSync } from 'json-schema-faker';
import type { TestDataSpec } from '@powerx/protocol';

type Schema = Record<string, unknown>;

const HINTS: Array<[RegExp, string]> = [
  [/^(e-?mail|email_?address)$/i, 'internet.email'],
  [/^(full_?name|name|customer_?name|contact_?name)$/i, 'person.fullName'],
  [/^first_?name$/i, 'person.firstName'],
  [/^last_?name$/i, 'person.lastName'],
  [/^(phone|phone_?number|mobile|tel)$/i, 'phone.number'],
  [/^(company|company_?name|organization)$/i, 'company.name'],
  [/^city$/i, 'location.city'],
  [/^country$/i, 'location.country'],
  [/^(street|address)$/i, 'location.streetAddress'],
  [/^(zip|zip_?code|postcode|postal_?code)$/i, 'location.zipCode'],
  [/^(title|product|product_?name)$/i, 'commerce.productName'],
  [/^(description|notes?|comment|bio)$/i, 'lorem.sentence'],
  [/^(url|website|homepage)$/i, 'internet.url'],
  [/^(username|user_?name|login)$/i, 'internet.username'],
  [/^(avatar|image|picture)$/i, 'image.avatar'],
  [/^(currency)$/i, 'finance.currencyCode'],
  [/^(color|colour)$/i, 'color.human'],
];

/** Adds faker hints to string properties that have no format, pattern, enum or hint of their own. */
export function enrichSchema(schema: Schema): Schema {
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = { ...schema };
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (properties && typeof properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, prop]) => {
        let p = enrichSchema(prop);
        const plain = p && p.type === 'string' && !p.format && !p.pattern && !p.enum && !p.const && !p.faker;
        const hint = plain ? HINTS.find(([re]) => re.test(name))?.[1] : undefined;
        if (hint) p = { ...p, faker: hint };
        return [name, p];
      }),
    );
  }
  if (schema.items && typeof schema.items === 'object') out.items = enrichSchema(schema.items as Schema);
  return out;
}

function seedNumber(seed: string, collection: string): number {
  return createHash('sha256').update(`${seed}\0${collection}`).digest().readUInt32BE(0);
}

/** The generated records passed `maxBytes` of JSON (the plugin's storage limit: they could not be stored). */
export class TestDataTooLarge extends Error {}

export function generateTestData(
  specs: TestDataSpec[],
  seed: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Record<string, Array<Record<string, unknown>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {};
  let bytes = 0;
  for (const spec of specs) {
    const n = seedNumber(seed, spec.collection);
    const faker = new Faker({ locale: [en] });
    faker.seed(n);
    // Dates relative to a fixed point, not "now", so the same seed gives the same records tomorrow.
    faker.setDefaultRefDate(new Date('2026-01-01T00:00:00Z'));
    const generator = createGeneratorSync({
      seed: n,
      extensions: { faker },
      alwaysFakeOptionals: true,
      minDateTime: '2020-01-01',
      maxDateTime: '2026-01-01',
    });
    const schema = enrichSchema({ type: 'object', ...spec.schema });
    const records: Array<Record<string, unknown>> = [];
    for (let i = 0; i < spec.count; i++) {
      const value = generator.generate(schema as never);
      if (Number.isFinite(maxBytes)) {
        bytes += Buffer.byteLength(JSON.stringify(value) ?? '');
        if (bytes > maxBytes)
          throw new TestDataTooLarge(
            `the records of ${spec.collection} pass ${maxBytes} bytes, the plugin's storage limit`,
          );
      }
      records.push(
        value && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : { value },
      );
    }
    out[spec.collection] = [...(out[spec.collection] ?? []), ...records];
  }
  return out;
}
