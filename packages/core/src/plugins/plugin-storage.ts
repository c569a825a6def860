/**
 * Plugin collections, persisted in the core database and scoped by (tenant, plugin): a plugin
 * can only ever name its own namespace, because the runtime passes tenant and plugin id from the
 * instance, not from the plugin. Documents are JSON; `where` filters on top-level fields.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { InputError } from '@powerx/protocol';
import type { HostServices } from '@powerx/runtime';
import type { Db } from '../storage/schema.ts';
import { dialectOf } from '../storage/dialect.ts';

type Doc = { id: string; [k: string]: unknown };
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const COLLECTION = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_DOC_BYTES = 1024 * 1024;

function checkCollection(name: string): void {
  if (!COLLECTION.test(name))
    throw new InputError(
      'BAD_REQUEST',
      { detail: `Collection name "${name.slice(0, 80)}" is not allowed` },
      { hint: 'Use lower-case letters, digits, "_" and "-", starting with a letter.' },
    );
}

function encode(doc: Record<string, unknown>): string {
  const text = JSON.stringify(doc);
  if (Buffer.byteLength(text) > MAX_DOC_BYTES)
    throw new InputError(
      'BAD_REQUEST',
      { detail: `A document is larger than ${MAX_DOC_BYTES} bytes` },
      { hint: 'Store large data in several documents.' },
    );
  return text;
}

/** SQLite hands back JSON text, PostgreSQL's jsonb an already parsed value. */
function decode(doc: unknown): Doc {
  return (typeof doc === 'string' ? JSON.parse(doc) : doc) as Doc;
}

type HostStorage = HostServices['storage'];

export class PluginStorage implements HostStorage {
  readonly #db: Db;
  readonly #postgres: boolean;
  constructor(db: Db) {
    this.#db = db;
    this.#postgres = dialectOf(db) === 'postgres';
  }

  async insert(
    tenant: string,
    pluginId: string,
    collection: string,
    doc: Record<string, unknown>,
    seededBy: string | null = null,
  ): Promise<Doc> {
    checkCollection(collection);
    const id = typeof doc.id === 'string' && doc.id ? doc.id : randomUUID();
    const stored: Doc = { ...doc, id };
    const now = new Date().toISOString();
    await this.#db
      .insertInto('plugin_docs')
      .values({
        tenant_id: tenant,
        plugin_id: pluginId,
        collection,
        id,
        doc: encode(stored),
        seeded_by: seededBy,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return stored;
  }

  /** Bulk insert of generated test data, tagged with the install so its rollback removes it. */
  async insertMany(
    tenant: string,
    pluginId: string,
    collection: string,
    docs: Record<string, unknown>[],
    seededBy: string,
  ): Promise<number> {
    checkCollection(collection);
    const now = new Date().toISOString();
    const rows = docs.map((doc) => {
      const id = typeof doc.id === 'string' && doc.id ? doc.id : randomUUID();
      return {
        tenant_id: tenant,
        plugin_id: pluginId,
        collection,
        id,
        doc: encode({ ...doc, id }),
        seeded_by: seededBy,
        created_at: now,
        updated_at: now,
      };
    });
    await this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += 200)
        await trx
          .insertInto('plugin_docs')
          .values(rows.slice(i, i + 200))
          .execute();
    });
    return rows.length;
  }

  async get(tenant: string, pluginId: string, collection: string, id: string): Promise<Doc | undefined> {
    checkCollection(collection);
    const row = await this.#db
      .selectFrom('plugin_docs')
      .select('doc')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('collection', '=', collection)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? decode(row.doc) : undefined;
  }

  #filtered(
    tenant: string,
    pluginId: string,
    collection: string,
    where: Record<string, unknown> | undefined,
  ) {
    checkCollection(collection);
    let query = this.#db
      .selectFrom('plugin_docs')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('collection', '=', collection);
    for (const [field, value] of Object.entries(where ?? {})) {
      if (!FIELD.test(field))
        throw new InputError(
          'BAD_REQUEST',
          { detail: `Filter field "${field.slice(0, 80)}" is not allowed` },
          { hint: 'Filter on top-level fields with plain names.' },
        );
      if (this.#postgres) {
        // jsonb: a missing field and JSON null both match null, like json_extract on SQLite.
        query =
          value === null
            ? query.where((eb) =>
                eb.or([
                  eb(sql<unknown>`doc -> ${field}::text`, 'is', null),
                  eb(sql<unknown>`doc -> ${field}::text`, '=', sql<unknown>`'null'::jsonb`),
                ]),
              )
            : query.where(
                sql<unknown>`doc -> ${field}::text`,
                '=',
                sql<unknown>`${JSON.stringify(value)}::jsonb`,
              );
        continue;
      }
      const path = `$.${field}`;
      if (value === null) query = query.where(sql<unknown>`json_extract(doc, ${path})`, 'is', null);
      else if (typeof value === 'boolean')
        query = query.where(sql<unknown>`json_extract(doc, ${path})`, '=', value ? 1 : 0);
      else if (typeof value === 'string' || typeof value === 'number')
        query = query.where(sql<unknown>`json_extract(doc, ${path})`, '=', value);
      else query = query.where(sql<unknown>`json_extract(doc, ${path})`, '=', JSON.stringify(value));
    }
    return query;
  }

  async find(
    tenant: string,
    pluginId: string,
    collection: string,
    opts: { where?: Record<string, unknown>; limit?: number; offset?: number },
  ): Promise<Doc[]> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    const rows = await this.#filtered(tenant, pluginId, collection, opts.where)
      .select('doc')
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .offset(Math.max(opts.offset ?? 0, 0))
      .execute();
    return rows.map((r) => decode(r.doc));
  }

  async count(
    tenant: string,
    pluginId: string,
    collection: string,
    where?: Record<string, unknown>,
  ): Promise<number> {
    const row = await this.#filtered(tenant, pluginId, collection, where)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async update(
    tenant: string,
    pluginId: string,
    collection: string,
    id: string,
    patch: Record<string, unknown>,
  ): Promise<Doc | undefined> {
    const current = await this.get(tenant, pluginId, collection, id);
    if (!current) return undefined;
    const next: Doc = { ...current, ...patch, id };
    await this.#db
      .updateTable('plugin_docs')
      .set({ doc: encode(next), updated_at: new Date().toISOString() })
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('collection', '=', collection)
      .where('id', '=', id)
      .execute();
    return next;
  }

  async delete(tenant: string, pluginId: string, collection: string, id: string): Promise<boolean> {
    checkCollection(collection);
    const result = await this.#db
      .deleteFrom('plugin_docs')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('collection', '=', collection)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async hasAnyDocs(tenant: string, pluginId: string): Promise<boolean> {
    return !!(await this.#db
      .selectFrom('plugin_docs')
      .select('id')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .limit(1)
      .executeTakeFirst());
  }

  async deleteSeededBy(installId: string): Promise<void> {
    await this.#db.deleteFrom('plugin_docs').where('seeded_by', '=', installId).execute();
  }

  async dropNamespace(tenant: string, pluginId: string): Promise<void> {
    await this.#db
      .deleteFrom('plugin_docs')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }
}
