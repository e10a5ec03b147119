/**
 * `ServerResponseOutlet`: the node:http front's serialiser. The app hands it the response structure (a
 * `ResponseHead` and the body, see `http/outlet.ts`); it becomes `res.writeHead(status, reason, headers)` and
 * `res.write(body)`. node frames the body itself (chunked when no length is known), so the head's
 * `Transfer-Encoding` is left out; everything else is the app's own (Date, Connection, Content-Length), and node
 * adds nothing the app already set.
 * @module
 */
import type { ServerResponse } from 'node:http';
import { ErrorCode, M2PoolError } from '../errors';
import type { ResponseOutlet } from '../http/outlet';
import type { ResponseHead } from '../http/response-head';

const NOTHING: Promise<number> = Promise.resolve(0);

/** Writes the app's response to `res`; {@link finish} ends it once the app's dispatch is over. */
export class ServerResponseOutlet implements ResponseOutlet {
  readonly #res: ServerResponse;
  #bytes = 0;
  #closeAfter = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** Body bytes handed to node (node's own framing and the head are not counted). */
  get bytes(): number {
    return this.#bytes;
  }

  get rawHttp(): boolean {
    return false;
  }

  get closed(): boolean {
    return this.#closeAfter;
  }

  send(head: ResponseHead, body: Buffer): Promise<number> {
    return this.open(head, body);
  }

  open(head: ResponseHead, first: Buffer): Promise<number> {
    if (this.#gone()) return NOTHING;
    const headers: string[] = [];
    head.forEachHeader((name, value) => {
      // node frames a body of unknown length itself (chunked on HTTP/1.1).
      if (name.toLowerCase() !== 'transfer-encoding') headers.push(name, value);
    });
    try {
      this.#res.writeHead(head.status, head.reason, headers);
    } catch (err) {
      return Promise.reject(err);
    }
    return first.length === 0 ? NOTHING : this.#body(first);
  }

  chunk(data: Buffer): Promise<number> {
    return this.#body(data);
  }

  end(last: Buffer): Promise<number> {
    return last.length === 0 ? NOTHING : this.#body(last);
  }

  /** Raw bytes are Mongrel2's (WebSocket frames, a foreign app's own HTTP framing): this front takes only the structure. */
  write(): Promise<void> {
    return Promise.reject(new M2PoolError(ErrorCode.RESPONSE_INVALID, 'm2pool serve takes responses, not raw bytes (WebSocket and raw replies need Mongrel2)'));
  }

  /** Mongrel2's "close the connection": done once the response is complete. */
  close(): Promise<void> {
    this.#closeAfter = true;
    return Promise.resolve();
  }

  /** The app's dispatch is over: end the response, then the connection when the app asked for it. */
  finish(): void {
    const res = this.#res;
    if (res.destroyed) return;
    if (!res.headersSent) {
      // The app sent nothing: what Mongrel2 would turn into a dropped connection.
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('incomplete response from the app\n');
      return;
    }
    if (this.#closeAfter) res.once('finish', () => res.socket?.end());
    res.end();
  }

  /** The client is gone: nothing to do. */
  #gone(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  #body(data: Buffer): Promise<number> {
    if (this.#gone()) return NOTHING;
    this.#bytes += data.length;
    if (this.#res.write(data)) return Promise.resolve(data.length);
    // Backpressure, as the Mongrel2 transport's: the app's next write waits until node has sent this one.
    return new Promise((resolve) => {
      const done = (): void => {
        this.#res.off('drain', done).off('close', done);
        resolve(data.length);
      };
      this.#res.on('drain', done).on('close', done);
    });
  }
}
