/**
 * `Request`: an immutable, lazily parsed view over one Mongrel2 request message.
 * Spec: docs/mongrel2.md §2.3 (header keys), §2.4 (repeated headers), §3.7 (close).
 * @module
 */

import { Readable } from 'node:stream';
import { incomingRequestId, newRequestId, parseTraceparent, type TraceContext } from '../protocol/request-id';
import type { RawMessage, UploadInfo } from '../protocol/types';
import { collectForm, type CollectedForm, type CollectFormOptions } from './form-data';
import { HttpError } from './http-error';
import { parseMultipart, type FormPart, type MultipartLimits } from './multipart';
import {
  headerTokens,
  mediaType,
  parseCookies,
  parseUrlEncoded,
  tryDecodeURI,
  type MultiValueRecord,
} from './parse';

/** HTTP versions Mongrel2 forwards to handlers. */
export type HttpVersion = 'HTTP/1.1' | 'HTTP/1.0';

/**
 * A request body that is not in memory: the temp file of a Mongrel2 async upload (docs/mongrel2.md §3.4), opened
 * and checked by the worker, which also removes it after the request.
 */
export interface BodySource {
  /** Size in bytes. */
  readonly size: number;
  /** A fresh stream over the whole body (each call starts at byte 0). */
  open(): Readable;
}

/** Options of the {@link Request} constructor. */
export interface RequestOptions {
  /** A completed async upload (the body is in `upload.file`, which the handler must unlink). */
  readonly upload?: UploadInfo;
  /** The body, when it stayed on disk (then `body` is empty): read it with `bodyStream()` or `parts()`. */
  readonly bodySource?: BodySource;
  /**
   * The header that carries request ids (honoured when valid, echoed on the response), e.g. `X-Request-Id`;
   * unset: ids are still made (and a `traceparent` honoured) but none is read from or echoed in a header.
   */
  readonly requestIdHeader?: string | undefined;
  /** `requestIdHeader` lowercased (the key Mongrel2 gives the client's header); required with it. */
  readonly requestIdKey?: string | undefined;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';
const MULTIPART_TYPE = 'multipart/form-data';

/** Makes the id of a request whose client sent none (the worker: the dispatcher's number for it). */
export interface RequestIdSource {
  madeRequestId?(): string;
}

/**
 * The request as a handler sees it. Client headers (lowercase keys, as Mongrel2 sends them) are kept
 * apart from Mongrel2's own UPPERCASE keys (`METHOD`, `VERSION`, `URI`, …), which are exposed as `meta`
 * and through getters. Query, cookies, JSON and form bodies are parsed on first use and cached.
 */
export class Request {
  /** The message exactly as received. */
  readonly raw: RawMessage;
  readonly upload?: UploadInfo;
  readonly #bodySource: BodySource | undefined;
  #headers?: MultiValueRecord;
  #meta?: Readonly<Record<string, string>>;
  #query?: MultiValueRecord;
  #cookies?: Readonly<Record<string, string>>;
  #json?: { readonly value: unknown };
  #form?: MultiValueRecord;
  #requestId?: string;
  /** Header echoing the request id on responses (see `RequestOptions.requestIdHeader`). */
  readonly requestIdHeader: string | undefined;
  /** `requestIdHeader` lowercased: the key of the client's header in the message. */
  readonly requestIdKey: string | undefined;

  readonly #ids: RequestIdSource | undefined;

  /** `ids`: where a request id comes from when the client sent none (default: a new one). */
  constructor(raw: RawMessage, options: RequestOptions = {}, ids?: RequestIdSource) {
    this.raw = raw;
    this.#ids = ids;
    if (options.upload !== undefined) this.upload = options.upload;
    this.#bodySource = options.bodySource;
    this.requestIdHeader = options.requestIdHeader;
    this.requestIdKey = options.requestIdKey ?? options.requestIdHeader?.toLowerCase();
  }

  /**
   * The request's id: a valid client id in `requestIdHeader`, else the trace id of a valid `traceparent`, else a
   * new one (see protocol/request-id.ts). Fixed on first read.
   */
  get requestId(): string {
    if (this.#requestId === undefined) {
      const h = this.raw.headers;
      const key = this.requestIdKey;
      this.#requestId = incomingRequestId(key === undefined ? undefined : h[key], h['traceparent']) ?? this.#ids?.madeRequestId?.() ?? newRequestId();
    }
    return this.#requestId;
  }

