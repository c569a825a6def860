/**
 * The instance's HTTP socket. node plugins: the supervisor owns `<runDir>/s/<id>.sock`, accepts
 * connections paused and hands each one to the plugin over IPC. process kind: the executable
 * creates its own socket in a folder bound into its sandbox (`<runDir>/s/<id>.d/http.sock`).
 */
import { chmod, rm } from 'node:fs/promises';
import net from 'node:net';
import type { Instance } from './instance.ts';

export async function listenInstanceSocket(inst: Instance): Promise<net.Server> {
  const path = inst.info.socketPath;
  await rm(path, { force: true });
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const child = inst.child;
    if (!inst.accepting || !child?.connected) {
      socket.end(unavailableResponse(inst.info.state));
      return;
    }
    socket.on('error', () => undefined);
    child.send('conn', socket, { keepOpen: false }, (error) => {
      if (error) socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => inst.logs.write('runtime', 'error', `socket error: ${error.message}`));
  await chmod(path, 0o600);
  return server;
}

/**
 * Stops accepting on the instance socket. The listening handle closes at once; we do not wait
 * for 'close': Node counts sockets handed to a child as the child's and would ask the (maybe
 * dead) child about them before emitting it.
 */
export function closeInstanceSocket(inst: Instance): void {
  const server = inst.server;
  inst.server = undefined;
  if (server?.listening) server.close();
}

export function unavailableResponse(state: string): string {
  const body = JSON.stringify({
    code: 'INSTANCE_UNAVAILABLE',
    message: `The plugin is ${state}`,
    hint: 'Wait for the plugin to become healthy, or check its status and logs.',
  });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nretry-after: 1\r\n\r\n${body}`;
}
