/**
 * Builds handler → Mongrel2 replies, `UUID SP LEN ":" IDS "," SP BODY`, and parses them back for tests.
 * Spec: docs/mongrel2.md §4 (grammar from src/handler_parser.rl).
 * @module
 */
import { ErrorCode, M2PoolError, ProtocolError } from '../errors';
import { encode } from './tnetstring';
import type { TnetInput } from './tnetstring';
import { MAX_REPLY_TARGETS } from './types';

/** Characters Mongrel2 accepts in a reply's UUID field (`(alpha | digit | '-')+`). */
export const SENDER_RE = /^[A-Za-z0-9-]+$/;
const MAX_CONN_ID = 0xffffffff;
const EMPTY = Buffer.alloc(0);

/** Free bytes kept in front of a {@link allocWithHeadroom} buffer: room for `UUID SP LEN ":" ID "," SP`. */
export const REPLY_HEADROOM = 128;
/** Buffers below this size are cheaper to copy than to track (see {@link allocWithHeadroom}). */
export const HEADROOM_MIN_BYTES = 16 * 1024;
/** Backing stores made by {@link allocWithHeadroom} (large buffers) whose headroom is still unused. */
const withFreeHeadroom = new WeakSet<ArrayBuffer>();
/**
 * The last small buffer made by {@link allocWithHeadroom}, while its headroom is unused. Small buffers are slices
 * of Node's shared pool, too many to track in a set; the one just built is the one a reply is normally made of
 * (a response is encoded right after it is built), and any other is copied as before.
 */
let smallWithFreeHeadroom: Buffer | undefined;

/**
 * A `size`-byte buffer with {@link REPLY_HEADROOM} unused bytes in front of it, which {@link encodeReply} fills with
 * the reply prefix instead of copying the whole body into a new message (a response was copied twice: head +
 * body, then prefix + that). The headroom is used once; anything else (a slice, a second reply, a small buffer
 * that is not the latest one) is copied.
 */
export function allocWithHeadroom(size: number): Buffer {
  if (size < HEADROOM_MIN_BYTES) {
    const out = Buffer.allocUnsafe(REPLY_HEADROOM + size).subarray(REPLY_HEADROOM);
    smallWithFreeHeadroom = out;
    return out;
  }
  const store = new ArrayBuffer(REPLY_HEADROOM + size);
  withFreeHeadroom.add(store);
  return Buffer.from(store, REPLY_HEADROOM, size);
}

/** A reply decoded by {@link parseReply}. */
export interface ParsedReply {
  readonly sender: string;
  /** True for an extended (`X`) reply, whose body is a tnetstring list `[key, args]`. */
  readonly extended: boolean;
  readonly connIds: readonly number[];
  /** Raw body bytes (a view into the input); empty means close. */
  readonly body: Buffer;
}

/**
 * Encodes a reply to one or more connections. More than {@link MAX_REPLY_TARGETS} ids are split into several
 * messages (Mongrel2 drops a whole message above the limit). The body goes out verbatim.
 * An empty body means "close the connection" in the protocol, so it is refused here: use {@link encodeClose}.
 * @throws M2PoolError RESPONSE_INVALID for a bad sender, no ids, a bad id or an empty body.
 * @example encodeReply('34f9ceee-cd52-4b7f-b197-88bf2f0ec378', [36], 'HTTP/1.1 200 OK\r\n...')
 */
export function encodeReply(sender: string, connIds: readonly number[], body: Buffer | string): Buffer[] {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.length === 0) throw invalid('empty reply body would close the connection; use encodeClose');
  return build(sender, connIds, '', bytes);
}

/**
 * Encodes the close message (empty body; the space after the comma is mandatory, vector 12). Mongrel2 closes
 * each connection after the writes already queued for it.
 * @throws M2PoolError RESPONSE_INVALID for a bad sender or bad ids.
 */
export function encodeClose(sender: string, connIds: readonly number[]): Buffer[] {
  return build(sender, connIds, '', EMPTY);
}

/**
 * Encodes an extended reply (§4.5): `UUID SP LEN ":" "X " IDS "," SP` followed by the tnetstring list `[key, args]`.
 * @throws M2PoolError RESPONSE_INVALID for a bad sender, ids or key; PROTOCOL if `args` cannot be encoded.
 */