  /** The W3C trace context of a valid `traceparent` header, else undefined. */
  get trace(): TraceContext | undefined {
    const value = this.raw.headers['traceparent'];
    return typeof value === 'string' ? parseTraceparent(value) : undefined;
  }

  /** Client headers, lowercase keys; a repeated header is an array in arrival order. Built on first use. */
  get headers(): MultiValueRecord {
    if (this.#headers === undefined) this.#split();
    return this.#headers as MultiValueRecord;
  }

  /** Mongrel2's UPPERCASE keys (trusted: a client cannot send them, docs/mongrel2.md §2.3). Built on first use. */
  get meta(): Readonly<Record<string, string>> {
    if (this.#meta === undefined) this.#split();
    return this.#meta as Readonly<Record<string, string>>;
  }

  /** Sort the message's headers into client headers and Mongrel2's keys (frozen, null-prototype records). */
  #split(): void {
    const headers: Record<string, string | string[]> = Object.create(null);
    const meta: Record<string, string> = Object.create(null);
    const raw = this.raw.headers;
    for (const key in raw) {
      const value = raw[key];
      if (value === undefined) continue;
      if (key !== key.toLowerCase()) {
        const first = typeof value === 'string' ? value : value[0];
        if (first !== undefined) meta[key] = first;
      } else if (typeof value === 'string') {
        headers[key] = value;
      } else if (value.length === 1) {
        headers[key] = value[0] as string;
      } else if (value.length > 1) {
        const values = [...value];
        Object.freeze(values);
        headers[key] = values;
      }
    }
    this.#headers = Object.freeze(headers);
    this.#meta = Object.freeze(meta);
  }

  /** One of Mongrel2's UPPERCASE keys, read straight from the message (the hot path needs no `meta` record). */
  #metaValue(key: string): string | undefined {
    const value = this.raw.headers[key];
    return typeof value === 'string' ? value : value?.[0];
  }

  /** The method token (`GET`, `PATCH`, …), from METHOD; empty if Mongrel2 sent none. */
  get method(): string {
    return this.#metaValue('METHOD') ?? '';
  }

  /** The raw request path (the message's PATH field): no query, not percent-decoded. */
  get path(): string {
    return this.raw.path;
  }

  /** `path` with percent-escapes decoded by `decodeURI` (`%2F` stays encoded); raw if malformed. */
  get pathname(): string {
    return tryDecodeURI(this.raw.path);
  }

  /** `HTTP/1.0` or `HTTP/1.1` (anything else counts as 1.1). */
  get version(): HttpVersion {
    return this.#metaValue('VERSION') === 'HTTP/1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
  }

  /** The raw request-target without the fragment, e.g. `/a?b=c`. */
  get uri(): string {
    return this.#metaValue('URI') ?? this.raw.path;
  }

  /** The raw query string without `?` (empty when there is none). */
  get queryString(): string {
    return this.#metaValue('QUERY') ?? '';
  }

  /** Query parameters; a repeated key is an array. */
  get query(): MultiValueRecord {
    this.#query ??= parseUrlEncoded(this.queryString);
    return this.#query;
  }

  /** A fresh `URLSearchParams` over the query string (a copy: mutating it changes nothing here). */
  get searchParams(): URLSearchParams {
    return new URLSearchParams(this.queryString);
  }

  /** `http` or `https` (URL_SCHEME). */
  get scheme(): string {
    return this.#metaValue('URL_SCHEME') ?? 'http';
  }

  /** The Mongrel2 route pattern that matched (PATTERN), e.g. `/` or `/api`. */
  get pattern(): string {
    return this.#metaValue('PATTERN') ?? '';
  }

  /** The peer IP address Mongrel2 saw (REMOTE_ADDR). */
  get remoteAddress(): string {
    return this.#metaValue('REMOTE_ADDR') ?? '';
  }

  /** Connection id; unique only together with `sender`. */
  get connId(): number {
    return this.raw.connId;
  }

  /** The Mongrel2 server's send_ident; replies are addressed with it. */
  get sender(): string {
    return this.raw.sender;
  }

  /** Body bytes; empty when the body stayed on disk (a multipart async upload: use `bodyStream()` or `parts()`). */
  get body(): Buffer {
    return this.raw.body;
  }

