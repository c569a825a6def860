/**
 * POST /api/admin/backup: an online backup of this core's data folder as one .tar.gz, streamed
 * (backup/backup-snapshot.ts says what is in it and why it is consistent). Admins only: the
 * archive holds the master key next to the sealed secrets, exactly like the data folder itself.
 */
import type { FastifyInstance } from 'fastify';
import { PxError } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { prepareBackup } from '../../backup/backup-snapshot.ts';
import { archiveStream } from '../../backup/backup-archive.ts';
import { sqliteHandleOf } from '../../storage/open-database.ts';

export function registerBackupRoutes(app: FastifyInstance, s: CoreServices): void {
  app.post(
    '/api/admin/backup',
    {
      schema: {
        tags: ['admin'],
        summary: 'Online backup of the data folder (.tar.gz; restore = unpack into an empty folder)',
        produces: ['application/gzip'],
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      s.identity.requirePermission(p, 'admin');
      const database = sqliteHandleOf(s.db);
      if (!database)
        throw new PxError('BACKUP_FAILED', {
          detail:
            'this core does not keep its state in the embedded SQLite database (back up PostgreSQL with its own tools)',
        });
      const prepared = await prepareBackup({
        database,
        paths: s.paths,
        coreVersion: s.coreVersion,
        anchorAt: (file) => s.audit.anchorAt(file),
      });
      const stream = await archiveStream(prepared.dir).catch(async (error: unknown) => {
        await prepared.remove();
        throw error;
      });
      stream.once('close', () => void prepared.remove());
      stream.once('end', () => void prepared.remove());
      stream.once('error', () => void prepared.remove());
      await s.audit.append({
        actor: p.username,
        action: 'core.backup',
        outcome: 'ok',
        details: { ...prepared.summary },
      });
      const stamp = prepared.summary.createdAt.replaceAll(':', '-').replace(/\..*/, '');
      return reply
        .header('content-type', 'application/gzip')
        .header('content-disposition', `attachment; filename="powerx-backup-${stamp}.tar.gz"`)
        .header('x-powerx-backup', JSON.stringify(prepared.summary))
        .send(stream);
    },
  );
}
