/**
 * `Response`: builds one HTTP/1.1 response and hands it to a front as the response structure (a `ResponseHead`
 * and the body, see `outlet.ts`). A simple response is one `send` (head + body: one Mongrel2 message); a streamed
 * one is `open`, one `chunk` per write, `end`. Spec: docs/mongrel2.md §3.7, §4.2, §4.3.
 * @module
 */

import { ErrorCode, M2PoolError } from '../errors';
import { serializeCookie, type CookieOptions } from './cookie';
import type { HeaderInput } from './header-map';
import { outletFor } from './http-wire';
import type { ResponseOutlet } from './outlet';
import { headerTokens } from './parse';
import type { HttpVersion } from './request';
import { ResponseHead, type BodyFraming } from './response-head';
import type { ReplySink } from './sink';

/** What the response needs to know about its request. `Request` satisfies it. */
export interface ResponseTarget {
  readonly method: string;
  readonly version: HttpVersion;
  /** Close the connection after the response (HTTP/1.0 without keep-alive, or `Connection: close`). */
  readonly wantsClose: boolean;
  /** When set, every response carries this header with `requestId`, unless the handler set it itself. */
  readonly requestIdHeader?: string | undefined;
  /** `requestIdHeader` lowercased (required with it). */
  readonly requestIdKey?: string | undefined;
  /** The request's id (read only when `requestIdHeader` is set). */
  readonly requestId?: string;
}

/** Body data accepted by the senders; strings are written as UTF-8. */
export type BodyInput = Buffer | Uint8Array | string;

/** An open streamed body, returned by {@link Response.stream}. */
export interface ResponseStream {
  /** Send one chunk (one sink write). An empty chunk is ignored. Throws once the stream has ended. */
  write(chunk: BodyInput): Promise<void>;
  /** Finish the body (optionally with a last piece of data), then close the connection if required. Idempotent. */
  end(chunk?: BodyInput): Promise<void>;
  readonly ended: boolean;
}

const EMPTY = Buffer.alloc(0);
const TEXT = 'text/plain; charset=utf-8';

/**
 * Response builder. Setters validate at once (CR/LF/NUL or another control char in a header throws
 * `RESPONSE_INVALID` and nothing is sent; values are latin1, so percent-encode anything beyond U+00FF) and return `this`; senders (`json`, `text`, `html`, `send`, `redirect`, `empty`, `end`, `stream`)
 * write once and resolve when the sink has accepted the bytes. Every response carries Content-Length or
 * chunked framing (except 204/304). HEAD responses carry the same headers and no body bytes.
 */
export class Response {
  readonly #out: ResponseOutlet;
  readonly #target: ResponseTarget;
  /** Status and headers (the structure the front gets; framing headers are computed into it at send). */
  readonly #head = new ResponseHead();
  #headersSent = false;
  #sent = false;
  #finished = false;
  #bytes = 0;
  #stream: ResponseStream | undefined;
  #headHooks: Array<(res: Response) => void> | undefined;

  /** `sink`: a front's outlet, or a bytes-only sink (then the response is serialised as HTTP/1.1 for it). */
  constructor(sink: ReplySink | ResponseOutlet, target: ResponseTarget) {
    this.#out = outletFor(sink);
    this.#target = target;
  }

  /** The status that is (or will be) sent. @default 200 */
  get statusCode(): number {
    return this.#head.status;
  }

  /** True once the head has been handed to the sink. */
  get headersSent(): boolean {
    return this.#headersSent;
  }

  /** True once the whole response (for a stream: its end) has been handed to the sink. */
  get sent(): boolean {
    return this.#sent;
  }

  /** True once the sink has accepted the last bytes of the response (a following close may still be pending). */
  get finished(): boolean {
    return this.#finished;
  }

