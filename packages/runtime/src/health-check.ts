/** One GET of the health path over the instance's Unix socket. */
import http from 'node:http';

export function probeHealth(
  socketPath: string,
  path: string,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(
      {
        socketPath,
        path,
        agent: false,
        headers: { 'user-agent': 'powerx-supervisor', host: 'plugin.local' },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
