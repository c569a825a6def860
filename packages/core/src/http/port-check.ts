/**
 * Is the port free? Asked before core touches its data folder, so a second core started by
 * mistake on a busy port stops with PORT_IN_USE before its crash recovery rolls back installs or
 * starts plugins that the running core owns.
 */
import { createServer } from 'node:net';
import { PxError } from '@powerx/protocol';

export function portInUse(host: string, port: number, cause?: unknown): PxError {
  return new PxError('PORT_IN_USE', { host, port }, { cause });
}

/** Resolves when `host:port` can be bound (port 0 always can); otherwise PORT_IN_USE. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? portInUse(host, port, error) : error),
    );
    server.listen({ port, host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
