/**
 * ZeroMQ's maximum message size (`ZMQ_MAXMSGSIZE`, zeromq.js `maxMessageSize`) for every socket that faces a peer.
 * libzmq checks a frame's declared size before it allocates anything and drops the
 * connection of a peer that sends more (docs/zeromq.md §3.9), so a rogue peer cannot make a process allocate a
 * 256 MiB frame. The limit applies per frame; m2pool's messages are one frame (Mongrel2's) or a three-frame batch
 * whose data frame holds the payloads back to back (docs/dispatch-protocol.md).
 *
 * - **From Mongrel2** (the dispatcher's and a direct worker's PULL): the largest message Mongrel2 can legally send.
 *   An HTTP request carries at most `limits.content_length` of body (a longer one takes the upload path, whose
 *   messages have an empty body), and its header block is at most `limits.buffer_size` (4096) bytes, which
 *   Mongrel2 re-encodes with its own headers (METHOD, PATH, URI, QUERY, PATTERN, URL_SCHEME, REMOTE_ADDR …,
 *   FLAGS for WebSocket) as JSON or tnetstrings: at most a few times the raw size (docs/mongrel2.md §2.1, §2.7).
 *   A WebSocket message has no limit in Mongrel2 at all (it reassembles fragments, docs/mongrel2.md §3.3): what bounds it is the
 *   app's `maxMessageBytes` (default 1 MiB), so that is in the default too. A legal message over the limit would
 *   make ZeroMQ drop the whole Mongrel2 link, and with it whatever Mongrel2 had already pushed: keep the setting
 *   (`maxRequestBytes`) at least the largest WebSocket `maxMessageBytes` of the app.
 * - **From the dispatcher** (a worker's DEALER): a batch of at most the worker's credit in requests.
 * - **From a worker** (the dispatcher's ROUTER): a batch of replies; one reply is as large as the app's biggest
 *   response body sent in one piece, so the bound is a setting (`--max-message-bytes`, default 64 MiB), and the
 *   dispatcher tells the worker in WELCOME: the worker then splits its batches below it and refuses a single
 *   reply over it, instead of being disconnected.
 * @module
 */

/** Mongrel2's own default `limits.content_length` (docs/mongrel2.md §2.7). */
export const MONGREL2_CONTENT_LENGTH = 20_480;
/** Mongrel2's `limits.buffer_size`: the largest header block it accepts (docs/mongrel2.md §2.7). */
export const MONGREL2_BUFFER_SIZE = 4_096;
/** The app's default WebSocket `maxMessageBytes` (`app/websocket/websocket.ts`; repeated: config/ is a leaf). */
export const WEBSOCKET_MESSAGE_BYTES = 1_048_576;
/**
 * What Mongrel2 adds around a body: sender, connection id, path, and the header block re-encoded with its own
 * headers. Escaping (JSON) or length prefixes (tnetstrings) at most double a header's bytes, and the path and URI
 * repeat the request line: 8 × buffer_size covers that, 64 KiB covers the rest with room to spare.
 */
export const MONGREL2_ENVELOPE_BYTES = 8 * MONGREL2_BUFFER_SIZE + 65_536;
/** Default of the dispatcher's `--max-message-bytes`: the largest message (batch frame) a worker may send. */
export const DEFAULT_WORKER_MESSAGE_BYTES = 64 * 1_048_576;
/** Room for a batch's index and control bodies beside its payloads. */
const BATCH_OVERHEAD_BYTES = 65_536;

/** The largest message Mongrel2 sends to a handler whose `limits.content_length` is `contentLength`. */
export function mongrel2MessageBytes(contentLength: number = MONGREL2_CONTENT_LENGTH): number {
  return Math.max(contentLength, WEBSOCKET_MESSAGE_BYTES) + MONGREL2_ENVELOPE_BYTES;
}

/** The largest batch a dispatcher sends a worker of `capacity` credit, each request at most `requestBytes`. */
export function dispatcherBatchBytes(capacity: number, requestBytes: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, capacity * requestBytes + BATCH_OVERHEAD_BYTES);
}

/** The largest message a worker (or the pool's dispatcher) accepts from Mongrel2: the setting, else the derived bound. */
export function requestBytesOf(c: { readonly maxRequestBytes?: number | undefined; readonly uploadThreshold: number }): number {
  return c.maxRequestBytes ?? mongrel2MessageBytes(c.uploadThreshold);
}
