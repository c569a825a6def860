/**
 * The storage quota of plugins: the bytes of a plugin's ctx.storage documents are counted as they
 * are written (a running count per tenant and plugin in `plugin_storage_usage`, updated in the
 * same transaction as the document), never by scanning. A write that would take the plugin past
 * its `resources.storageMb`, or the tenant past `maxStorageMb` of sandbox_limits.yaml, is refused
 * with QUOTA_STORAGE before anything is stored; a single document is capped by `maxStorageDocKb`.
 */
import { sql, type Transaction } from 'kysely';
import { DEFAULT_RESOURCES, PluginRuntimeError, type Manifest } from '@powerx/protocol';
import type { CoreDatabase, Db } from '../storage/schema.ts';
import type { SandboxLimits } from '../limits/sandbox-limits.ts';

type Tx = Transaction<CoreDatabase> | Db;
const MB = 1024 * 1024;

export class StorageMeter {
  readonly #limits: SandboxLimits;
  constructor(limits: SandboxLimits) {
    this.#limits = limits;
  }

  /** The serialized document, or STORAGE_DOC_TOO_LARGE. */
  encode(tenant: string, doc: Record<string, unknown>): { text: string; bytes: number } {
    const text = JSON.stringify(doc);
    const bytes = Buffer.byteLength(text);
    const limit = this.#limits.storageBytesFor(tenant).maxDoc;
    if (bytes > limit) throw new PluginRuntimeError('STORAGE_DOC_TOO_LARGE', { size: bytes, limit });
    return { text, bytes };
  }

  /** The plugin's limit: storageMb of the install writing (seeding) or serving it. */
  async #pluginLimit(tx: Tx, tenant: string, pluginId: string, seededBy: string | null): Promise<number> {
    const installId =
      seededBy ??
      (
        await tx
          .selectFrom('plugins')
          .select('active_install_id')
          .where('tenant_id', '=', tenant)
          .where('plugin_id', '=', pluginId)
          .executeTakeFirst()
      )?.active_install_id;
    const row = installId
      ? await tx.selectFrom('installs').select('manifest').where('id', '=', installId).executeTakeFirst()
      : undefined;
    const manifest = row?.manifest ? (JSON.parse(row.manifest) as Manifest) : undefined;
    return (manifest?.resources.storageMb ?? DEFAULT_RESOURCES.storageMb) * MB;
  }

  async usedBytes(tx: Tx, tenant: string, pluginId?: string): Promise<number> {
    let query = tx
      .selectFrom('plugin_storage_usage')
      .select((eb) => eb.fn.sum<number>('bytes').as('n'))
      .where('tenant_id', '=', tenant);
    if (pluginId) query = query.where('plugin_id', '=', pluginId);
    return Number((await query.executeTakeFirst())?.n ?? 0);
  }

  /** Inside the write's transaction: adds `delta` bytes, refusing growth past either limit. */
  async charge(tx: Tx, tenant: string, pluginId: string, delta: number, seededBy: string | null = null) {
    if (delta > 0) {
      const limitBytes = await this.#pluginLimit(tx, tenant, pluginId, seededBy);
      const used = (await this.usedBytes(tx, tenant, pluginId)) + delta;
      if (used > limitBytes)
        throw new PluginRuntimeError('QUOTA_STORAGE', { plugin: pluginId, usedBytes: used, limitBytes });
      const tenantLimit = this.#limits.storageBytesFor(tenant).maxTotal;
      const tenantUsed = (await this.usedBytes(tx, tenant)) + delta;
      if (tenantUsed > tenantLimit)
        throw new PluginRuntimeError(
          'QUOTA_STORAGE',
          { plugin: pluginId, usedBytes: tenantUsed, limitBytes: tenantLimit },
          {
            message: `The plugins of tenant ${tenant} would store ${tenantUsed} bytes; the tenant maximum is ${tenantLimit} bytes`,
          },
        );
    }
    if (delta === 0) return;
    await tx
      .insertInto('plugin_storage_usage')
      .values({ tenant_id: tenant, plugin_id: pluginId, bytes: Math.max(delta, 0) })
      .onConflict((oc) =>
        // Portable clamp at zero (SQLite has no greatest(), PostgreSQL's max() is an aggregate).
        oc.columns(['tenant_id', 'plugin_id']).doUpdateSet({
          bytes: sql`case when plugin_storage_usage.bytes + ${delta} < 0 then 0 else plugin_storage_usage.bytes + ${delta} end`,
        }),
      )
      .execute();
  }

  async forget(tx: Tx, tenant: string, pluginId: string): Promise<void> {
    await tx
      .deleteFrom('plugin_storage_usage')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }
}