export function encodeExtended(sender: string, connIds: readonly number[], key: string, args: TnetInput): Buffer[] {
  if (key.length === 0) throw invalid('extended reply key must not be empty');
  return build(sender, connIds, 'X ', encode([key, args]));
}

/**
 * Encodes a built-in `ctl` extended reply, e.g. `{ credits: 2000 }`, `{ cancel: null }`, `{ 'keep-alive': null }`.
 * @throws M2PoolError RESPONSE_INVALID for a bad sender or ids.
 */
export function encodeCtl(sender: string, connIds: readonly number[], args: Readonly<Record<string, TnetInput>>): Buffer[] {
  return encodeExtended(sender, connIds, 'ctl', args);
}

/**
 * Grants `n` more upload.stream body bytes to one connection (§3.5); `n` is sent as a tnetstring integer.
 * @throws M2PoolError RESPONSE_INVALID unless 1 ≤ n ≤ 2^31-1.
 * @example creditsMessage('rid-123', 5, 2000).toString() // 'rid-123 3:X 5, 27:3:ctl,17:7:credits,4:2000#}]'
 */
export function creditsMessage(sender: string, connId: number, n: number): Buffer {
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw invalid(`credits must be an integer 1..2^31-1, got ${n}`);
  return first(encodeCtl(sender, [connId], { credits: n }));
}

/** Hard-closes one connection with no disconnect notice in return (`ctl cancel`, §4.5). */
export function cancelMessage(sender: string, connId: number): Buffer {
  return first(encodeCtl(sender, [connId], { cancel: null }));
}

/** Refreshes one connection's idle timer (`ctl keep-alive`, §4.5, §5.4). */
export function keepAliveMessage(sender: string, connId: number): Buffer {
  return first(encodeCtl(sender, [connId], { 'keep-alive': null }));
}

function first(messages: Buffer[]): Buffer {
  return messages[0]!;
}

function build(sender: string, connIds: readonly number[], prefix: string, body: Buffer): Buffer[] {
  if (!SENDER_RE.test(sender)) throw invalid(`sender ${JSON.stringify(sender)} must match ${SENDER_RE.source}`);
  if (connIds.length === 0) throw invalid('a reply needs at least one connection id');
  for (const id of connIds) {
    if (!Number.isInteger(id) || id < 0 || id > MAX_CONN_ID) throw invalid(`bad connection id ${String(id)}`);
  }
  if (connIds.length <= MAX_REPLY_TARGETS && (body === smallWithFreeHeadroom || body.length >= HEADROOM_MIN_BYTES)) {
    const head = `${sender} ${(prefix + connIds.join(' ')).length}:${prefix}${connIds.join(' ')}, `;
    const inPlace = prependInPlace(head, body);
    if (inPlace !== undefined) return [inPlace];
  }
  const out: Buffer[] = [];
  for (let i = 0; i < connIds.length; i += MAX_REPLY_TARGETS) {
    const targets = prefix + connIds.slice(i, i + MAX_REPLY_TARGETS).join(' ');
    const head = `${sender} ${targets.length}:${targets}, `;
    const msg = Buffer.allocUnsafe(head.length + body.length);
    msg.write(head, 0, 'latin1');
    body.copy(msg, head.length);
    out.push(msg);
  }
  return out;
}

/** `head` written into the headroom right before `body` (see {@link allocWithHeadroom}); undefined when there is none. */
function prependInPlace(head: string, body: Buffer): Buffer | undefined {
  if (body === smallWithFreeHeadroom) {
    smallWithFreeHeadroom = undefined;
    if (head.length > REPLY_HEADROOM) return undefined;
    // The REPLY_HEADROOM bytes before the body belong to the same allocation (allocWithHeadroom).
    const msg = Buffer.from(body.buffer, body.byteOffset - head.length, head.length + body.length);
    msg.write(head, 0, 'latin1');
    return msg;
  }
  const store = body.buffer;
  if (!(store instanceof ArrayBuffer) || body.byteOffset !== REPLY_HEADROOM || head.length > REPLY_HEADROOM || !withFreeHeadroom.has(store)) return undefined;
  withFreeHeadroom.delete(store);
  const start = REPLY_HEADROOM - head.length;
  const msg = Buffer.from(store, start, head.length + body.length);
  msg.write(head, 0, 'latin1');
  return msg;
}

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.RESPONSE_INVALID, message);
}

