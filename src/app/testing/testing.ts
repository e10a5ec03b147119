/**
 * In-process requests (hono's `app.request()`, fastify's `inject()`): build a RawMessage the way Mongrel2
 * would, collect the bytes the app writes, and parse them back into a response. No ZeroMQ involved.
 * @module
 */

import type { Logger } from 'pino';
import type { ReplySink } from '../../http/sink';
import type { RawMessage, UploadInfo } from '../../protocol/types';
import type { DispatchOptions, DispatchResult } from '../dispatch';

/** A fake client request for `app.request()`. */
export interface TestRequestInit {
  /** @default 'GET' */
  readonly method?: string;
  /** Client headers; keys are lowercased as Mongrel2 does. An array is a repeated header. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** A string or bytes as is; any other value is sent as JSON (with `content-type: application/json`). */
  readonly body?: string | Uint8Array | object;
  /** @default 'HTTP/1.1' */
  readonly version?: 'HTTP/1.1' | 'HTTP/1.0';
  /** @default '127.0.0.1' */
  readonly remoteAddress?: string;
  /** Passed to dispatch: fire it to simulate a client disconnect or a worker stop. */
  readonly signal?: AbortSignal;
  readonly upload?: UploadInfo;
  readonly logger?: Logger;
}

/** The response as a client would read it, plus what dispatch reported. */
export interface TestResponse {
  /** 0 when nothing was written. */
  readonly status: number;
  readonly reason: string;
  /** Lowercase names; a repeated header is an array. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The decoded body (chunked coding removed). */
  readonly body: Buffer;
  /** False when the body is cut short (a stream without its last chunk, fewer bytes than Content-Length). */
  readonly complete: boolean;
  /** Whether the app closed the connection. */
  readonly closed: boolean;
  /** The sink, live: writes that arrive after `request()` resolved show up here. */
  readonly sink: CollectingSink;
  readonly result: DispatchResult;
  text(): string;
  json(): unknown;
}

/** A ReplySink that keeps every write. */
export class CollectingSink implements ReplySink {
  /** One entry per `write()` (= one Mongrel2 message). */
  readonly writes: Buffer[] = [];
  /** Whether `close()` was called. */
  closed = false;
  /** Writes received after `close()`: always a bug. */
  writesAfterClose = 0;

