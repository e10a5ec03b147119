/**
 * Request ids and W3C trace context: which incoming `X-Request-Id` values are honoured, how a
 * `traceparent` header is read (W3C Trace Context §3.2), and how an id is made when the client sent neither. Pure
 * string functions, shared by the worker (which reads the parsed headers) and the dispatcher (which peeks the raw
 * frame only when it logs about a request).
 * @module
 */

import { nodeCrypto } from '../node-crypto';

/** Longest client-supplied request id m2pool honours; a longer one is replaced by a made one. */
export const MAX_REQUEST_ID_CHARS = 128;

/**
 * Characters a client's request id may use: safe in a log line and a response header (no spaces, quotes, control
 * characters or commas), and enough for UUIDs, ULIDs, base64 and the ids of common proxies (`host/number`).
 */
const SAFE_ID = /^[A-Za-z0-9\-_.:+=/@]+$/;

/** True when `value` is a request id m2pool echoes and logs as it is: 1–128 characters of `[A-Za-z0-9-_.:+=/@]`. */
export function isValidRequestId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_REQUEST_ID_CHARS && SAFE_ID.test(value);
}

/** A parsed W3C `traceparent` header. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** The caller's span id: 16 lowercase hex digits, not all zero. */
  readonly parentId: string;
  /** The trace flags byte (bit 0: sampled). */
  readonly flags: number;
  /** The `traceparent` version (0 for the current format). */
  readonly version: number;
}

// version "-" trace-id "-" parent-id "-" trace-flags; a later version may append "-" and more fields (§3.2.4).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parse a `traceparent` value; undefined when it is not valid (then it is ignored, as the spec says). */
export function parseTraceparent(value: string): TraceContext | undefined {
  if (value.length > 512) return undefined;
  const m = TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, version = '', traceId = '', parentId = '', flags = ''] = m;
  // Version ff is forbidden; version 00 has exactly four fields (§3.2.2.1).
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, flags: Number.parseInt(flags, 16), version: Number.parseInt(version, 16) };
}

/**
 * The id of a request from its headers: a valid `x-request-id` (`idHeader`), else the trace id of a valid
 * `traceparent`, else undefined (then the caller makes one). A repeated header counts as absent.
 */
export function incomingRequestId(idValue: unknown, traceparent: unknown): string | undefined {
  if (typeof idValue === 'string' && isValidRequestId(idValue)) return idValue;
  if (typeof traceparent === 'string') return parseTraceparent(traceparent)?.traceId;
  return undefined;
}

// 9 random bytes → 12 base64url characters: unique per process run, so ids from several workers do not collide.
// Drawn with the first id, so that a process that makes none does not load node:crypto.
let processPrefix: string | undefined;
let sequence = 0;

/**
 * The id of a request that came through the dispatcher without one of the client's: made from the number the
 * dispatcher gave it (`d` and 8 hex digits), so the dispatcher's lines about it and the worker's agree without
 * either telling the other. The dispatcher numbers requests from a random start, so ids of one dispatcher run are
 * distinct for 2^32 requests; across runs they are only probably distinct.
 */
export function dispatchedRequestId(dispatchNumber: number): string {
  return `d${(dispatchNumber >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * A new request id: this process's random prefix and a sequence number (`Qm9vdGVkLnJh-1b`). Costs one string
 * concatenation, no randomness per request.
 */
export function newRequestId(): string {
  sequence += 1;
  return `${(processPrefix ??= nodeCrypto().randomBytes(9).toString('base64url'))}-${sequence.toString(36)}`;
}
