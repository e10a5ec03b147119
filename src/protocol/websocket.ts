/**
 * Outbound WebSocket (RFC 6455) bytes: Mongrel2 neither frames outgoing data nor sends the 101 itself (§3.3),
 * so handlers send raw, unmasked server frames and the full handshake response.
 * @module
 */
import { createHash } from 'node:crypto';
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
  return createHash('sha1').update(key + WS_GUID, 'latin1').digest('base64');
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

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.RESPONSE_INVALID, message);
}
