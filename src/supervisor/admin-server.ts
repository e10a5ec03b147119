/**
 * Admin HTTP API of the supervisor (node:http, JSON in and out):
 *   GET  /pool          → {@link PoolSnapshot}
 *   POST /pool/scale    ← {"workers": N} | {"delta": ±N}   → 200 {"previous", "desired"}
 *   POST /pool/reload   → 202 {"generation"}
 *   GET  /healthz       → 200 while the reconcile loop runs, else 503
 *   GET  /readyz        → 200 with ≥ minReady ready workers, else 503
 *   GET  /metrics       → the optional `metricsHandler` (`m2pool start` mounts `PoolMetrics`), else 404
 * Errors are `{"error": "…"}` with a 4xx/5xx status. Mutating calls need `Authorization: Bearer <adminToken>`
 * whenever a token is configured (the config requires one off loopback).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { formatHostPort, parseHostPort, type HostPort } from '../config/host-port';
import { errorMessage } from '../errors';
import type { Logger } from './logger';
import type { PoolSnapshot } from './pool-snapshot';
import { parseScaleBody } from './scale-request';
import type { ReloadResult, ScaleResult, ScaleTarget } from './supervisor';

/** What the admin API drives; `Supervisor` implements it. */
export interface AdminTarget {
  snapshot(): PoolSnapshot;
  scale(target: ScaleTarget, source: string): ScaleResult;
  reload(source: string): ReloadResult;
  isLive(): boolean;
  isReady(): boolean;
}

/** Serves `GET /metrics` (e.g. `PoolMetrics.handleMetricsRequest`). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  readonly target: AdminTarget;
  /** `HOST:PORT`; port 0 picks a free port (see {@link AdminServer.address}). */
  readonly listen: string;
  /** Required bearer token for mutating calls; '' = none. */
  readonly token: string;
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

type Method = 'GET' | 'HEAD' | 'POST';
const ROUTES: Readonly<Record<string, readonly Method[]>> = {
  '/pool': ['GET', 'HEAD'],
  '/pool/scale': ['POST'],
  '/pool/reload': ['POST'],
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

function authorize(req: IncomingMessage, token: string): void {
  if (token === '') return;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(req.headers.authorization ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpProblem(401, 'this endpoint needs "Authorization: Bearer <adminToken>"', { 'www-authenticate': 'Bearer' });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://admin').pathname;
  const allowed = ROUTES[path];
  if (allowed === undefined) throw new HttpProblem(404, `no such endpoint ${path}; try GET /pool, /healthz, /readyz`);
  const method = req.method ?? 'GET';
  if (!allowed.some((m) => m === method)) {
    throw new HttpProblem(405, `${path} accepts ${allowed.filter((m) => m !== 'HEAD').join(', ')}, not ${method}`, { allow: allowed.join(', ') });
  }
  const t = o.target;
  switch (path) {
    case '/pool':
      return send(res, 200, t.snapshot());
    case '/healthz':
      return t.isLive() ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'unhealthy' });
    case '/readyz': {
      const s = t.snapshot();
      const body = { ready: s.ready, minReady: s.minReady, phase: s.phase };
      return t.isReady() ? send(res, 200, { status: 'ready', ...body }) : send(res, 503, { status: 'not-ready', ...body });
    }
    case '/metrics':
      if (o.metricsHandler === undefined) throw new HttpProblem(404, 'metrics are not enabled in this build');
      return o.metricsHandler(req, res);
    case '/pool/reload': {
      authorize(req, o.token);
      await readBody(req);
      const r = t.reload('admin');
      return r.ok ? send(res, 202, { generation: r.generation }) : send(res, r.status, { error: r.error });
    }
    default: {
      authorize(req, o.token);
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') throw new HttpProblem(415, 'send the body as Content-Type: application/json, e.g. {"workers": 4}');
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch (err) {
        throw new HttpProblem(400, `malformed JSON: ${errorMessage(err)}`);
      }
      const parsed = parseScaleBody(body);
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
  o.logger?.info({ event: 'admin.listen', address: formatHostPort(address), port: bound.port, auth: o.token !== '' }, 'admin.listen');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
