/**
 * Admin HTTP API of the supervisor (node:http, JSON in and out):
 *   GET  /pool          → {@link PoolSnapshot}
 *   POST /pool/scale    ← {"workers": N} | {"delta": ±N}   → 200 {"previous", "desired"}
 *   POST /pool/reload   → 202 {"generation", "changed"} (config keys the re-read config changed) | 400 invalid config | 422 the app does not load (the running workers keep serving)
 *   GET  /log-level     → {@link LogLevels}
 *   PUT  /log-level     ← {"level": "debug"} (supervisor and every worker) | {"level": "debug", "slot": N}
 *                       → 200 {"level", "previous", "slot", "workers"}
 *   GET  /healthz       → 200 while the reconcile loop runs and some slot can serve, else 503 with the reason
 *   GET  /readyz        → 200 with ≥ minReady ready workers, else 503
 *   GET  /metrics       → the optional `metricsHandler` (`m2pool start` mounts `PoolMetrics`), else 404
 * Errors are `{"error": "…"}` with a 4xx/5xx status. Access (README "Admin API access"):
 *   - open: `/healthz`, `/readyz` (probes carry no credentials; they reveal only ready counts);
 *   - `/metrics`: `Authorization: Bearer <metricsToken>` (or the admin token) when a metrics token is set, else open;
 *   - everything else, reads included: `Bearer <adminToken>` whenever a token is configured. Off loopback a token
 *     is mandatory (the config requires one of at least 16 characters; the server refuses to start without).
 * The scheme name is case-insensitive (RFC 9110 §11.1); tokens are compared in constant time.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminAccessProblems, carriesToken } from '../../config/admin-token';
import { formatHostPort, isLoopbackHost, parseHostPort, type HostPort } from '../../config/host-port';
import { errorMessage } from '../../errors';
import type { HealthReport } from './health';
import type { Logger } from '../arbiter/logger';
import type { PoolSnapshot } from './pool-snapshot';
import { parseScaleBody, type ReloadResult, type ScaleResult, type ScaleTarget } from '../arbiter/scale-request';
import type { LogLevelResult, LogLevels } from './log-levels';

/** What the admin API drives; `Supervisor` implements it. */
export interface AdminTarget {
  snapshot(): PoolSnapshot;
  scale(target: ScaleTarget, source: string): ScaleResult;
  reload(source: string): ReloadResult | Promise<ReloadResult>;
  isLive(): boolean;
  /** The `/healthz` body with the reason it fails; without it `/healthz` answers from `isLive()` alone. */
  health?(): HealthReport;
  isReady(): boolean;
  /** Why the pool is not ready (the `/readyz` body's `reason`); without it only `isReady()` is used. */
  notReadyReason?(): string | undefined;
  /** Runtime log level (`PUT /log-level`); without it the endpoint answers 501. */
  setLogLevel?(level: string, slot: number | undefined, source: string): LogLevelResult;
  /** `GET /log-level`. */
  logLevels?(): LogLevels;
}

/** Serves `GET /metrics` (e.g. `PoolMetrics.handleMetricsRequest`). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  readonly target: AdminTarget;
  /** `HOST:PORT`; port 0 picks a free port (see {@link AdminServer.address}). */
  readonly listen: string;
  /** Bearer token of every endpoint but the probes and `/metrics`; '' = none (loopback only). */
  readonly token: string;
  /** Bearer token of `/metrics` (the admin token works too); '' or absent = `/metrics` is open. */
  readonly metricsToken?: string;
  readonly logger?: Logger;
  readonly metricsHandler?: MetricsHandler;
}

/** A listening admin server. */
export interface AdminServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Largest request body accepted (a scale request is a few bytes). */
export const MAX_BODY_BYTES = 4096;

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT';
const ROUTES: Readonly<Record<string, readonly Method[]>> = {
  '/pool': ['GET', 'HEAD'],
  '/pool/scale': ['POST'],
  '/pool/reload': ['POST'],
  '/log-level': ['GET', 'HEAD', 'PUT'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

class HttpProblem extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Let the request through when it carries one of `accepted` (which holds no empty token); 401 otherwise. */
function authorize(req: IncomingMessage, accepted: readonly string[], name = 'adminToken'): void {
  if (!carriesToken(req.headers.authorization, accepted)) {
    throw new HttpProblem(401, `this endpoint needs "Authorization: Bearer <${name}>"`, { 'www-authenticate': 'Bearer' });
  }
}

/** Read a JSON request body (Content-Type application/json); `example` goes into the 415 message. */
async function readJson(req: IncomingMessage, example: string): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpProblem(415, `send the body as Content-Type: application/json, e.g. ${example}`);
  const text = await readBody(req);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpProblem(400, `malformed JSON: ${errorMessage(err)}`);
  }
}

/** A parsed `PUT /log-level` body. Level names are checked by the target (the one place that knows them). */
export type ParsedLogLevel = { readonly ok: true; readonly level: string; readonly slot?: number } | { readonly ok: false; readonly error: string };

