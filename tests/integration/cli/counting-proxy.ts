/**
 * A plain HTTP proxy on loopback in front of a real core, for tests that need to see what a
 * client asks (how often it polled, whether it opened a WebSocket). It forwards requests and
 * WebSocket upgrades as they are, or refuses upgrades like a core (or a proxy) without `/api/ws`.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface CountingProxy {
  url: string;
  /** "METHOD path" of every plain request, in order. */
  requests: string[];
  /** Paths of WebSocket upgrades forwarded. */
  upgrades: string[];
  close(): Promise<void>;
}

export async function countingProxy(
  target: string,
  opts: { webSocket?: boolean } = {},
): Promise<CountingProxy> {
  const to = new URL(target);
  const requests: string[] = [];
  const upgrades: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (opts.webSocket === false) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    upgrades.push(req.url ?? '');
    const upstream = connect(Number(to.port), to.hostname, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`);
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
