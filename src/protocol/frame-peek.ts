/**
 * What the dispatcher reads of a Mongrel2 request, and no more (docs/mongrel2.md §2): the sender and the
 * connection id (the connection a request belongs to), whether it is a disconnect notice, and, only when a
 * worker died holding it, the METHOD header; only when it logs about a request, its request id. Frames are forwarded to workers as they came; the worker parses
 * them fully.
 * @module
 */

import { isValidRequestId, parseTraceparent } from './request-id';

const SPACE = 0x20;
const AT = 0x40;
const STAR = 0x2a;
const DISCONNECT = Buffer.from('"disconnect"');
const METHOD = Buffer.from('METHOD');
const JSON_REQUEST_ID = Buffer.from('"x-request-id":"');
const JSON_TRACEPARENT = Buffer.from('"traceparent":"');
const TNET_REQUEST_ID = Buffer.from('12:x-request-id,');
const TNET_TRACEPARENT = Buffer.from('11:traceparent,');
/** Longest header value the peek reads (a traceparent is 55 characters; longer ids are refused anyway). */
const MAX_PEEKED_VALUE = 512;

/** Sender and connection id of a Mongrel2 message, or undefined if the frame does not start like one. */
export interface Peeked {
  /** `sender SP connId` as latin1 text: the connection's identity within one server. */
  readonly connection: string;
  /** Byte offset of the space after the sender. */
  readonly senderEnd: number;
  /** Byte offset of the path (one past the space after the connection id). */
  readonly pathAt: number;
}

/** Read `UUID SP ID SP`; undefined for a frame that is not a Mongrel2 message. */
export function peekConnection(frame: Buffer): Peeked | undefined {
  const sp1 = frame.indexOf(SPACE);
  if (sp1 <= 0) return undefined;
  const sp2 = frame.indexOf(SPACE, sp1 + 1);
  if (sp2 <= sp1 + 1 || sp2 - sp1 > 11) return undefined;
  return { connection: frame.toString('latin1', 0, sp2), senderEnd: sp1, pathAt: sp2 + 1 };
}

/** A `@*` notice whose body says `"disconnect"` (Mongrel2's disconnect notice, docs/mongrel2.md §3.1). */
export function isDisconnectNotice(frame: Buffer, pathAt: number): boolean {
  return frame[pathAt] === AT && frame[pathAt + 1] === STAR && frame[pathAt + 2] === SPACE && frame.includes(DISCONNECT, pathAt);
}

/** Split a connection identity back into sender and numeric connection id (for error replies). */
export function splitConnection(connection: string): { sender: string; connId: number } {
  const sp = connection.indexOf(' ');
  return { sender: connection.slice(0, sp), connId: Number(connection.slice(sp + 1)) };
}

/**
 * The METHOD header's value, found by a lazy scan (tnetstring `6:METHOD,N:VALUE,` or JSON `"METHOD":"VALUE"`),
 * or '' when absent or unreadable. Used only to decide whether a dead worker's request may be retried.
 */
export function peekMethod(frame: Buffer, pathAt: number): string {
  const at = frame.indexOf(METHOD, pathAt);
  if (at < 0) return '';
  const after = at + METHOD.length;
  if (frame[after] === 0x2c /* , */ && frame[at - 1] === 0x3a /* : */) {
    // tnetstring: 6:METHOD, then LEN:VALUE,
    const colon = frame.indexOf(0x3a, after + 1);
    if (colon < 0 || colon - after > 4) return '';
    const len = Number(frame.toString('latin1', after + 1, colon));
    return Number.isSafeInteger(len) && len <= 32 ? frame.toString('latin1', colon + 1, colon + 1 + len) : '';
  }
  if (frame[after] === 0x22 /* " */ && frame[after + 1] === 0x3a && frame[after + 2] === 0x22) {
    const end = frame.indexOf(0x22, after + 3);
    return end < 0 || end - after > 40 ? '' : frame.toString('latin1', after + 3, end);
  }
  return '';
}

/**
 * The request id the worker gives this request when the client sent one (see protocol/request-id.ts): a valid
 * `x-request-id`, else the trace id of a valid `traceparent`; undefined when neither (the worker then names it
 * `dispatchedRequestId` of the dispatcher's number for it). Only for log lines about a request: it scans the headers, so never call it per request.
 * Reads the headers netstring only (never the body). A repeated header counts as absent, as in the worker. In a
 * tnetstring frame a header value could imitate a key; the result is then still a valid id, only maybe not the one
 * the worker uses (it only ever reaches a log line).
 */
export function peekRequestId(frame: Buffer, pathAt: number): string | undefined {
  const headers = headersRange(frame, pathAt);
  if (headers === undefined) return undefined;
  const json = frame[headers.start] === 0x7b; /* { */
  const id = peekHeader(frame, headers, json ? JSON_REQUEST_ID : TNET_REQUEST_ID, json);
  if (id !== undefined && isValidRequestId(id)) return id;
  const traceparent = peekHeader(frame, headers, json ? JSON_TRACEPARENT : TNET_TRACEPARENT, json);
  return traceparent === undefined ? undefined : parseTraceparent(traceparent)?.traceId;
}

/**
 * Where the headers (JSON object or tnetstring dict) of a request frame lie: `PATH SP LEN:HEADERS,`; undefined when
 * the frame does not say. `end` may be below `start` for a negative length: an empty range.
 */
export function headersRange(frame: Buffer, pathAt: number): { start: number; end: number } | undefined {
  const sp = frame.indexOf(SPACE, pathAt);
  if (sp < 0) return undefined;
  const colon = frame.indexOf(0x3a, sp + 1);
  if (colon < 0 || colon - sp > 10) return undefined;
  const len = Number(frame.toString('latin1', sp + 1, colon));
  if (!Number.isSafeInteger(len) || colon + 1 + len > frame.length) return undefined;
  return { start: colon + 1, end: colon + 1 + len };
}

/** The string value after `key` within `range` (JSON: up to the closing quote; tnetstring: `LEN:VALUE,`). */
function peekHeader(frame: Buffer, range: { start: number; end: number }, key: Buffer, json: boolean): string | undefined {
  const at = frame.indexOf(key, range.start);
  if (at < 0 || at + key.length >= range.end) return undefined;
  const from = at + key.length;
  if (json) {
    const end = frame.indexOf(0x22 /* " */, from);
    return end < 0 || end > range.end || end - from > MAX_PEEKED_VALUE ? undefined : frame.toString('latin1', from, end);
  }
  const colon = frame.indexOf(0x3a, from);
  if (colon < 0 || colon - from > 4) return undefined;
  const len = Number(frame.toString('latin1', from, colon));
  const end = colon + 1 + len;
  // Type byte ',' (a string): a repeated header is a list (']').
  if (!Number.isSafeInteger(len) || len > MAX_PEEKED_VALUE || end >= range.end || frame[end] !== 0x2c) return undefined;
  return frame.toString('latin1', colon + 1, end);
}

/** Methods that may be re-dispatched after a worker died without replying (RFC 9110 §9.2.2 safe methods). */
export function isIdempotentMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