/** Parse the JSON body of `PUT /log-level`: `{"level": "debug"}` or `{"level": "debug", "slot": 1}`. */
export function parseLogLevelBody(body: unknown): ParsedLogLevel {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'body must be a JSON object: {"level": "debug"} or {"level": "debug", "slot": N}' };
  const extra = Object.keys(body).filter((k) => k !== 'level' && k !== 'slot');
  if (extra.length > 0) return { ok: false, error: `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}; use "level" and optionally "slot"` };
  const { level, slot } = body as { level?: unknown; slot?: unknown };
  if (typeof level !== 'string') return { ok: false, error: `"level" must be a string such as "debug", got ${JSON.stringify(level) ?? 'nothing'}` };
  if (slot === undefined || slot === null) return { ok: true, level };
  if (typeof slot !== 'number' || !Number.isSafeInteger(slot) || slot < 0) return { ok: false, error: `"slot" must be a slot number (integer ≥ 0), got ${JSON.stringify(slot)}` };
  return { ok: true, level, slot };
}

const adminTokens = (o: AdminServerOptions): string[] => (o.token === '' ? [] : [o.token]);
const metricsTokens = (o: AdminServerOptions): string[] => (o.metricsToken === undefined || o.metricsToken === '' ? [] : [o.metricsToken, ...adminTokens(o)]);

async function logLevel(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions): Promise<void> {
  const t = o.target;
  authorize(req, adminTokens(o));
  if (req.method !== 'PUT') {
    if (t.logLevels === undefined) throw new HttpProblem(501, 'log levels are not available from this target');
    return send(res, 200, t.logLevels());
  }
  const parsed = parseLogLevelBody(await readJson(req, '{"level": "debug"}'));
  if (!parsed.ok) throw new HttpProblem(400, parsed.error);
  if (t.setLogLevel === undefined) throw new HttpProblem(501, 'log levels cannot be changed on this target');
  const r = t.setLogLevel(parsed.level, parsed.slot, 'admin');
  return r.ok ? send(res, 200, { level: r.level, previous: r.previous, slot: r.slot, workers: r.workers }) : send(res, r.status, { error: r.error });
}

async function handle(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://admin').pathname;
  const allowed = ROUTES[path];
  if (allowed === undefined) throw new HttpProblem(404, `no such endpoint ${path}; try GET /pool, /healthz, /readyz, /metrics, /log-level`);
  const method = req.method ?? 'GET';
  if (!allowed.some((m) => m === method)) {
    throw new HttpProblem(405, `${path} accepts ${allowed.filter((m) => m !== 'HEAD').join(', ')}, not ${method}`, { allow: allowed.join(', ') });
  }
  const t = o.target;
  switch (path) {
    case '/pool':
      authorize(req, adminTokens(o));
      return send(res, 200, t.snapshot());
    case '/healthz': {
      const h = t.health?.() ?? (t.isLive() ? { live: true, status: 'ok' } : { live: false, status: 'unhealthy' });
      const { live, ...body } = h;
      return send(res, live ? 200 : 503, body);
    }
    case '/readyz': {
      const s = t.snapshot();
      const body = { ready: s.ready, minReady: s.minReady, phase: s.phase, topology: s.topology };
      const reason = t.notReadyReason?.();
      if (t.isReady() && reason === undefined) return send(res, 200, { status: 'ready', ...body });
      return send(res, 503, { status: 'not-ready', reason: reason ?? 'too few ready workers', ...body });
    }
    case '/metrics':
      authorize(req, metricsTokens(o), 'metricsToken');
      if (o.metricsHandler === undefined) throw new HttpProblem(404, 'metrics are not enabled in this build');
      return o.metricsHandler(req, res);
    case '/log-level':
      return logLevel(req, res, o);
    case '/pool/reload': {
      authorize(req, adminTokens(o));
      await readBody(req);
      const r = await t.reload('admin');
      return r.ok ? send(res, 202, { generation: r.generation, changed: r.changed ?? [] }) : send(res, r.status, { error: r.error });
    }
    default: {
      authorize(req, adminTokens(o));
      const parsed = parseScaleBody(await readJson(req, '{"workers": 4}'));
      if (!parsed.ok) throw new HttpProblem(400, parsed.error);
      const r = t.scale(parsed.target, 'admin');
      return r.ok ? send(res, 200, { previous: r.previous, desired: r.desired }) : send(res, r.status, { error: r.error });
    }
  }
}

/** Bind the admin API. Rejects when the address cannot be bound (EADDRINUSE, EACCES). */
export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const hp = parseHostPort(o.listen);
  if (typeof hp === 'string') throw new Error(`admin address: ${hp}`);
  const [problem] = adminAccessProblems({ offHost: !isLoopbackHost(hp.host), adminToken: o.token, metricsToken: o.metricsToken ?? '' }, o.listen);
  if (problem !== undefined) throw new Error(`${problem.key === 'adminToken' ? 'admin token' : 'metrics token'} ${problem.problem}`);
  const server: Server = createServer((req, res) => {
    handle(req, res, o).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpProblem) return send(res, err.status, { error: err.message }, err.headers);
      o.logger?.error({ event: 'admin.error', err, url: req.url }, 'admin.error');
      return send(res, 500, { error: `internal error: ${errorMessage(err)}` });
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hp.port, hp.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo; // listening on TCP, so an AddressInfo (never a pipe string)
  const address = { host: hp.host, port: bound.port };
  o.logger?.info({ event: 'admin.listen', address: formatHostPort(address), port: bound.port, auth: o.token !== '', metricsAuth: metricsTokens(o).length > 0 }, 'admin.listen');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
