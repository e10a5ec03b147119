/**
 * The HTTP front: an app served by node:http instead of Mongrel2 (`m2pool serve`). Each request becomes the
 * RawMessage Mongrel2 would have sent and goes through the app's `dispatch(msg, outlet, options)`, so routing,
 * deadlines, validation and error pages are the app's own; the app hands its response to a
 * `ServerResponseOutlet` (outlet.ts) as a structure, which becomes `res.writeHead/write/end`. The body is read into memory up to a limit (413
 * above it), except a multipart one, which goes to an anonymous temp file (spool.ts) and is parsed from there; a
 * client that goes away aborts its request; `stop()` drains like a worker: no new connections, in-flight requests
 * get the drain budget, what is left is aborted and answered 503. WebSocket upgrades are answered 501 (serve them
 * through Mongrel2).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { Cancellation } from '../app/cancellation';
import { errorMessage } from '../errors';
import type { BodySource } from '../http/request';
import { messageOptions, readsBodySource, type WorkerApp } from '../adapters/app-contract';
import { UploadBody } from '../worker/upload-store';
import { ConnectionIds, toRawMessage } from './raw-message';
import { ServerResponseOutlet } from './outlet';
import { isMultipart, spoolBody } from './spool';

const NO_BODY = Buffer.alloc(0);

/** Settings of an {@link HttpFront}. */
export interface HttpFrontOptions {
  readonly app: WorkerApp;
  readonly logger: Logger;
  /** Largest request body read into memory; a larger one is answered 413 and its connection closed. */
  readonly maxBodyBytes: number;
}

/** Why an in-flight request was aborted by {@link HttpFront.stop}. */
class FrontStopping extends Error {
  constructor() {
    super('server stopping');
  }
}

const WEBSOCKET_501 = 'WebSocket is not supported by m2pool serve; serve WebSocket routes through Mongrel2 (m2pool worker/start)\n';

/** One node:http server in front of one app. */
export class HttpFront {
  readonly server: Server;
  readonly #opts: HttpFrontOptions;
  readonly #connIds = new ConnectionIds();
  /** Whether a multipart body may go to a temp file for the app (see `readsBodySource`). */
  readonly #diskBodies: boolean;
  readonly #inFlight = new Set<Cancellation>();
  #idle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: HttpFrontOptions) {
    this.#opts = options;
    this.#diskBodies = readsBodySource(options.app);
    this.server = createServer((req, res) => this.#onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket) => this.#refuseUpgrade(req, socket));
  }

  /** Requests being dispatched now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Listen on `host:port` (port 0: any free port); resolves with the bound address. */
  listen(host: string, port: number, backlog = 511): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stop accepting, let in-flight requests finish within `drainMs`, abort the rest (503), close. Idempotent. */
  stop(drainMs: number): Promise<void> {
    this.#stopping ??= this.#drain(drainMs);
    return this.#stopping;
  }

  async #drain(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (!(await this.#whenIdle(drainMs))) {
      this.#opts.logger.warn({ event: 'serve.drain.timeout', inFlight: this.inFlight, drainMs }, 'drain timeout: aborting in-flight requests');
      for (const c of this.#inFlight) c.abort(new FrontStopping());
      await this.#whenIdle(2_000);
    }
    this.server.closeAllConnections();
    await closed;
  }

  #whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idle = undefined;
        resolve(false);
      }, timeoutMs);
      this.#idle = () => {
        clearTimeout(timer);
        this.#idle = undefined;
        resolve(true);
      };
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const limit = this.#opts.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return this.#tooLarge(req, res, declared);
    if (this.#diskBodies && isMultipart(req.headers['content-type'])) return void this.#spooled(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return this.#tooLarge(req, res, size);
      chunks.push(c);
    });
    req.on('error', () => undefined); // an aborted upload: 'close' on the response ends the request
    req.on('end', () => {
      if (size > limit) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      void this.#dispatch(req, res, body);
    });
  }

  /** A multipart body goes to an anonymous temp file and is parsed from there, as behind Mongrel2. */
  async #spooled(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let spooled;
    try {
      spooled = await spoolBody(req, this.#opts.maxBodyBytes, (bytes) => this.#tooLarge(req, res, bytes));
    } catch (err) {
      this.#opts.logger.error({ event: 'serve.spool.failed', err, path: req.url }, 'could not write the request body to a temp file');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Internal Server Error\n');
      req.resume();
      return;
    }
    if (spooled.kind !== 'ok') return;
    const body = new UploadBody(spooled.handle, spooled.size);
    try {
      await this.#dispatch(req, res, NO_BODY, body);
    } finally {
      await body.close();
    }
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, body: Buffer, bodySource?: BodySource): Promise<void> {
    const { app, logger } = this.#opts;
    const sink = new ServerResponseOutlet(res);
    const cancellation = new Cancellation();
    this.#inFlight.add(cancellation);
    if (logger.isLevelEnabled('trace')) logger.trace({ event: 'serve.request', method: req.method, url: req.url }, 'serve.request');
    res.once('close', () => {
      if (!res.writableFinished) cancellation.abort(new Error('client disconnected'));
    });
    try {
      const result = await app.dispatch(toRawMessage(req, body, this.#connIds.of(req.socket)), sink, messageOptions(cancellation, logger, undefined, bodySource));
      if (result.outcome === 'aborted' && cancellation.reason instanceof FrontStopping && !res.headersSent) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('server stopping\n');
        return;
      }
    } catch (err) {
      // dispatch never rejects by contract; only a broken app lands here.
      logger.error({ event: 'serve.error', err, path: req.url }, errorMessage(err));
    } finally {
      if (!res.writableEnded) sink.finish();
      this.#inFlight.delete(cancellation);
      if (this.#inFlight.size === 0) this.#idle?.();
    }
  }

  #tooLarge(req: IncomingMessage, res: ServerResponse, bytes: number): void {
    if (!res.headersSent) {
      this.#opts.logger.info({ event: 'serve.body.too-large', bytes, limit: this.#opts.maxBodyBytes, path: req.url }, 'request body too large');
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('request body too large\n');
    }
    req.removeAllListeners('data');
    req.resume();
  }

  #refuseUpgrade(req: IncomingMessage, socket: Socket): void {
    this.#opts.logger.info({ event: 'serve.websocket.refused', path: req.url }, 'serve.websocket.refused');
    const body = Buffer.from(WEBSOCKET_501);
    socket.end(`HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${WEBSOCKET_501}`);
  }
}