  async write(data: Buffer): Promise<void> {
    if (this.closed) this.writesAfterClose += 1;
    this.writes.push(Buffer.from(data));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Everything written, concatenated. */
  bytes(): Buffer {
    return Buffer.concat(this.writes);
  }
}

let nextConnId = 1;

/**
 * Build the RawMessage Mongrel2 would send for `input` (`/path?query#frag` or an absolute `http(s)://` URL):
 * lowercased client headers plus METHOD, VERSION, URI, QUERY, FRAGMENT, PATH, PATTERN (`/`), URL_SCHEME,
 * REMOTE_ADDR; `x-forwarded-for` is set to the remote address as Mongrel2 does.
 */
export function buildRawMessage(input: string, init: TestRequestInit = {}): RawMessage {
  const absolute = /^(https?):\/\/([^/?#]*)(.*)$/.exec(input);
  const scheme = absolute?.[1] ?? 'http';
  let target = absolute ? absolute[3] ?? '' : input;
  if (target === '') target = '/';
  if (!target.startsWith('/')) throw new TypeError(`request target must start with "/": ${input}`);
  const [beforeFragment = '', fragment] = splitOnce(target, '#');
  const [path = '', query] = splitOnce(beforeFragment, '?');
  const remoteAddress = init.remoteAddress ?? '127.0.0.1';

  const headers: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const key = name.toLowerCase();
    const prev = headers[key];
    const values = [...(prev === undefined ? [] : typeof prev === 'string' ? [prev] : prev), ...(typeof value === 'string' ? [value] : value)];
    headers[key] = values.length === 1 && values[0] !== undefined ? values[0] : values;
  }
  headers['host'] ??= absolute?.[2] || 'localhost';
  const body = toBody(init.body);
  if (typeof init.body === 'object' && !(init.body instanceof Uint8Array)) headers['content-type'] ??= 'application/json';
  if (body.length > 0) headers['content-length'] ??= String(body.length);
  headers['x-forwarded-for'] = remoteAddress;

  const meta: Record<string, string> = {
    METHOD: (init.method ?? 'GET').toUpperCase(),
    VERSION: init.version ?? 'HTTP/1.1',
    URI: beforeFragment,
    PATH: path,
    PATTERN: '/',
    URL_SCHEME: scheme,
    REMOTE_ADDR: remoteAddress,
  };
  if (query !== undefined) meta['QUERY'] = query;
  if (fragment !== undefined) meta['FRAGMENT'] = fragment;
  return {
    sender: 'm2pool-test',
    connId: nextConnId++,
    path,
    headers: { ...headers, ...meta },
    body,
    protocol: 'tnetstring',
  };
}

/** Dispatch `input` in process and parse what the app wrote. */
export async function testRequest(
  dispatch: (msg: RawMessage, sink: ReplySink, options: DispatchOptions) => Promise<DispatchResult>,
  input: string,
  init: TestRequestInit = {},
): Promise<TestResponse> {
  const msg = buildRawMessage(input, init);
  const sink = new CollectingSink();
  const options: DispatchOptions = {
    ...(init.signal === undefined ? {} : { signal: init.signal }),
    ...(init.logger === undefined ? {} : { logger: init.logger }),
    ...(init.upload === undefined ? {} : { upload: init.upload }),
  };
  const result = await dispatch(msg, sink, options);
  const parsed = parseHttpResponse(sink.bytes(), { head: msg.headers['METHOD'] === 'HEAD', closed: sink.closed });
  return {
    ...parsed,
    closed: sink.closed,
    sink,
    result,
    text: () => parsed.body.toString('utf8'),
    json: (): unknown => JSON.parse(parsed.body.toString('utf8')),
  };
}

/** A parsed HTTP/1.x response. */
export interface ParsedResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
  readonly complete: boolean;
}

/**
 * Parse response bytes. `head`: the request was HEAD (whatever follows the head is returned as the body,
 * which must be empty). `closed`: the connection was closed (ends a body without length or chunking).
 * Throws on a malformed head or chunk, or on more bytes than Content-Length.
 */
export function parseHttpResponse(bytes: Buffer, options: { head?: boolean; closed?: boolean } = {}): ParsedResponse {
  if (bytes.length === 0) return { status: 0, reason: '', headers: {}, body: Buffer.alloc(0), complete: false };
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) throw new Error('response head is incomplete');
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('utf8').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3}) (.*)$/.exec(statusLine);
  if (status?.[1] === undefined) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  // A plain object so tests can deepEqual it; defineProperty keeps a `__proto__` header plain data.
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
    const next = prev === undefined ? value : [...(typeof prev === 'string' ? [prev] : prev), value];
    Object.defineProperty(headers, name, { value: next, enumerable: true, writable: true, configurable: true });
  }
  const code = Number(status[1]);
  const rest = bytes.subarray(end + 4);
  const base = { status: code, reason: status[2] ?? '', headers };
  if (options.head === true || code === 204 || code === 304) return { ...base, body: rest, complete: true };
  if (headers['transfer-encoding'] === 'chunked') return { ...base, ...decodeChunked(rest) };
  const length = headers['content-length'];
  if (typeof length === 'string') {
    const n = Number(length);
    if (rest.length > n) throw new Error(`${rest.length} body bytes after Content-Length ${n}`);
    return { ...base, body: rest, complete: rest.length === n };
  }
  return { ...base, body: rest, complete: options.closed === true };
}

/** Remove the chunked coding; `complete` says whether the last chunk arrived. */
export function decodeChunked(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', pos);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const sizeText = data.subarray(pos, lineEnd).toString('latin1').split(';', 1)[0] ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return { body: Buffer.concat(parts), complete: false };
    if (data.toString('latin1', start + size, start + size + 2) !== '\r\n') throw new Error('chunk not followed by CRLF');
    parts.push(data.subarray(start, start + size));
    pos = start + size + 2;
  }
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const i = text.indexOf(sep);
  return i === -1 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

function toBody(body: TestRequestInit['body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  return Buffer.from(JSON.stringify(body), 'utf8');
}
