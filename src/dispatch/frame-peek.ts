/**
 * What the dispatcher reads of a Mongrel2 request, and no more (mongrel2-protocol.md §2): the sender and the
 * connection id (the connection a request belongs to), whether it is a disconnect notice, and, only when a
 * worker died holding it, the METHOD header. Frames are forwarded to workers as they came; the worker parses
 * them fully.
 * @module
 */

const SPACE = 0x20;
const AT = 0x40;
const STAR = 0x2a;
const DISCONNECT = Buffer.from('"disconnect"');
const METHOD = Buffer.from('METHOD');

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

/** A `@*` notice whose body says `"disconnect"` (Mongrel2's disconnect notice, §3.2). */
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

/** Methods that may be re-dispatched after a worker died without replying (RFC 9110 §9.2.2 safe methods). */
export function isIdempotentMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
