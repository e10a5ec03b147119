/**
 * WebSocket (RFC 6455) bytes: Mongrel2 neither frames outgoing data nor sends the 101 itself (docs/mongrel2.md §3.3),
 * so handlers send raw, unmasked server frames and the full handshake response. Also the inbound pieces
 * Mongrel2 leaves to handlers: close-payload validation, and a frame decoder for tools and tests.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { nodeCrypto } from '../node-crypto';
import { ErrorCode, M2PoolError } from '../errors';
import { serializeResponseHead } from './http-response';

/** RFC 6455 §5.2 opcodes. */
export const WS_OPCODE = {
  CONTINUATION: 0,
  TEXT: 1,
  BINARY: 2,
  CLOSE: 8,
  PING: 9,
  PONG: 10,
} as const;

/** A defined (non-reserved) opcode. */
export type WsOpcode = (typeof WS_OPCODE)[keyof typeof WS_OPCODE];

/** Base64 of exactly 16 bytes: 22 characters of the alphabet, the last one holding 2 bits, then `==`. */
const WEBSOCKET_KEY_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * True when `key` is a valid Sec-WebSocket-Key: "a randomly selected 16-byte value that has been base64-encoded"
 * (RFC 6455 §4.1); a server must answer anything else with 400 (§4.2.1). Repeated or absent keys are invalid.
 */
export function isValidWebSocketKey(key: string | readonly string[] | undefined): boolean {
  return typeof key === 'string' && WEBSOCKET_KEY_RE.test(key);
}

/** The GUID appended to Sec-WebSocket-Key (RFC 6455 §1.3). */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Options for {@link encodeFrame}. */
export interface FrameOptions {
  /**
   * Final fragment of a message. Control frames (close, ping, pong) must be final.
   * @default true
   */
  readonly fin?: boolean | undefined;
}

const ACCEPT_RE = /^[A-Za-z0-9+/]{27}=$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DEFINED_OPCODES: ReadonlySet<number> = new Set(Object.values(WS_OPCODE));

/**
 * Encodes one unmasked server frame: `FIN|opcode`, a 7-, 16- or 64-bit length, then the payload (string = UTF-8).
 * @throws M2PoolError RESPONSE_INVALID for a reserved opcode, or a control frame that is fragmented or > 125 bytes.
 * @example encodeFrame(WS_OPCODE.TEXT, 'ok') // <Buffer 81 02 6f 6b>
 */
export function encodeFrame(opcode: number, payload: Buffer | string, { fin = true }: FrameOptions = {}): Buffer {
  if (!DEFINED_OPCODES.has(opcode)) throw invalid(`reserved or invalid WebSocket opcode ${String(opcode)}`);
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (opcode >= WS_OPCODE.CLOSE) {
    if (!fin) throw invalid('control frames must not be fragmented (RFC 6455 §5.5)');
    if (data.length > 125) throw invalid(`control frame payload ${data.length} > 125 bytes (RFC 6455 §5.5)`);
  }
  const n = data.length;
  const headLen = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
  const out = Buffer.allocUnsafe(headLen + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) {
    out[1] = n;
  } else if (n <= 0xffff) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  data.copy(out, headLen);
  return out;
}

/**
 * Encodes a close frame. Without `code` the payload is empty. `code` must be sendable (1000–1003, 1007–1014,
 * 3000–4999); `reason` is UTF-8 and at most 123 bytes.
 * @throws M2PoolError RESPONSE_INVALID for a bad code, a reason without a code, or a reason too long.
 */
export function encodeCloseFrame(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw invalid('a close reason needs a close code');
    return encodeFrame(WS_OPCODE.CLOSE, Buffer.alloc(0));
  }
  if (!isSendableCloseCode(code)) throw invalid(`close code ${String(code)} may not be sent (RFC 6455 §7.4)`);
  const text = Buffer.from(reason, 'utf8');
  if (text.length > 123) throw invalid(`close reason is ${text.length} bytes, more than 123`);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return encodeFrame(WS_OPCODE.CLOSE, payload);
}

function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Computes Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). Mongrel2 already sends this value as the body of
 * the WEBSOCKET_HANDSHAKE message; this is for checking it and for tests.
 * @example websocketAccept('dGhlIHNhbXBsZSBub25jZQ==') // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 */
export function websocketAccept(key: string): string {
  return nodeCrypto().createHash('sha1').update(key + WS_GUID, 'latin1').digest('base64');
}