  /** Body size in bytes, wherever the body is. */
  get bodySize(): number {
    return this.#bodySource?.size ?? this.raw.body.length;
  }

  /** A fresh stream over the whole body: from memory, or read from disk for a body that stayed there. */
  bodyStream(): Readable {
    return this.#bodySource?.open() ?? Readable.from([this.raw.body]);
  }

  /**
   * The parts of a `multipart/form-data` body, one at a time as they are parsed from `bodyStream()` (see
   * {@link parseMultipart}). Throws `HttpError` 415 for another Content-Type, 400 for a malformed body, 413 past
   * a limit.
   * @example for await (const part of ctx.req.parts()) if (part.kind === 'file') await part.save(dest);
   */
  parts(limits?: MultipartLimits): AsyncGenerator<FormPart, void, undefined> {
    const type = this.contentType;
    if (type !== MULTIPART_TYPE) throw new HttpError(415, `expected a ${MULTIPART_TYPE} body, got ${type ?? 'none'}`);
    return parseMultipart(this.bodyStream(), this.header('content-type'), limits);
  }

  /**
   * A whole `multipart/form-data` body: fields plus files (in memory by default, or in temp files: see
   * {@link CollectFormOptions}). Errors as `parts()`. With `files: 'temp'`, call `cleanup()` when done.
   */
  multipart(options: CollectFormOptions = {}): Promise<CollectedForm> {
    try {
      return collectForm(this.parts(options.limits), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** First value of a client header, case-insensitive. */
  header(name: string): string | undefined {
    const value = this.#clientHeader(name);
    return typeof value === 'string' ? value : value?.[0];
  }

  /** Every value of a client header, case-insensitive, in arrival order. */
  headerAll(name: string): string[] {
    const value = this.#clientHeader(name);
    if (value === undefined) return [];
    return typeof value === 'string' ? [value] : [...value];
  }

  /** A client header straight from the message (lowercase keys are the client's, docs/mongrel2.md §2.3): no `headers` record needed. */
  #clientHeader(name: string): string | readonly string[] | undefined {
    const key = name.toLowerCase();
    const raw = this.raw.headers;
    return Object.hasOwn(raw, key) ? raw[key] : undefined;
  }

  /** The media type of Content-Type, lowercased, without parameters. */
  get contentType(): string | undefined {
    return mediaType(this.header('content-type'));
  }

  /** Cookies from every Cookie header; the first occurrence of a name wins. */
  get cookies(): Readonly<Record<string, string>> {
    this.#cookies ??= parseCookies(this.headerAll('cookie'));
    return this.#cookies;
  }

  /**
   * True when the connection must be closed after the response (Python mongrel2 `Request.should_close()`):
   * `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`. Mongrel2 does not do it (docs/mongrel2.md §3.7).
   */
  get wantsClose(): boolean {
    const tokens = headerTokens(this.headerAll('connection'));
    if (tokens.includes('close')) return true;
    return this.version === 'HTTP/1.0' && !tokens.includes('keep-alive');
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.raw.body.toString('utf8');
  }

  /** The body parsed as JSON (whatever the Content-Type). Throws `HttpError` 400 on an empty or invalid body. */
  json(): unknown {
    if (this.#json === undefined) {
      if (this.raw.body.length === 0) throw new HttpError(400, 'request body is empty; expected JSON');
      try {
        this.#json = { value: JSON.parse(this.text()) };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new HttpError(400, `invalid JSON body: ${reason}`, { cause: err });
      }
    }
    return this.#json.value;
  }

  /**
   * The body parsed as `application/x-www-form-urlencoded`. Throws `HttpError` 415 when the request
   * declares another Content-Type (a multipart body is parsed asynchronously: `await req.multipart()`).
   */
  form(): MultiValueRecord {
    const type = this.contentType;
    if (type === MULTIPART_TYPE) throw new HttpError(415, `a ${MULTIPART_TYPE} body is read with await req.multipart() or req.parts(), not form()`);
    if (type !== undefined && type !== FORM_TYPE) {
      throw new HttpError(415, `expected an ${FORM_TYPE} body, got ${type}`);
    }
    this.#form ??= parseUrlEncoded(this.text());
    return this.#form;
  }
}
