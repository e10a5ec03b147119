/**
 * A standalone dispatcher's HTTP endpoint (node:http): `/metrics` (its own families), `/healthz` (the process
 * answers) and `/readyz` (503 with the reason while a Mongrel2 is missing). A forked dispatcher has none: it
 * reports to the supervisor over IPC.
 *
 * Access follows the pool admin's rules (README "Admin API access", `config/admin-token.ts`): the probes are open;
 * `/metrics` needs `Authorization: Bearer <adminToken or metricsToken>` whenever either is set (it is the one
 * endpoint here the admin token guards); off loopback a token of at least 16 characters is required, and the
 * endpoint refuses to start without one.
 * @module
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { adminAccessProblems, carriesToken } from '../config/admin-token';
import { formatHostPort, isLoopbackHost, type HostPort } from '../config/host-port';
import { writeExposition, type ExpositionFamily } from '../metrics/exposition';
import { serveMetrics } from '../metrics/http';

/** What the endpoint reads. */
export interface AdminSource {
  families(): ExpositionFamily[];
  /** Undefined when ready, else why not. */
  notReadyReason(): string | undefined;
}

/** Who may read `/metrics`. */
export interface AdminTokens {
  /** '' = none (loopback only). */
  readonly adminToken: string;
  /** '' = none. */
  readonly metricsToken: string;
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(`${body}\n`);
}

/**
 * Listen on `listen`; resolves with the server once bound. Rejects if the address cannot be bound, or when the
 * tokens break the rules (no token off loopback, a short or non-ASCII one).
 */
export async function startDispatcherAdmin(listen: HostPort, tokens: AdminTokens, source: AdminSource, onError: (err: unknown) => void): Promise<Server> {
  const [problem] = adminAccessProblems({ offHost: !isLoopbackHost(listen.host), ...tokens }, formatHostPort(listen));
  if (problem !== undefined) throw new Error(`dispatcher admin: ${problem.key} ${problem.problem}`);
  const metricsTokens = [tokens.adminToken, tokens.metricsToken].filter((t) => t !== '');
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') {
      if (!carriesToken(req.headers.authorization, metricsTokens)) return text(res, 401, 'this endpoint needs "Authorization: Bearer <token>"', { 'WWW-Authenticate': 'Bearer' });
      return serveMetrics({ render: async (format) => writeExposition(source.families(), format) }, req, res, onError);
    }
    if (url === '/healthz') return text(res, 200, 'ok');
    if (url === '/readyz') {
      const reason = source.notReadyReason();
      return reason === undefined ? text(res, 200, 'ready') : text(res, 503, reason);
    }
    return text(res, 404, 'not found: try /metrics, /healthz, /readyz');
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
