/**
 * "N failures in a row" as a gauge per tenant: every failure adds one, a success sets it back to
 * zero. Counters cannot say "in a row" (a success between two failures is invisible in a rate),
 * so the alert rules read this gauge: `plugin_package_signature_failures_consecutive >= 3`.
 * Only the tenant is a label: tenants are a configured, bounded set; plugin and install ids are not.
 */
import { Gauge, type Registry } from 'prom-client';

export class ConsecutiveFailures {
  readonly gauge: Gauge<'tenant'>;
  #knownTenants: () => Promise<string[]> = async () => [];
  /** Tenants that have a series (get() cannot be used inside collect: it calls collect). */
  readonly #seen = new Set<string>();

  constructor(name: string, help: string, registry: Registry) {
    const known = () => this.#knownTenants();
    const seen = this.#seen;
    this.gauge = new Gauge({
      name,
      help,
      labelNames: ['tenant'],
      registers: [registry],
      // Every known tenant has a series (0 = no failure streak), so dashboards and alerts see 0, not "no data".
      async collect() {
        for (const tenant of await known()) {
          if (seen.has(tenant)) continue;
          seen.add(tenant);
          this.set({ tenant }, 0);
        }
      },
    });
  }

  /** The tenants that get a 0 series before their first failure (read at scrape time). */
  setKnownTenants(list: () => Promise<string[]>): void {
    this.#knownTenants = list;
  }

  failed(tenant: string): void {
    this.#seen.add(tenant);
    this.gauge.inc({ tenant });
  }

  succeeded(tenant: string): void {
    this.#seen.add(tenant);
    this.gauge.set({ tenant }, 0);
  }

  /** Current streak of a tenant (0 when none was recorded). */
  async current(tenant: string): Promise<number> {
    const data = await this.gauge.get();
    return data.values.find((v) => v.labels.tenant === tenant)?.value ?? 0;
  }
}
