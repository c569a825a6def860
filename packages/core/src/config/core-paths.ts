/** Where core keeps things under its data dir. One place, so cleanup code and tests agree. */
import { join } from 'node:path';

export class CorePaths {
  readonly dataDir: string;
  readonly database: string;
  readonly uploads: string;
  readonly staging: string;
  readonly tenants: string;
  readonly run: string;
  readonly blobs: string;
  readonly adminToken: string;
  readonly adminPassword: string;
  readonly masterKey: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.database = join(dataDir, 'core.db');
    this.uploads = join(dataDir, 'uploads');
    this.staging = join(dataDir, 'staging');
    this.tenants = join(dataDir, 'tenants');
    this.run = join(dataDir, 'run');
    this.blobs = join(dataDir, 'blobs');
    this.adminToken = join(dataDir, 'admin-token');
    this.adminPassword = join(dataDir, 'admin-password');
    this.masterKey = join(dataDir, 'master.key');
  }

  pluginRoot(tenant: string, pluginId: string): string {
    return join(this.tenants, tenant, 'plugins', pluginId);
  }

  /** One read-only folder per install that brought a package (versions of the same number never collide). */
  versionDir(tenant: string, pluginId: string, installId: string): string {
    return join(this.pluginRoot(tenant, pluginId), 'versions', installId);
  }

  /** The plugin's only writable folder; survives restarts and upgrades. */
  pluginDataDir(tenant: string, pluginId: string): string {
    return join(this.pluginRoot(tenant, pluginId), 'data');
  }
}
