/**
 * The online backup of a running core's data folder, consistent as of one moment: the database is
 * copied with SQLite's backup API (a consistent snapshot while core keeps writing), and the files
 * are taken as that snapshot names them:
 *
 * - version folders and package blobs are immutable once in place (they appear by rename and are
 *   only ever removed whole), so they are hard-linked, which freezes them for free;
 * - plugin data folders (written by running plugins) are copied;
 * - the audit head anchor is rewritten to the snapshot's newest entry (the live anchor may already
 *   be ahead of it, which a restored core would report as a truncation);
 * - the master key, the admin token and password, and the dev session files are copied.
 *
 * A version folder the snapshot needs but that was dropped in between (an upgrade finished during
 * the backup) makes it start over, up to three times. Everything lands in
 * `staging/backup-<id>/`, which a crash leaves for the start-up sweep, and is archived from there
 * (backup-archive.ts). The result is a data folder: restoring is unpacking it (docs/operations.md).
 */
import { randomUUID } from 'node:crypto';
import { copyFile, cp, link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { PxError } from '@powerx/protocol';
import type { CorePaths } from '../config/core-paths.ts';
import type { AuditAnchor } from '../audit/audit-anchor.ts';
import { mapDiskFull } from '../storage/disk-full.ts';
import { writeFileAtomic } from '../storage/atomic-file.ts';

export const BACKUP_FORMAT = 1;
/** Files at the top of the data folder that a backup carries as they are. */
const TOP_FILES = ['master.key', 'admin-token', 'admin-password', 'dev-sessions.json', 'dev-reloads.json'];
const ATTEMPTS = 3;

export interface BackupSummary {
  format: number;
  coreVersion: string;
  createdAt: string;
  plugins: number;
  versionFolders: number;
  blobs: number;
  auditHeadSeq: number;
}

export interface PreparedBackup {
  dir: string;
  summary: BackupSummary;
  remove(): Promise<void>;
}

interface SnapshotRefs {
  /** Version folders (data-dir relative) that must be there: serving, last stable, or waiting installs. */
  required: Set<string>;
  /** Version folders of unfinished installs: a restored core rolls those back anyway. */
  optional: Set<string>;
  blobs: string[];
  plugins: Array<{ tenant: string; plugin: string }>;
  auditHead: { seq: number; hash: string; ts: string } | undefined;
}

export async function prepareBackup(opts: {
  database: DatabaseSync;
  paths: CorePaths;
  coreVersion: string;
  /** An anchor file keyed like the live one (AuditLog.anchorAt): the key is not in the data folder. */
  anchorAt: (file: string) => AuditAnchor;
}): Promise<PreparedBackup> {
  const { paths } = opts;
  const dir = join(paths.staging, `backup-${randomUUID()}`);
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    return await mapDiskFull('writing the backup', paths.staging, async () => {
      for (let attempt = 1; ; attempt++) {
        await remove();
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await backup(opts.database, join(dir, 'core.db'));
        const refs = readRefs(join(dir, 'core.db'), paths);
        const missing = await linkVersionFolders(paths, dir, refs);
        if (missing.length === 0) {
          const summary = await finish(opts, dir, refs);
          return { dir, summary, remove };
        }
        if (attempt === ATTEMPTS)
          throw new PxError('BACKUP_FAILED', {
            detail: `version folders changed during ${ATTEMPTS} attempts (${missing.slice(0, 3).join(', ')}); retry when no install is running`,
          });
      }
    });
  } catch (error) {
    await remove();
    throw error;
  }
}