  /** Bytes the sink has accepted so far (head, body and chunk framing). */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Run `fn` synchronously just before the head is written, whoever sends it (the handler through `res`, or the
   * framework with the handler's return value): the place for middleware to set a header that must go out with
   * every response of this request (a session cookie), also when the handler sent the response itself. `fn` may
   * set the status and headers; if it throws, the send rejects as for an invalid header. Not run for the
   * framework's own error replies (they are a new response). Hooks run once, in registration order.
   */
  onHeaders(fn: (res: Response) => void): this {
    this.#assertHeadersOpen();
    (this.#headHooks ??= []).push(fn);
    return this;
  }

  #runHeadHooks(): void {
    const hooks = this.#headHooks;
    if (hooks === undefined) return;
    this.#headHooks = undefined;
    for (const fn of hooks) fn(this);
  }

  /** Set the status code (200–599). */
  status(code: number): this {
    this.#assertHeadersOpen();
    this.#head.status = checkStatus(code, 200, 599);
    return this;
  }

  /** Set a header, replacing earlier values. Same as {@link setHeader}. */
  header(name: string, value: HeaderInput): this {
    return this.setHeader(name, value);
  }

  /** Set a header, replacing earlier values. */
  setHeader(name: string, value: HeaderInput): this {
    this.#assertHeadersOpen();
    this.#head.set(name, value);
    return this;
  }

  /** Add a header value after the existing ones. */
  appendHeader(name: string, value: HeaderInput): this {
    this.#assertHeadersOpen();
    this.#head.append(name, value);
    return this;
  }

  /** First value of a header set on this response (case-insensitive). */
  getHeader(name: string): string | undefined {
    return this.#head.get(name)?.[0];
  }

  /** Every value of a header set on this response. */
  getHeaderAll(name: string): string[] {
    return [...(this.#head.get(name) ?? [])];
  }

  /** Remove a header set on this response. */
  removeHeader(name: string): this {
    this.#assertHeadersOpen();
    this.#head.delete(name);
    return this;
  }

  /** Append a Set-Cookie header (the value is percent-encoded). */
  cookie(name: string, value: string, options: CookieOptions = {}): this {
    return this.appendHeader('Set-Cookie', serializeCookie(name, value, options));
  }

  /** Append a Set-Cookie header that expires `name` now (give the same path/domain it was set with). */
  clearCookie(name: string, options: Omit<CookieOptions, 'maxAge' | 'expires'> = {}): this {
    return this.cookie(name, '', { ...options, maxAge: 0, expires: new Date(0) });
  }

  // The senders are not async functions: each returns the one promise of its sink write (a thrown error becomes
  // a rejection, as before), so a response costs no wrapper promise per layer.

  /** Send `JSON.stringify(value)` as `application/json` (unless Content-Type was set). */
  json(value: unknown, status?: number): Promise<void> {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      return Promise.reject(err);
    }
    if (text === undefined) return Promise.reject(new TypeError('response value is not JSON-serialisable'));
    return this.#sendBody(status, Buffer.from(text, 'utf8'), 'application/json; charset=utf-8');
  }

  /** Send `text/plain; charset=utf-8` (unless Content-Type was set). */
  text(body: string, status?: number): Promise<void> {
    return this.#sendBody(status, Buffer.from(body, 'utf8'), TEXT);
  }

  /** Send `text/html; charset=utf-8` (unless Content-Type was set). */
  html(body: string, status?: number): Promise<void> {
    return this.#sendBody(status, Buffer.from(body, 'utf8'), 'text/html; charset=utf-8');
  }

  /** Send bytes (`application/octet-stream`) or a string (`text/plain`) unless Content-Type was set. */
  send(body: BodyInput, status?: number): Promise<void> {
    return this.#sendBody(status, toBuffer(body), typeof body === 'string' ? TEXT : 'application/octet-stream');
  }

  /** Redirect to `location` (already percent-encoded: non-latin1 chars are refused) with a 3xx status and an empty body. */
  redirect(location: string, status = 302): Promise<void> {
    try {
      this.#assertHeadersOpen();
      const code = checkStatus(status, 300, 399);
      this.setHeader('Location', location);
      return this.#sendBody(code, EMPTY, undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Send no body (`Content-Length: 0`; no length at all for 204 and 304). */
  empty(status?: number): Promise<void> {
    return this.#sendBody(status, EMPTY, undefined);
  }

  /** Finish whatever is in progress: end an open stream, or send an empty body now. No-op once sent. */
  async end(): Promise<void> {
    if (this.#sent) return;
    if (this.#stream !== undefined) return this.#stream.end();
    return this.empty();
  }

  /**
   * Send the head and return a stream for the body: chunked on HTTP/1.1; on HTTP/1.0 the body is delimited
   * by closing the connection (`Connection: close`). A user-set Content-Length is dropped.
   */
  async stream(): Promise<ResponseStream> {
    this.#assertHeadersOpen();
    this.#runHeadHooks();
    const bodyAllowed = allowsBody(this.#head.status);
    const framing: BodyFraming = !bodyAllowed ? 'none' : this.#target.version === 'HTTP/1.1' ? 'chunked' : 'close-delimited';
    const closeAfter = this.#mustClose() || (framing === 'close-delimited' && !this.#isHead);
    const writesBody = bodyAllowed && !this.#isHead;
    this.#completeHead(framing, 0, closeAfter, writesBody);
    const stream = this.#openStream(writesBody, closeAfter);
    this.#stream = stream;
    this.#headersSent = true;
    this.#bytes += await this.#out.open(this.#head, EMPTY);
    return stream;
  }

  get #isHead(): boolean {
    return this.#target.method === 'HEAD';
  }

  /** Head and body in one front call; then close if required. Never throws: an invalid response is a rejection. */
  #sendBody(status: number | undefined, body: Buffer, contentType: string | undefined): Promise<void> {
    let closeAfter: boolean;
    let sent: Buffer;
    try {
      this.#assertHeadersOpen();
      if (status !== undefined) this.status(status);
      this.#runHeadHooks();
      const head = this.#head;
      const bodyAllowed = allowsBody(head.status);
      if (bodyAllowed && contentType !== undefined && !head.has('content-type')) head.set('Content-Type', contentType);
      closeAfter = this.#mustClose();
      const writesBody = bodyAllowed && !this.#isHead;
      this.#completeHead(bodyAllowed ? 'length' : 'none', body.length, closeAfter, writesBody);
      sent = writesBody ? body : EMPTY;
    } catch (err) {
      return Promise.reject(err);
    }
    this.#headersSent = true;
    this.#sent = true;
    return this.#out.send(this.#head, sent).then((n) => {
      this.#bytes += n;
      this.#finished = true;
      if (closeAfter) return this.#out.close();
      return undefined;
    });
  }

  /**
   * The framework's part of the head: framing, `Connection` (close, or keep-alive for HTTP/1.0), the request id
   * header (unless the handler set it) and `Date` (unless the handler set one; the head adds both).
   */
  #completeHead(framing: BodyFraming, length: number, closeAfter: boolean, writesBody: boolean): void {
    const head = this.#head;
    const target = this.#target;
    head.framing = framing;
    head.contentLength = length;
    head.sendsBody = writesBody;
    head.connection = closeAfter ? 'close' : target.version === 'HTTP/1.0' ? 'keep-alive' : undefined;
    const idHeader = target.requestIdHeader;
    if (idHeader !== undefined) {
      head.idName = idHeader;
      head.idKey = target.requestIdKey ?? idHeader.toLowerCase();
      head.idValue = target.requestId ?? '';
    }
  }

  /** The request asked for close, or the handler set `Connection: close` itself. */
  #mustClose(): boolean {
    if (this.#target.wantsClose) return true;
    const connection = this.#head.get('connection');
    return connection !== undefined && headerTokens(connection).includes('close');
  }

  #assertHeadersOpen(): void {
    if (this.#headersSent) throw new M2PoolError(ErrorCode.RESPONSE_INVALID, 'response headers already sent');
  }

  #openStream(writesBody: boolean, closeAfter: boolean): ResponseStream {
    return new BodyStream(writesBody, {
      chunk: async (data) => {
        this.#bytes += await this.#out.chunk(data);
      },
      end: async (last) => {
        this.#sent = true;
        this.#bytes += await this.#out.end(last);
        this.#finished = true;
        if (closeAfter) await this.#out.close();
      },
    });
  }
}

/** What a {@link BodyStream} needs from its response. */
interface StreamOutlet {
  /** One piece of the body (not empty). */
  chunk(data: Buffer): Promise<void>;
  /** `end()` was called (the response counts as sent at once): the last piece, then a close if required. */
  end(last: Buffer): Promise<void>;
}

/**
 * The body of a streamed response. A class, not an object literal with a getter: V8 keeps such a literal in
 * dictionary mode, which kept requests alive until a full GC (see `ExchangeScope` in app/exchange-scope.ts).
 */
class BodyStream implements ResponseStream {
  readonly #writesBody: boolean;
  readonly #outlet: StreamOutlet;
  #ended = false;

  constructor(writesBody: boolean, outlet: StreamOutlet) {
    this.#writesBody = writesBody;
    this.#outlet = outlet;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async write(chunk: BodyInput): Promise<void> {
    if (this.#ended) throw new M2PoolError(ErrorCode.RESPONSE_INVALID, 'response stream already ended');
    const data = toBuffer(chunk);
    if (this.#writesBody && data.length > 0) await this.#outlet.chunk(data);
  }

  async end(chunk?: BodyInput): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#outlet.end(chunk === undefined || !this.#writesBody ? EMPTY : toBuffer(chunk));
  }
}

/** 1xx, 204 and 304 responses never have a body (RFC 9112 §6.3). */
function allowsBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

function checkStatus(code: number, min: number, max: number): number {
  if (!Number.isInteger(code) || code < min || code > max) {
    throw new M2PoolError(ErrorCode.RESPONSE_INVALID, `status must be an integer in ${min}..${max}, got ${code}`);
  }
  return code;
}

function toBuffer(body: BodyInput): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
