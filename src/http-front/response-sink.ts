/**
 * A `ReplySink` over a node:http `ServerResponse`. The app writes a complete HTTP/1.1 response (status line,
 * headers, body or chunks, as Mongrel2 forwards it); this sink reads the head back into `writeHead`, passes the
 * body on, and undoes the app's chunked framing (node frames a body of unknown length itself). Status, headers
 * and body are the app's own; node adds nothing the app already set (Date, Connection, Content-Length).
 * @module
 */
import type { ServerResponse } from 'node:http';
import { ErrorCode, M2PoolError } from '../errors';
import type { ReplySink } from '../http/sink';
import { ChunkDecoder } from './chunk-decoder';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/;
const RESOLVED = Promise.resolve();

/** Writes the app's serialised response to `res`; {@link finish} ends it once the app's dispatch is over. */
export class ServerResponseSink implements ReplySink {
  readonly #res: ServerResponse;
  /** The head collected so far; `undefined` once it has been written. */
  #head: Buffer | undefined = Buffer.alloc(0);
  #chunks: ChunkDecoder | undefined;
  #closeAfter = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** True once the app's head has been handed to node. */
  get headersWritten(): boolean {
    return this.#head === undefined;
  }

  write(data: Buffer): Promise<void> {
    try {
      return this.#write(data);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #write(data: Buffer): Promise<void> {
    if (this.#res.destroyed || this.#res.writableEnded) return RESOLVED; // the client is gone: nothing to do
    if (this.#head !== undefined) {
      const buf = this.#head.length === 0 ? data : Buffer.concat([this.#head, data]);
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0) {
        this.#head = buf;
        return RESOLVED;
      }
      this.#head = undefined;
      this.#writeHead(buf.toString('latin1', 0, end));
      data = buf.subarray(end + 4);
    }
    const body = this.#chunks === undefined ? [data] : this.#chunks.push(data);
    let flushed = true;
    for (const piece of body) if (piece.length > 0) flushed = this.#res.write(piece) && flushed;
    if (flushed) return RESOLVED;
    // Backpressure, as the Mongrel2 transport's: the app's next write waits until node has sent this one.
    return new Promise((resolve) => {
      const done = (): void => {
        this.#res.off('drain', done).off('close', done);
        resolve();
      };
      this.#res.on('drain', done).on('close', done);
    });
  }

  /** Mongrel2's "close the connection": done once the response is complete. */
  close(): Promise<void> {
    this.#closeAfter = true;
    return RESOLVED;
  }

  /** The app's dispatch is over: end the response, then the connection when the app asked for it. */
  finish(): void {
    if (this.#res.destroyed) return;
    if (!this.#res.headersSent) {
      // The app sent nothing (or half a head): what Mongrel2 would turn into a dropped connection.
      this.#res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      this.#res.end('incomplete response from the app\n');
      return;
    }
    if (this.#closeAfter) this.#res.once('finish', () => this.#res.socket?.end());
    this.#res.end();
  }

  #writeHead(text: string): void {
    const [statusLine = '', ...lines] = text.split('\r\n');
    const status = STATUS_LINE.exec(statusLine);
    if (status === null) throw new M2PoolError(ErrorCode.RESPONSE_INVALID, `bad status line from the app: ${JSON.stringify(statusLine.slice(0, 60))}`);
    const headers: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      // node frames a body of unknown length itself (chunked on HTTP/1.1): the app's chunks are decoded.
      if (name.toLowerCase() === 'transfer-encoding') {
        if (/\bchunked\b/i.test(value)) this.#chunks = new ChunkDecoder();
        continue;
      }
      headers.push(name, value);
    }
    this.#res.writeHead(Number(status[1]), status[2] ?? '', headers);
  }
}
