/**
 * HTTP/1.x response framing: status line + header block, and chunked transfer coding.
 * Private stand-in with the same validation rules as the protocol layer's serialiser.
 * TODO(#2): use protocol/http-response.ts (serializeResponseHead, encodeChunk, LAST_CHUNK).
 * @module
 */

import { ErrorCode, M2PoolError } from '../errors';
import { statusText } from './status-text';

/** The parts of a response head. Header values are written as latin1 (one byte per char). */
export interface ResponseHead {
  readonly version: string;
  readonly status: number;
  /** @default the standard reason phrase for `status` */
  readonly reason?: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5 field-value chars (HTAB, SP, VCHAR, obs-text). This excludes CR, LF and NUL, which would
// let a value end the header line or the head (response splitting), other CTLs, and chars latin1 cannot carry.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const CRLF = Buffer.from('\r\n', 'latin1');

/** Throw `RESPONSE_INVALID` unless `name` is an RFC 9110 token. */
export function assertHeaderName(name: string): void {
  if (!TOKEN.test(name)) {
    throw new M2PoolError(ErrorCode.RESPONSE_INVALID, `invalid header name ${JSON.stringify(name)}`);
  }
}

/** Throw `RESPONSE_INVALID` if `value` has CR, LF, NUL, another control char, or a char above U+00FF. */
export function assertHeaderValue(name: string, value: string): void {
  if (!FIELD_VALUE.test(value)) {
    throw new M2PoolError(
      ErrorCode.RESPONSE_INVALID,
      `invalid value for header ${JSON.stringify(name)}: CR, LF, NUL, control characters and chars above U+00FF are not allowed`,
    );
  }
}

/** Render the status line and header block, ending with the empty line. Validates every part. */
export function serializeResponseHead(head: ResponseHead): Buffer {
  if (!/^HTTP\/1\.[01]$/.test(head.version)) {
    throw new M2PoolError(ErrorCode.RESPONSE_INVALID, `invalid HTTP version ${JSON.stringify(head.version)}`);
  }
  if (!Number.isInteger(head.status) || head.status < 100 || head.status > 999) {
    throw new M2PoolError(ErrorCode.RESPONSE_INVALID, `invalid status code ${head.status}`);
  }
  const reason = head.reason ?? statusText(head.status);
  assertHeaderValue('(reason phrase)', reason);
  let text = `${head.version} ${head.status} ${reason}\r\n`;
  for (const [name, value] of head.headers) {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/**
 * One chunk of the chunked transfer coding. Empty data gives an empty Buffer, never `0\r\n\r\n` (that would
 * end the body); the caller must not send it.
 */
export function encodeChunk(data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF]);
}

/** The last chunk with no trailers: ends a chunked body. */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');