/**
 * Parses a reply exactly as Mongrel2's handler_parser does (§4.1): `UUID = [A-Za-z0-9-]+`, one space,
 * `LEN ":"`, an optional `"X "`, ids as `digit+ ' '?` filling exactly LEN bytes, `","`, one space, then the body.
 * For tests and debugging.
 * @param maxTargets Mongrel2's limits.handler_targets.
 * @throws ProtocolError for anything Mongrel2 would skip (including 0 or more than `maxTargets` ids).
 */
export function parseReply(buf: Buffer, maxTargets: number = MAX_REPLY_TARGETS): ParsedReply {
  let i = 0;
  while (i < buf.length && isUuidByte(buf[i]!)) i++;
  if (i === 0) throw new ProtocolError('reply has no UUID', 0);
  if (buf[i] !== 0x20) throw new ProtocolError('expected a single space after the UUID', i);
  const sender = buf.toString('latin1', 0, i);
  const lenAt = ++i;
  let len = 0;
  while (i < buf.length && isDigit(buf[i]!) && i - lenAt < 9) len = len * 10 + buf[i++]! - 0x30;
  if (i === lenAt) throw new ProtocolError('expected target list length', i);
  if (buf[i] !== 0x3a) throw new ProtocolError("expected ':' after target list length", i);
  const start = i + 1;
  const end = start + len;
  if (end >= buf.length || buf[end] !== 0x2c) throw new ProtocolError("target list length is wrong (no ',')", Math.min(end, buf.length));
  if (buf[end + 1] !== 0x20) throw new ProtocolError("expected a space after the target list ','", end + 1);

  i = start;
  const extended = len >= 2 && buf[i] === 0x58 && buf[i + 1] === 0x20;
  if (extended) i += 2;
  const connIds: number[] = [];
  while (i < end) {
    const idAt = i;
    let id = 0;
    while (i < end && isDigit(buf[i]!)) id = id * 10 + buf[i++]! - 0x30;
    if (i === idAt) throw new ProtocolError('expected a connection id digit', i);
    if (i - idAt > 10 || id > MAX_CONN_ID) throw new ProtocolError('connection id exceeds uint32', idAt);
    connIds.push(id);
    if (i < end && buf[i] === 0x20) i++;
  }
  if (connIds.length === 0) throw new ProtocolError('reply has 0 targets', start);
  if (connIds.length > maxTargets) throw new ProtocolError(`too many targets: ${connIds.length} > ${maxTargets}`, start);
  return { sender, extended, connIds, body: buf.subarray(end + 2) };
}

/**
 * Whether reply `reply` goes to exactly one connection: the one a Mongrel2 request `request` came from. The request
 * starts `UUID SP ID SP` (§2.1; `senderEnd` is the offset of its first space, `idEnd` of its second); the reply
 * must start `UUID SP LEN ":" ["X "] ID "," SP` (§4.1, §4.5) with the same UUID and that one ID, byte for byte.
 * Compares bytes in place (no allocation): the dispatcher runs it on every reply frame. Strict on purpose: an id
 * list Mongrel2 would also read as that id (a trailing space, leading zeros) is refused; m2pool never writes one.
 */
export function repliesOnlyTo(reply: Buffer, request: Buffer, senderEnd: number, idEnd: number): boolean {
  const idLength = idEnd - senderEnd - 1;
  if (senderEnd <= 0 || idLength <= 0 || reply.length < idEnd + 4 || reply[senderEnd] !== 0x20) return false;
  if (reply.compare(request, 0, senderEnd, 0, senderEnd) !== 0) return false;
  let i = senderEnd + 1;
  let len = 0;
  while (i < reply.length && isDigit(reply[i]!) && i - senderEnd <= 9) len = len * 10 + reply[i++]! - 0x30;
  if (i === senderEnd + 1 || reply[i] !== 0x3a) return false;
  let at = i + 1;
  if (len === idLength + 2 && reply[at] === 0x58 && reply[at + 1] === 0x20) at += 2;
  else if (len !== idLength) return false;
  const end = at + idLength;
  return reply[end] === 0x2c && reply[end + 1] === 0x20 && reply.compare(request, senderEnd + 1, idEnd, at, end) === 0;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isUuidByte(c: number): boolean {
  return isDigit(c) || c === 0x2d || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
