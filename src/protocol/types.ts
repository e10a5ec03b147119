/**
 * Types shared by the Mongrel2 wire codec. Pure data; no I/O.
 * Spec: docs/mongrel2.md §2–§4.
 * @module
 */

/**
 * A header value as Mongrel2 delivers it. A repeated header becomes an array in arrival order
 * (Mongrel2 keeps at most 5 values). Strings are decoded as UTF-8 when the bytes are valid UTF-8,
 * otherwise as latin1 (one char per byte), so no byte is ever lost or replaced.
 */
export type HeaderValue = string | readonly string[];

/** Headers exactly as Mongrel2 sent them: client headers lowercased, Mongrel2's own keys UPPERCASE. */
export type RawHeaders = Readonly<Record<string, HeaderValue>>;

/** Which header encoding the Mongrel2 handler uses (`protocol='tnetstring'` or the JSON default). */
export type HeaderProtocol = 'json' | 'tnetstring';

/** One request message from Mongrel2, framed but not yet interpreted: `UUID ID PATH HEADERS BODY`. */
export interface RawMessage {
  /** The handler's send_ident (the UUID field); replies are addressed with it. */
  readonly sender: string;
  /** Connection id (uint32, per Mongrel2 process). Key state by (sender, connId), never connId alone. */
  readonly connId: number;
  /** The PATH field: request path (no query, not decoded), `@name` for socket routes, `@*` for notices. */
  readonly path: string;
  readonly headers: RawHeaders;
  /** Body bytes, binary-safe. */
  readonly body: Buffer;
  readonly protocol: HeaderProtocol;
}

/** What a Mongrel2 message means, after classification (docs/mongrel2.md §3). */
export type Mongrel2Message =
  /** An ordinary HTTP request (also an async upload once complete: see `upload`). */
  | { readonly kind: 'request'; readonly msg: RawMessage; readonly upload?: UploadInfo }
  /** The client connection closed (best effort; may arrive at any worker, twice, or never). */
  | { readonly kind: 'disconnect'; readonly msg: RawMessage }
  /** download.flow_control: `credits` bytes were written to the client. */
  | { readonly kind: 'credits'; readonly msg: RawMessage; readonly credits: number }
  /** WebSocket upgrade; `accept` is the Sec-WebSocket-Accept value Mongrel2 computed (the body). */
  | { readonly kind: 'websocket-handshake'; readonly msg: RawMessage; readonly accept: string }
  /** One (reassembled) inbound WebSocket message, payload already unmasked. */
  | {
      readonly kind: 'websocket-frame';
      readonly msg: RawMessage;
      readonly flags: number;
      readonly opcode: number;
      readonly fin: boolean;
      readonly payload: Buffer;
    }
  /** Async upload started: Mongrel2 is streaming the body to `file`. No reply is expected. */
  | { readonly kind: 'upload-start'; readonly msg: RawMessage; readonly file: string }
  /** upload.stream=1 chunk (the first one has all headers, later ones only UPLOAD_STREAM*). */
  | { readonly kind: 'upload-stream'; readonly msg: RawMessage; readonly offset: number; readonly done: boolean }
  /** `@route` JSON (or `<route` XML) socket message; `data` is the body text. */
  | { readonly kind: 'socket-message'; readonly msg: RawMessage; readonly method: 'JSON' | 'XML'; readonly data: string }
  /** Well-framed but unacceptable (e.g. forged upload headers): answer 400, never trust it. */
  | { readonly kind: 'invalid'; readonly msg: RawMessage; readonly reason: string; readonly upload?: true };

/** A completed async upload (docs/mongrel2.md §3.4): the body is in `file`, which the handler must unlink. */
export interface UploadInfo {
  readonly file: string;
}

/** Mongrel2 rejects a reply with more targets than this (limits.handler_targets). */
export const MAX_REPLY_TARGETS = 128;