/** What the snapshot refers to, read from the snapshot itself (never from the live database). */
function readRefs(snapshotFile: string, paths: CorePaths): SnapshotRefs {
  const db = new DatabaseSync(snapshotFile, { readOnly: true });
  try {
    const plugins = db
      .prepare(
        'select tenant_id as tenant, plugin_id as plugin, active_install_id, last_stable_install_id from plugins',
      )
      .all() as Array<{
      tenant: string;
      plugin: string;
      active_install_id: string;
      last_stable_install_id: string | null;
    }>;
    const kept = new Set(
      plugins.flatMap((p) => [p.active_install_id, p.last_stable_install_id]).filter(Boolean),
    );
    const installs = db
      .prepare("select id, kind, state, version_dir from installs where state not in ('failed')")
      .all() as Array<{ id: string; kind: string; state: string; version_dir: string | null }>;
    const required = new Set<string>();
    const optional = new Set<string>();
    const blobs: string[] = [];
    for (const row of installs) {
      if (row.kind === 'install') blobs.push(`${row.id}.pxp`);
      if (!row.version_dir) continue;
      const rel = paths.toStored(paths.resolve(row.version_dir));
      if (kept.has(row.id) || row.state === 'awaiting_config') required.add(rel);
      else if (row.state !== 'running') optional.add(rel);
    }
    for (const rel of required) optional.delete(rel);
    const auditHead = db.prepare('select seq, hash, ts from audit_log order by seq desc limit 1').get() as
      { seq: number; hash: string; ts: string } | undefined;
    return { required, optional, blobs, plugins, auditHead };
  } finally {
    db.close();
  }
}

/** Hard-links the version folders into the backup; returns the required ones that are gone. */
async function linkVersionFolders(paths: CorePaths, dir: string, refs: SnapshotRefs): Promise<string[]> {
  const missing: string[] = [];
  for (const [rel, required] of [
    ...[...refs.required].map((r) => [r, true] as const),
    ...[...refs.optional].map((r) => [r, false] as const),
  ]) {
    const ok = await linkTree(join(paths.dataDir, rel), join(dir, rel));
    if (!ok && required) missing.push(rel);
  }
  return missing;
}

async function linkTree(from: string, to: string): Promise<boolean> {
  const entries = await readdir(from, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  await mkdir(to, { recursive: true });
  for (const e of entries) {
    if (e.isDirectory()) await linkTree(join(from, e.name), join(to, e.name));
    else if (e.isFile()) await linkOrCopy(join(from, e.name), join(to, e.name));
  }
  return true;
}

/** A hard link (same file system, the usual case) or else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
  }
}

async function finish(
  opts: { paths: CorePaths; coreVersion: string; anchorAt: (file: string) => AuditAnchor },
  dir: string,
  refs: SnapshotRefs,
): Promise<BackupSummary> {
  const { paths } = opts;
  let blobs = 0;
  await mkdir(join(dir, 'blobs'), { recursive: true });
  for (const key of refs.blobs) {
    const ok = await linkOrCopy(join(paths.blobs, key), join(dir, 'blobs', key)).then(
      () => true,
      () => false,
    );
    if (ok) blobs++;
  }
  for (const { tenant, plugin } of refs.plugins) {
    const data = paths.pluginDataDir(tenant, plugin);
    if (await stat(data).catch(() => undefined)) {
      const target = join(dir, paths.toStored(data));
      await mkdir(dirname(target), { recursive: true });
      await cp(data, target, { recursive: true, preserveTimestamps: true });
    }
  }
  for (const name of TOP_FILES)
    await copyFile(join(paths.dataDir, name), join(dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  await writeAnchor(paths, dir, refs.auditHead, opts.anchorAt);
  const summary: BackupSummary = {
    format: BACKUP_FORMAT,
    coreVersion: opts.coreVersion,
    createdAt: new Date().toISOString(),
    plugins: refs.plugins.length,
    versionFolders: refs.required.size + refs.optional.size,
    blobs,
    auditHeadSeq: refs.auditHead?.seq ?? 0,
  };
  await writeFileAtomic(join(dir, 'backup.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** The live anchor's history, with its head set to the snapshot's newest audit entry. */
async function writeAnchor(
  paths: CorePaths,
  dir: string,
  head: { seq: number; hash: string; ts: string } | undefined,
  anchorAt: (file: string) => AuditAnchor,
): Promise<void> {
  if (!head) return;
  const live = await anchorAt(join(paths.dataDir, 'audit-head.json')).read();
  const truncations = live.kind === 'ok' ? live.state.truncations.filter((t) => t.toSeq <= head.seq) : [];
  await anchorAt(join(dir, 'audit-head.json')).write({ head, truncations });
}
