/**
 * `HttpWire`: the Mongrel2 front's serialiser. It turns the app's response structure into the HTTP/1.1 bytes the
 * client reads (Mongrel2 forwards a reply's body as it is, docs/mongrel2.md §4.3) and hands them to a bytes-only
 * `ReplySink` (the worker's delivery sink): a whole response as one write (one Mongrel2 message), a streamed one
 * as the head, then one write per chunk. It counts what the sink accepted.
 * @module
 */

import { encodeChunk, LAST_CHUNK } from '../protocol/http-response';
import { allocWithHeadroom } from '../protocol/reply-writer';
import type { ResponseOutlet } from './outlet';
import { isOutlet } from './outlet';
import type { ResponseHead } from './response-head';
import type { ReplySink } from './sink';

const EMPTY = Buffer.alloc(0);

/** HTTP/1.1 bytes for a bytes-only sink. */
export class HttpWire implements ResponseOutlet {
  readonly #sink: ReplySink;
  #bytes = 0;
  #closed = false;
  /** The open body is chunk-framed. */
  #chunked = false;

  constructor(sink: ReplySink) {
    this.#sink = sink;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get rawHttp(): boolean {
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(head: ResponseHead, body: Buffer): Promise<number> {
    let data: Buffer;
    try {
      data = headAndBody(head.wireText(), body);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#put(data);
  }

  open(head: ResponseHead, first: Buffer): Promise<number> {
    this.#chunked = head.framing === 'chunked' && head.sendsBody;
    return this.send(head, first.length === 0 ? EMPTY : this.#frame(first));
  }

  chunk(data: Buffer): Promise<number> {
    return this.#put(this.#frame(data));
  }

  end(last: Buffer): Promise<number> {
    const data = last.length === 0 ? (this.#chunked ? LAST_CHUNK : EMPTY) : this.#chunked ? Buffer.concat([encodeChunk(last), LAST_CHUNK]) : last;
    if (data.length === 0) return Promise.resolve(0);
    return this.#put(data);
  }

  // Not async functions: one `then` per call instead of a wrapper promise and an await.
  write(data: Buffer): Promise<void> {
    return this.#sink.write(data).then(() => {
      this.#bytes += data.length;
    });
  }

  close(): Promise<void> {
    return this.#sink.close().then(() => {
      this.#closed = true;
    });
  }

  /** Hand `data` to the sink; resolves with its length once accepted. */
  #put(data: Buffer): Promise<number> {
    return this.#sink.write(data).then(() => {
      this.#bytes += data.length;
      return data.length;
    });
  }

  #frame(data: Buffer): Buffer {
    return this.#chunked ? encodeChunk(data) : data;
  }
}

/** `sink` itself when it takes the structure, else the HTTP/1.1 serialiser over it. */
export function outletFor(sink: ReplySink): ResponseOutlet {
  return isOutlet(sink) ? sink : new HttpWire(sink);
}

/**
 * Head (latin1 text: one byte per char) and body in one buffer, with room for the Mongrel2 reply prefix in front,
 * so the reply leaves as the one buffer it was built in (see `allocWithHeadroom`).
 */
function headAndBody(head: string, body: Buffer): Buffer {
  const out = allocWithHeadroom(head.length + body.length);
  out.write(head, 0, 'latin1');
  if (body.length > 0) body.copy(out, head.length);
  return out;
}
