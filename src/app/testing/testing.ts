/**
 * In-process requests (hono's `app.request()`, fastify's `inject()`): build a RawMessage the way Mongrel2
 * would, and read the response the app hands to the test front (`RecordingOutlet`): the structure as the app
 * made it, plus the bytes Mongrel2 would get. No ZeroMQ involved, nothing parsed back.
 * @module
 */

import type { Logger } from 'pino';
import type { ResponseOutlet } from '../../http/outlet';
import type { RawMessage, UploadInfo } from '../../protocol/types';
import type { DispatchOptions, DispatchResult } from '../handle-request';
import { CollectingSink, RecordingOutlet } from './recording-outlet';

export { CollectingSink, RecordingOutlet };

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
  /** The body as the client reads it (no chunked coding). */
  readonly body: Buffer;
  /** False when the body is cut short (a stream without its last chunk, fewer bytes than Content-Length). */
  readonly complete: boolean;
  /** Whether the app closed the connection. */
  readonly closed: boolean;
  /** The bytes Mongrel2 would get, live: writes that arrive after `request()` resolved show up here. */
  readonly sink: CollectingSink;
  readonly result: DispatchResult;
  text(): string;
  json(): unknown;
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

/** Dispatch `input` in process and read the response the app produced. */
export async function testRequest(
  dispatch: (msg: RawMessage, outlet: ResponseOutlet, options: DispatchOptions) => Promise<DispatchResult>,
  input: string,
  init: TestRequestInit = {},
): Promise<TestResponse> {
  const msg = buildRawMessage(input, init);
  const outlet = new RecordingOutlet();
  const options: DispatchOptions = {
    ...(init.signal === undefined ? {} : { signal: init.signal }),
    ...(init.logger === undefined ? {} : { logger: init.logger }),
    ...(init.upload === undefined ? {} : { upload: init.upload }),
  };
  const result = await dispatch(msg, outlet, options);
  const body = outlet.body();
  return {
    status: outlet.status,
    reason: outlet.reason,
    headers: outlet.headers,
    body,
    complete: outlet.complete,
    closed: outlet.closed,
    sink: outlet.sink,
    result,
    text: () => body.toString('utf8'),
    json: (): unknown => JSON.parse(body.toString('utf8')),
  };
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
