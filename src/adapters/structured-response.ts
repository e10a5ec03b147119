/**
 * A node:http `ServerResponse` as m2pool's response structure, for a front that takes the structure (`m2pool
 * serve`) rather than HTTP bytes. The head comes from node's public state (`statusCode`, the headers set on the
 * response, `sendDate`), never from the text node rendered; node is told not to chunk the body, so what it writes
 * after its head is the body as it is, and the front frames it its own way.
 * @module
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { headerTokens } from '../http/parse';
import type { Request } from '../http/request';
import { ResponseHead } from '../http/response-head';

type WriteHead = ServerResponse['writeHead'];

/**
 * Make every head of `res` visible through its public state: headers given to `writeHead` are set on the response
 * first (node would otherwise write them straight into its rendered head), and node's chunked framing is turned off
 * once the head is decided. An own property, so it survives Express swapping the prototype of `res`.
 */
export function captureHead(res: ServerResponse): void {
  const nodeWriteHead = res.writeHead;
  const writeHead = function (this: ServerResponse, status: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], more?: OutgoingHttpHeaders | OutgoingHttpHeader[]): ServerResponse {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const headers = typeof reasonOrHeaders === 'string' ? more : reasonOrHeaders;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(String(headers[i]), headers[i + 1] as string | readonly string[]);
    } else if (headers !== undefined) {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) this.setHeader(name, value);
    }
    const out = Reflect.apply(nodeWriteHead, this, reason === undefined ? [status] : [status, reason]) as ServerResponse;
    // node's own field (the same one its write path reads): the body goes out unframed, the front frames it.
    (this as { chunkedEncoding: boolean }).chunkedEncoding = false;
    return out;
  };
  res.writeHead = writeHead as WriteHead;
}

/** Length of node's rendered head, which precedes the body in what it writes to the socket. */
export function headBytes(res: ServerResponse): number {
  // `_header`: node's rendered head, latin1 (one byte per char); the length is all that is used.
  const header = (res as unknown as { _header?: unknown })._header;
  return typeof header === 'string' ? header.length : 0;
}

/** The head of `res` (its head is decided: `writeHead` ran) for the request `req`. */
export function headOf(res: ServerResponse, req: Request): ResponseHead {
  const head = new ResponseHead();
  head.status = res.statusCode;
  // getRawHeaderNames keeps the spelling the app used (node ≥ 15.13; not in the typings used here).
  const raw = (res as unknown as { getRawHeaderNames?: () => string[] }).getRawHeaderNames?.() ?? res.getHeaderNames();
  for (const name of raw) {
    const value = res.getHeader(name);
    if (value !== undefined) head.append(name, value);
  }
  const length = res.getHeader('content-length');
  const status = res.statusCode;
  const bodyless = status < 200 || status === 204 || status === 304;
  head.framing = bodyless ? 'none' : length !== undefined ? 'length' : req.version === 'HTTP/1.1' ? 'chunked' : 'close-delimited';
  head.contentLength = length === undefined ? 0 : Number(length);
  head.sendsBody = !bodyless && req.method !== 'HEAD';
  head.addDate = res.sendDate;
  const connection = res.getHeader('connection');
  const close = req.wantsClose || (typeof connection === 'string' && headerTokens([connection]).includes('close'));
  head.connection = close ? 'close' : undefined;
  return head;
}
