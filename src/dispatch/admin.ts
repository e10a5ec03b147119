/**
 * A standalone dispatcher's HTTP endpoint (node:http): `/metrics` (its own families), `/healthz` (the process
 * answers) and `/readyz` (503 with the reason while a Mongrel2 is missing). A forked dispatcher has none: it
 * reports to the supervisor over IPC.
 * @module
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { HostPort } from '../config/host-port';
import { writeExposition, type ExpositionFamily } from '../metrics/exposition';
import { serveMetrics } from '../metrics/http';

/** What the endpoint reads. */
export interface AdminSource {
  families(): ExpositionFamily[];
  /** Undefined when ready, else why not. */
  notReadyReason(): string | undefined;
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${body}\n`);
}

/** Listen on `listen`; resolves with the server once bound (rejects if the address cannot be bound). */
export function startDispatcherAdmin(listen: HostPort, source: AdminSource, onError: (err: unknown) => void): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') return serveMetrics({ render: async (format) => writeExposition(source.families(), format) }, req, res, onError);
    if (url === '/healthz') return text(res, 200, 'ok');
    if (url === '/readyz') {
      const reason = source.notReadyReason();
      return reason === undefined ? text(res, 200, 'ready') : text(res, 503, reason);
    }
    return text(res, 404, 'not found: try /metrics, /healthz, /readyz');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
