/**
 * node:http apps on the pool: a `(req, res)` request listener (Express, connect, Koa's `app.callback()`). Each
 * Mongrel2 request becomes node's own `http.IncomingMessage` and `http.ServerResponse`, over a socket stand-in
 * whose writes go to the request's reply sink: Express replaces the prototypes of `req` and `res` with its own
 * (which inherit from node's), so only node's real classes keep every method a framework or middleware expects.
 * Behind Mongrel2 the response is framed by node (Content-Length or chunked, HEAD without a body, Date) and its
 * bytes leave through the same reply path as m2pool's own App; a batch node writes at once (head and body of
 * `res.end(body)`) is one Mongrel2 message. A front that takes the response structure instead (`m2pool serve`)
 * gets it from node's own state (`structured-response.ts`): nothing node wrote is parsed back. The request body
 * (Mongrel2 delivers it whole) is pushed into `req` as a stream.
 * @module
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { isPromiseLike } from '../app/handler';
import type { Request } from '../http/request';
import { captureHead, headOf, headBytes } from './structured-response';
import { ForeignApp, type ForeignRequest } from './exchange';

const EMPTY = Buffer.alloc(0);

/** A node:http request listener (what `http.createServer` takes). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Route label of every request of a node:http app. */
export const NODE_ROUTE = '(node app)';

/** A node:http request listener as a {@link WorkerApp}. */
export class NodeHttpAdapter extends ForeignApp {
  readonly #listener: NodeListener;

  constructor(listener: NodeListener, logger?: Logger) {
    super(NODE_ROUTE, logger);
    this.#listener = listener;
  }

  protected serve(r: ForeignRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = new ReplySocket(r);
      const req = incomingMessage(socket, r.req);
      const res = new ServerResponse(req);
      res.shouldKeepAlive = !r.req.wantsClose;
      if (!r.out.rawHttp) {
        captureHead(res);
        socket.structured = res;
      }
      res.assignSocket(socket as unknown as import('node:net').Socket); // NOTE: a stand-in, see ReplySocket
      socket.on('drain', () => {
        if (res.writableNeedDrain) res.emit('drain');
      });
      res.once('finish', () => {
        // The last bytes are with the sink (the socket calls back once the sink accepted them).
        const ended = socket.structured === undefined ? Promise.resolve(0) : r.out.end(EMPTY);
        const close = ended.then(() => (socket.closeAfter ? r.out.close() : undefined));
        close.then(() => {
          resolve();
          socket.destroy();
        }, reject);
      });
      socket.once('close', () => reject(socket.failure ?? new Error('the response was not finished')));
      r.signal.addEventListener('abort', () => {
        if (!req.readableEnded) req.destroy();
        socket.destroy();
      }, { once: true });
      const value = this.#listener(req, res);
      if (isPromiseLike(value)) value.then(undefined, reject);
    });
  }
}

/** Node's IncomingMessage for `req`, its body pushed whole (Mongrel2 has read it already). */
function incomingMessage(socket: ReplySocket, req: Request): IncomingMessage {
  const msg = new IncomingMessage(socket as unknown as import('node:net').Socket); // NOTE: a stand-in, see ReplySocket
  msg.method = req.method;
  msg.url = req.uri;
  const minor = req.version === 'HTTP/1.0' ? 0 : 1;
  msg.httpVersionMajor = 1;
  msg.httpVersionMinor = minor;
  msg.httpVersion = `1.${minor}`;
  const raw: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') raw.push(name, value);
    else for (const v of value) raw.push(name, v);
  }
  // node's own parser callback: sets rawHeaders, and headers by node's rules for repeated ones (set-cookie an
  // array, cookie joined with "; ", a second host dropped...). Not in @types/node, present since node 0.x.
  (msg as unknown as { _addHeaderLines(headers: string[], n: number): void })._addHeaderLines(raw, raw.length);
  const body = req.body;
  if (body.length > 0) msg.push(body);
  msg.push(null);
  msg.complete = true;
  return msg;
}

/**
 * The socket `req` and `res` see: writes go to the request's reply sink (one write per batch node hands over, so
 * a corked head and body are one Mongrel2 message); the callback waits for the sink, so `finish` means "with the
 * transport" and `write()` returns false while the transport is behind. Reading side: nothing (the body is in
 * `req`). Also what frameworks read off a socket: `remoteAddress`, `encrypted`, and no-op socket options.
 */
class ReplySocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort = 0;
  readonly encrypted: true | undefined;
  /** The response head asked for the connection to be closed (`Connection: close`). */
  closeAfter = false;
  /** Why the socket was destroyed, when the sink refused a write. */
  failure: Error | undefined;
  /** Set when the front takes the structure: the response whose head and body are handed over as such. */
  structured: ServerResponse | undefined;
  readonly #request: ForeignRequest;
  #headSeen = false;
  /** Bytes of node's rendered head still to skip (structured: the head goes over as a `ResponseHead`). */
  #skip = 0;

  constructor(request: ForeignRequest) {
    super({ allowHalfOpen: true });
    this.#request = request;
    this.remoteAddress = request.req.remoteAddress || undefined;
    this.encrypted = request.req.scheme === 'https' ? true : undefined;
    // Destroying with an error (an abort) must not crash the process: nobody else listens on this socket.
    this.on('error', (err: Error) => {
      if (request.logger.isLevelEnabled('debug')) request.logger.debug({ err }, 'response socket error');
    });
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    // Nothing arrives on this socket: the body is pushed into the IncomingMessage.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  #send(data: Buffer, callback: (err?: Error | null) => void): void {
    if (this.structured !== undefined) return this.#sendStructured(this.structured, data, callback);
    if (!this.#headSeen) this.#readHead(data);
    this.#request.out.write(data).then(
      () => callback(),
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        callback(this.failure);
      },
    );
  }

  /**
   * The structured path: the first write opens the response with the head taken from `res` (node's rendered head
   * in front of the body is skipped by its length, not read); what follows is body, unframed (see captureHead).
   */
  #sendStructured(res: ServerResponse, data: Buffer, callback: (err?: Error | null) => void): void {
    const out = this.#request.out;
    let sent: Promise<number>;
    try {
      if (!this.#headSeen) {
        this.#headSeen = true;
        this.#skip = headBytes(res);
        const head = headOf(res, this.#request.req);
        this.closeAfter = head.connection === 'close';
        this.#request.headSent(head.status);
        sent = out.open(head, this.#body(data));
      } else {
        const body = this.#body(data);
        sent = body.length === 0 ? Promise.resolve(0) : out.chunk(body);
      }
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => callback(),
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        callback(this.failure);
      },
    );
  }

  /** `data` without what is left of node's rendered head. */
  #body(data: Buffer): Buffer {
    if (this.#skip === 0) return data;
    const skip = Math.min(this.#skip, data.length);
    this.#skip -= skip;
    return data.subarray(skip);
  }

  /** The status and the close decision, from the head node wrote (it is always in its first write). */
  #readHead(data: Buffer): void {
    this.#headSeen = true;
    const end = data.indexOf('\r\n\r\n');
    const head = data.toString('latin1', 0, end < 0 ? Math.min(data.length, 16_384) : end);
    const status = Number(head.slice(9, 12));
    this.#request.headSent(Number.isInteger(status) ? status : 0);
    this.closeAfter = /\r\nconnection:[ \t]*close[ \t]*(\r\n|$)/i.test(head);
  }
}
