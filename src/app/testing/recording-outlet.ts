/**
 * The test front of `app.request()` and the WebSocket test helpers: an outlet that keeps the response structure
 * the app produced (status, headers, body pieces, raw writes after the head) and also serialises it through
 * `HttpWire` into a {@link CollectingSink}, so a test can check the exact bytes Mongrel2 would get.
 * @module
 */

import { HttpWire } from '../../http/http-wire';
import type { ResponseOutlet } from '../../http/outlet';
import type { BodyFraming, ResponseHead } from '../../http/response-head';
import type { ReplySink } from '../../http/sink';

/** A ReplySink that keeps every write. */
export class CollectingSink implements ReplySink {
  /** One entry per `write()` (= one Mongrel2 message). */
  readonly writes: Buffer[] = [];
  /** Whether `close()` was called. */
  closed = false;
  /** Writes received after `close()`: always a bug. */
  writesAfterClose = 0;

  async write(data: Buffer): Promise<void> {
    if (this.closed) this.writesAfterClose += 1;
    this.writes.push(Buffer.from(data));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Everything written, concatenated. */
  bytes(): Buffer {
    return Buffer.concat(this.writes);
  }
}

/** Header names lowercased; a repeated header becomes an array, in order. */
export type TestHeaders = Readonly<Record<string, string | string[]>>;

/** Records the first response head and its body as the app handed them over; forwards everything to the wire. */
export class RecordingOutlet implements ResponseOutlet {
  /** The bytes Mongrel2 would have been sent (live). */
  readonly sink = new CollectingSink();
  readonly #wire = new HttpWire(this.sink);
  #status = 0;
  #reason = '';
  #headers: Record<string, string | string[]> = {};
  #framing: BodyFraming | undefined;
  #sendsBody = false;
  #ended = false;
  readonly #body: Buffer[] = [];
  readonly #raw: Buffer[] = [];

  get bytes(): number {
    return this.#wire.bytes;
  }

  get rawHttp(): boolean {
    return false;
  }

  get closed(): boolean {
    return this.#wire.closed;
  }

  /** Status of the first head; 0 while none was sent. */
  get status(): number {
    return this.#status;
  }

  get reason(): string {
    return this.#reason;
  }

  /** The first head's header lines, the computed ones (Date, framing, Connection) included. */
  get headers(): TestHeaders {
    return this.#headers;
  }

  /** The body as the client reads it (no chunked coding). */
  body(): Buffer {
    return Buffer.concat(this.#body);
  }

  /** Raw writes after the head (WebSocket frames), concatenated. */
  raw(): Buffer {
    return Buffer.concat(this.#raw);
  }

  /**
   * Whether the client got the whole body: always for a whole response or one without a body; a chunked stream
   * once ended; a body delimited by closing the connection once closed.
   */
  get complete(): boolean {
    if (this.#framing === undefined) return false;
    if (!this.#sendsBody || this.#framing === 'none' || this.#framing === 'length') return true;
    return this.#framing === 'chunked' ? this.#ended : this.closed;
  }

  send(head: ResponseHead, body: Buffer): Promise<number> {
    if (this.#record(head)) {
      this.#body.push(Buffer.from(body));
      this.#ended = true;
    }
    return this.#wire.send(head, body);
  }

  open(head: ResponseHead, first: Buffer): Promise<number> {
    if (this.#record(head) && first.length > 0) this.#body.push(Buffer.from(first));
    return this.#wire.open(head, first);
  }

  chunk(data: Buffer): Promise<number> {
    this.#body.push(Buffer.from(data));
    return this.#wire.chunk(data);
  }

  end(last: Buffer): Promise<number> {
    if (last.length > 0) this.#body.push(Buffer.from(last));
    this.#ended = true;
    return this.#wire.end(last);
  }

  write(data: Buffer): Promise<void> {
    if (this.#framing !== undefined) this.#raw.push(Buffer.from(data));
    return this.#wire.write(data);
  }

  close(): Promise<void> {
    return this.#wire.close();
  }

  /** Keep `head` when it is the first; false for a later one (not recorded: the client reads the first). */
  #record(head: ResponseHead): boolean {
    if (this.#framing !== undefined) return false;
    this.#status = head.status;
    this.#reason = head.reason;
    this.#framing = head.framing;
    this.#sendsBody = head.sendsBody;
    // A plain object so tests can deepEqual it; defineProperty keeps a `__proto__` header plain data.
    const headers: Record<string, string | string[]> = {};
    head.forEachHeader((name, value) => {
      const key = name.toLowerCase();
      const prev = Object.hasOwn(headers, key) ? headers[key] : undefined;
      const next = prev === undefined ? value : [...(typeof prev === 'string' ? [prev] : prev), value];
      Object.defineProperty(headers, key, { value: next, enumerable: true, writable: true, configurable: true });
    });
    this.#headers = headers;
    return true;
  }
}