/**
 * The 101 response completing the handshake (vector 16), optionally selecting one subprotocol.
 * @throws M2PoolError RESPONSE_INVALID if `accept` is not a 28-char base64 SHA-1 or `protocol` not a token.
 */
export function handshakeResponse(accept: string, protocol?: string): Buffer {
  if (!ACCEPT_RE.test(accept)) throw invalid(`Sec-WebSocket-Accept ${JSON.stringify(accept)} is not a base64 SHA-1`);
  const headers: Array<[string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', accept],
  ];
  if (protocol !== undefined) {
    if (!TOKEN_RE.test(protocol)) throw invalid(`subprotocol ${JSON.stringify(protocol)} is not a token`);
    headers.push(['Sec-WebSocket-Protocol', protocol]);
  }
  return serializeResponseHead({ version: 'HTTP/1.1', status: 101, headers });
}

/** True for an RFC 9110 token, the syntax of a WebSocket subprotocol name. */
export function isToken(value: string): boolean {
  return TOKEN_RE.test(value);
}

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.RESPONSE_INVALID, message);
}

/** RFC 6455 §7.4.1 close status codes used by m2pool. 1005 and 1006 are never sent on the wire. */
export const WS_CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;

/** The payload of a received close frame, or why it violates RFC 6455 §5.5.1 / §7.4. */
export type CloseFrameInfo =
  | { readonly ok: true; /** Absent for an empty payload (reported as 1005). */ readonly code: number | undefined; readonly reason: string }
  | { readonly ok: false; /** 1002 (bad length or code) or 1007 (reason not UTF-8): what to fail the connection with. */ readonly failWith: 1002 | 1007; readonly why: string };

/**
 * Parses a received close frame payload: empty, or a 2-byte code (1000–1003, 1007–1014, 3000–4999) plus a UTF-8 reason.
 * @example parseClosePayload(Buffer.from([0x03, 0xe8])) // { ok: true, code: 1000, reason: '' }
 */
export function parseClosePayload(payload: Buffer): CloseFrameInfo {
  if (payload.length === 0) return { ok: true, code: undefined, reason: '' };
  if (payload.length === 1) return { ok: false, failWith: WS_CLOSE.PROTOCOL_ERROR, why: 'close payload of 1 byte' };
  if (payload.length > 125) return { ok: false, failWith: WS_CLOSE.PROTOCOL_ERROR, why: 'close payload over 125 bytes' };
  const code = payload.readUInt16BE(0);
  if (!isSendableCloseCode(code)) return { ok: false, failWith: WS_CLOSE.PROTOCOL_ERROR, why: `close code ${code} is not allowed on the wire` };
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) return { ok: false, failWith: WS_CLOSE.INVALID_PAYLOAD, why: 'close reason is not valid UTF-8' };
  return { ok: true, code, reason: reason.toString('utf8') };
}

/** One frame read by {@link decodeFrame}. */
export interface DecodedFrame {
  readonly fin: boolean;
  /** RSV1–3 as the bits 0x70 of the first byte. */
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** Unmasked payload. */
  readonly payload: Buffer;
  /** Bytes the frame took in the input (header + payload). */
  readonly size: number;
}

/**
 * Reads one frame (masked or not) at `offset`; `undefined` when `data` does not hold all of it yet.
 * For tools and tests: Mongrel2 unmasks inbound frames itself (docs/mongrel2.md §3.3).
 * @throws M2PoolError PROTOCOL for a 64-bit length with the high bit set or beyond Number.MAX_SAFE_INTEGER.
 */
export function decodeFrame(data: Buffer, offset = 0): DecodedFrame | undefined {
  if (data.length - offset < 2) return undefined;
  const b0 = data[offset] ?? 0;
  const b1 = data[offset + 1] ?? 0;
  let length = b1 & 0x7f;
  let pos = offset + 2;
  if (length === 126) {
    if (data.length < pos + 2) return undefined;
    length = data.readUInt16BE(pos);
    pos += 2;
  } else if (length === 127) {
    if (data.length < pos + 8) return undefined;
    const big = data.readBigUInt64BE(pos);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new M2PoolError(ErrorCode.PROTOCOL, `frame length ${big} is too large`);
    length = Number(big);
    pos += 8;
  }
  const masked = (b1 & 0x80) !== 0;
  const keyAt = pos;
  if (masked) pos += 4;
  if (data.length < pos + length) return undefined;
  const payload = Buffer.from(data.subarray(pos, pos + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (data[keyAt + (i % 4)] ?? 0);
  return { fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload, size: pos + length - offset };
}
