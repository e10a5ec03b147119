/**
 * Free TCP ports on loopback: bind port 0, read the port the kernel chose, release it.
 */
import { createServer } from 'node:net';

/** One free port on 127.0.0.1 (`port` 0: any; else that one, rejecting when it is taken). */
export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** The first of `n` consecutive free ports (for `pm2 scale`: instance i serves on the admin port + i). */
export async function freePortRun(n: number): Promise<number> {
  for (;;) {
    const first = await freePort();
    if (first + n - 1 > 65_535) continue;
    const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => freePort(first + 1 + i).catch(() => undefined)));
    if (rest.every((p) => p !== undefined)) return first;
  }
}
