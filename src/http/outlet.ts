/**
 * `ResponseOutlet`: what the app hands a response to. The app produces one structure (a {@link ResponseHead}
 * and body bytes, whole or streamed, plus raw bytes for what is not HTTP: WebSocket frames) and each front
 * serialises it once: `HttpWire` as HTTP/1.1 bytes for Mongrel2, the node:http front with `res.writeHead/write`,
 * the test front as a response object. An outlet is also a `ReplySink`: `write()` is the raw-bytes path.
 * @module
 */

import type { ResponseHead } from './response-head';
import type { ReplySink } from './sink';

/**
 * The fronts' side of a response. Each method resolves once the front accepted what it was given, with the
 * number of bytes that made on its wire (0 when nothing was sent). Calls come in order: `send` (a whole
 * response), or `open`, `chunk`*, `end` (a streamed one); `write` for raw bytes; `close` to end the connection.
 */
export interface ResponseOutlet extends ReplySink {
  /** Bytes accepted so far (head, body and framing, raw writes). */
  readonly bytes: number;
  /** Whether a close was accepted. */
  readonly closed: boolean;
  /**
   * Whether raw HTTP bytes given to `write()` reach the client as they are (Mongrel2's wire). A foreign app that
   * frames its own responses (node:http's ServerResponse) writes them raw only then, and the structure otherwise.
   */
  readonly rawHttp: boolean;
  /** A whole response: `body` is what the client gets (empty for HEAD, 204, 304; `head.contentLength` still counts it). */
  send(head: ResponseHead, body: Buffer): Promise<number>;
  /** The head of a streamed body (`head.framing` says how it is delimited), with its `first` bytes (may be empty). */
  open(head: ResponseHead, first: Buffer): Promise<number>;
  /** One more piece of the open body (not empty). */
  chunk(data: Buffer): Promise<number>;
  /** The end of the open body, with its `last` bytes (may be empty). */
  end(last: Buffer): Promise<number>;
}

/** Whether `sink` is an outlet (takes the structure) rather than a bytes-only sink (the worker's). */
export function isOutlet(sink: ReplySink): sink is ResponseOutlet {
  return typeof (sink as Partial<ResponseOutlet>).send === 'function';
}
