/**
 * Plugin collections, persisted in the core database and scoped by (tenant, plugin): a plugin
 * can only ever name its own namespace, because the runtime passes tenant and plugin id from the
 * instance, not from the plugin. Documents are JSON; `where` filters on top-level fields.
 * Every write goes through the StorageMeter in the same transaction (quota, running byte count).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { InputError } from '@powerx/protocol';
import type { HostServices } from '@powerx/runtime';
import type { Db } from '../storage/schema.ts';
import { dialectOf } from '../storage/dialect.ts';
import { StorageMeter } from './storage-meter.ts';

type Doc = { id: string; [k: string]: unknown };
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const COLLECTION = /^[a-z][a-z0-9_-]{0,62}$/;

function checkCollection(name: string): void {
  if (!COLLECTION.test(name))
    throw new InputError(
      'BAD_REQUEST',
      { detail: `Collection name "${name.slice(0, 80)}" is not allowed` },
      { hint: 'Use lower-case letters, digits, "_" and "-", starting with a letter.' },
    );
}

/** SQLite hands back JSON text, PostgreSQL's jsonb an already parsed value. */
function decode(doc: unknown): Doc {
  return (typeof doc === 'string' ? JSON.parse(doc) : doc) as Doc;
}

/**
 * Bytes a stored document is counted for: its JSON text as written. jsonb keeps no text, so on
 * PostgreSQL the document is serialized again (same length: only key order may differ).
 */
function storedLength(doc: unknown): number {
  return typeof doc === 'string' ? Buffer.byteLength(doc) : Buffer.byteLength(JSON.stringify(doc));
}

type HostStorage = HostServices['storage'];

/** A new row of `plugin_docs`: the document's JSON text, created and updated now. */
function newDocRow(
  key: { tenant: string; pluginId: string; collection: string; id: string },
  text: string,
  seededBy: string | null,
  now: string,
) {
  return {
    tenant_id: key.tenant,
    plugin_id: key.pluginId,
    collection: key.collection,
    id: key.id,
    doc: text,
    seeded_by: seededBy,
    created_at: now,
    updated_at: now,
  };
}

export class PluginStorage implements HostStorage {
  readonly #db: Db;
  readonly #postgres: boolean;
  readonly meter: StorageMeter;
  constructor(db: Db, meter: StorageMeter) {
    this.#db = db;
    this.#postgres = dialectOf(db) === 'postgres';
    this.meter = meter;
  }

  /** Bytes a document takes now (0 when there is none). */
  async #storedBytes(db: Db, key: { tenant: string; pluginId: string; collection: string; id: string }) {
    const row = await db
      .selectFrom('plugin_docs')
      .select('doc')
      .where('tenant_id', '=', key.tenant)
      .where('plugin_id', '=', key.pluginId)
      .where('collection', '=', key.collection)
      .where('id', '=', key.id)
      .executeTakeFirst();
    return row ? storedLength(row.doc) : 0;
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
    const { text, bytes } = this.meter.encode(tenant, stored);
    await this.#db.transaction().execute(async (trx) => {
      await this.meter.charge(trx, tenant, pluginId, bytes, seededBy);
      await trx
        .insertInto('plugin_docs')
        .values(newDocRow({ tenant, pluginId, collection, id }, text, seededBy, now))
        .execute();
    });
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
    let total = 0;
    const rows = docs.map((doc) => {
      const id = typeof doc.id === 'string' && doc.id ? doc.id : randomUUID();
      const { text, bytes } = this.meter.encode(tenant, { ...doc, id });
      total += bytes;
      return newDocRow({ tenant, pluginId, collection, id }, text, seededBy, now);
    });
    await this.#db.transaction().execute(async (trx) => {
      await this.meter.charge(trx, tenant, pluginId, total, seededBy);
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
    const { text, bytes } = this.meter.encode(tenant, next);
    await this.#db.transaction().execute(async (trx) => {
      const before = await this.#storedBytes(trx, { tenant, pluginId, collection, id });
      await this.meter.charge(trx, tenant, pluginId, bytes - before);
      await trx
        .updateTable('plugin_docs')
        .set({ doc: text, updated_at: new Date().toISOString() })
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .where('collection', '=', collection)
        .where('id', '=', id)
        .execute();
    });
    return next;
  }

  async delete(tenant: string, pluginId: string, collection: string, id: string): Promise<boolean> {
    checkCollection(collection);
    return this.#db.transaction().execute(async (trx) => {
      const before = await this.#storedBytes(trx, { tenant, pluginId, collection, id });
      const result = await trx
        .deleteFrom('plugin_docs')
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .where('collection', '=', collection)
        .where('id', '=', id)
        .executeTakeFirst();
      await this.meter.charge(trx, tenant, pluginId, -before);
      return result.numDeletedRows > 0n;
    });
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
    await this.#db.transaction().execute(async (trx) => {
      const seeded = await trx
        .selectFrom('plugin_docs')
        .select(['tenant_id', 'plugin_id', 'doc'])
        .where('seeded_by', '=', installId)
        .execute();
      const bytes = new Map<string, { tenant: string; pluginId: string; bytes: number }>();
      for (const row of seeded) {
        const key = `${row.tenant_id}\u0000${row.plugin_id}`;
        const entry = bytes.get(key) ?? { tenant: row.tenant_id, pluginId: row.plugin_id, bytes: 0 };
        entry.bytes += storedLength(row.doc);
        bytes.set(key, entry);
      }
      await trx.deleteFrom('plugin_docs').where('seeded_by', '=', installId).execute();
      for (const { tenant, pluginId, bytes: n } of bytes.values())
        await this.meter.charge(trx, tenant, pluginId, -n);
    });
  }

  async dropNamespace(tenant: string, pluginId: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('plugin_docs')
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
      await this.meter.forget(trx, tenant, pluginId);
    });
  }

  /** Bytes stored by a plugin (its running count) and its limit. */
  async usage(tenant: string, pluginId: string): Promise<number> {
    return this.meter.usedBytes(this.#db, tenant, pluginId);
  }
}
