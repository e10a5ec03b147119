/**
 * HTTP/1.x response serialisation (status line, header block, chunked framing). Mongrel2 adds and checks no
 * HTTP framing of its own (docs/mongrel2.md §4.3), so every byte the client sees is produced here.
 * Validation follows RFC 9110 §5.1/§5.5: a response that would break framing is never serialised.
 * @module
 */
import { ErrorCode, M2PoolError } from '../errors';
import { statusText } from './status-text';

/** One header line. Names and values are sent as latin1; values must not contain CR, LF, NUL or other CTLs. */
export type HeaderPair = readonly [name: string, value: string];

/** Everything before the body of an HTTP/1.x response. */
export interface ResponseHead {
  readonly version: 'HTTP/1.1' | 'HTTP/1.0';
  /** Three-digit status code, 100–999. */
  readonly status: number;
  /**
   * Reason phrase.
   * @default statusText(status), or '' for an unregistered code
   */
  readonly reason?: string | undefined;
  /** Header lines in order; repeated names are allowed (e.g. several Set-Cookie). */
  readonly headers: readonly HeaderPair[];
}

/** Options for {@link serializeResponse}. */
export interface SerializeOptions {
  /**
   * Send the head only (answer to HEAD): Content-Length still describes `body`.
   * @default false
   */
  readonly omitBody?: boolean | undefined;
}

/** The chunked-encoding terminator `0\r\n\r\n` (no trailers). Shared: never mutate it. */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/** RFC 9110 §5.6.2 `token`. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field-value chars (HTAB, SP, VCHAR, obs-text); also excludes chars that latin1 cannot carry. */
const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
const EMPTY = Buffer.alloc(0);

/** Throw `RESPONSE_INVALID` unless `name` is an RFC 9110 token. */
export function assertHeaderName(name: string): void {
  if (!TOKEN_RE.test(name)) throw invalid(`header name ${JSON.stringify(name)} is not an RFC 9110 token`);
}

/** Throw `RESPONSE_INVALID` if `value` has CR, LF, NUL, another control char, or a char above U+00FF. */
export function assertHeaderValue(name: string, value: string): void {
  if (!FIELD_VALUE_RE.test(value)) throw invalid(`header ${name} has a forbidden character (CR, LF, NUL, CTL or above U+00FF) in its value`);
}

const statusLines = new Map<number, string>();

/**
 * `HTTP/1.1 <status> <reason>\r\n` for a status of 100–999 (the reason from {@link statusText}), built once per
 * status and cached.
 * @throws M2PoolError RESPONSE_INVALID for a status outside 100–999.
 */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw invalid(`bad status code ${String(status)}`);
    line = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

/**
 * Serialises the status line and header block, ending with the empty line. Adds no header itself
 * (Content-Length / Transfer-Encoding are the caller's decision).
 * @throws M2PoolError RESPONSE_INVALID for a bad status, reason, header name (not a token) or value (CR, LF, NUL, CTL).
 * @example serializeResponseHead({ version: 'HTTP/1.1', status: 204, headers: [] }).toString() // 'HTTP/1.1 204 No Content\r\n\r\n'
 */
export function serializeResponseHead(head: ResponseHead): Buffer {
  const { status } = head;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw invalid(`bad status code ${String(status)}`);
  if (head.version !== 'HTTP/1.1' && head.version !== 'HTTP/1.0') throw invalid(`bad HTTP version ${String(head.version)}`);
  const reason = head.reason ?? statusText(status);
  if (!FIELD_VALUE_RE.test(reason)) throw invalid(`reason phrase for ${status} contains a forbidden character`);
  let text = `${head.version} ${status} ${reason}\r\n`;
  for (const [name, value] of head.headers) {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/**
 * Serialises a complete fixed-length response: adds `Content-Length: body.length` unless present, and checks
 * a present one against the body. Statuses 1xx, 204 and 304 get no Content-Length and must have an empty body.
 * Responses with Transfer-Encoding are refused (stream them with {@link encodeChunk}).
 * @throws M2PoolError RESPONSE_INVALID on any inconsistency, plus everything {@link serializeResponseHead} throws.
 */
export function serializeResponse(head: ResponseHead, body: Buffer, opts: SerializeOptions = {}): Buffer {
  const lengths = head.headers.filter(([n]) => n.toLowerCase() === 'content-length');
  if (head.headers.some(([n]) => n.toLowerCase() === 'transfer-encoding')) {
    throw invalid('serializeResponse does not frame Transfer-Encoding bodies; use serializeResponseHead + encodeChunk');
  }
  if (lengths.length > 1) throw invalid('more than one Content-Length header');
  const bodiless = head.status < 200 || head.status === 204 || head.status === 304;
  let headers = head.headers;
  if (bodiless) {
    if (body.length > 0) throw invalid(`status ${head.status} must not have a body`);
    if (lengths.length > 0 && head.status !== 304) throw invalid(`status ${head.status} must not send Content-Length`);
  } else if (lengths.length === 1) {
    const declared = lengths[0]![1];
    if (!/^\d+$/.test(declared) || Number(declared) !== body.length) {
      throw invalid(`Content-Length ${JSON.stringify(declared)} does not match the body length ${body.length}`);
    }
  } else {
    headers = [...head.headers, ['Content-Length', String(body.length)]];
  }
  const bytes = serializeResponseHead({ ...head, headers });
  return opts.omitBody === true || body.length === 0 ? bytes : Buffer.concat([bytes, body], bytes.length + body.length);
}

/**
 * Frames one chunk of a `Transfer-Encoding: chunked` body: hex length, CRLF, data, CRLF.
 * Empty data returns an empty Buffer, never `0\r\n\r\n` (that would end the body early): the caller must skip
 * sending it (an empty Mongrel2 reply body means close; `encodeReply` refuses it). End the body with {@link LAST_CHUNK}.
 */
export function encodeChunk(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (bytes.length === 0) return EMPTY;
  const head = `${bytes.length.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(head.length + bytes.length + 2);
  out.write(head, 0, 'latin1');
  bytes.copy(out, head.length);
  out[out.length - 2] = 0x0d;
  out[out.length - 1] = 0x0a;
  return out;
}

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.RESPONSE_INVALID, message);
}
