/**
 * Where core keeps things under its data dir. One place, so cleanup code and tests agree.
 *
 * What the database records about files is relative to the data dir (`tenants/…/versions/<id>`,
 * `staging/<name>`), so a data dir can be moved, copied or restored from a backup and still finds
 * its own files. `toStored` makes that form, `resolve` turns it back into a path; paths recorded
 * absolute by older cores (under whatever folder the data dir had then) resolve to the same
 * place under the current one.
 */
import { isAbsolute, join, relative, sep } from 'node:path';

/** The part of a path that names a place inside a data dir, wherever that data dir was. */
const INSIDE_DATA_DIR = [
  /(?:^|\/)(tenants\/[^/]+\/plugins\/[^/]+\/versions\/[^/]+)\/?$/,
  /(?:^|\/)(staging\/[^/]+)\/?$/,
];

/** `tenants/<t>/plugins/<p>/versions/<id>` or `staging/<name>` of a stored path, or undefined. */
export function dataDirRelative(stored: string): string | undefined {
  for (const pattern of INSIDE_DATA_DIR) {
    const m = pattern.exec(stored.split(sep).join('/'));
    if (m) return m[1];
  }
  return undefined;
}

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

  /** The form stored in the database for a path inside the data dir. */
  toStored(path: string): string {
    const rel = relative(this.dataDir, path);
    if (isAbsolute(rel) || rel.startsWith('..'))
      throw new Error(`${path} is not inside the data dir ${this.dataDir}`);
    return rel.split(sep).join('/');
  }

  /** The path of a stored value (relative, or absolute as older cores recorded it). */
  resolve(stored: string): string {
    if (!isAbsolute(stored)) return join(this.dataDir, stored);
    const rel = dataDirRelative(stored);
    return rel ? join(this.dataDir, rel) : stored;
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
