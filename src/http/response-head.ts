/**
 * `ResponseHead`: the status, headers and body framing of one response, as the app decided them. It is the one
 * response structure every front turns into its own form exactly once (see `outlet.ts`): HTTP/1.1 text for
 * Mongrel2 (`http-wire.ts`), `writeHead` for node:http (`http-front/outlet.ts`), a test response for
 * `app.request()` (`app/testing/recording-outlet.ts`). Nobody parses a response back.
 * @module
 */

import { dateHeaderLine } from './date-header';
import { HeaderMap } from './header-map';
import { statusLine } from '../protocol/http-response';
import { statusText } from '../protocol/status-text';

/**
 * How the body is delimited on an HTTP/1.x connection: by `Content-Length`, by chunked coding, by closing the
 * connection, or not at all (no body: 1xx, 204, 304, or a head whose body follows as raw bytes, the 101).
 */
export type BodyFraming = 'length' | 'chunked' | 'close-delimited' | 'none';

/** Header names the head computes itself (`framing`, `connection`); values set for them are not sent. */
const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection']);

/** A header line a head adds after the app's own. */
type Line = (name: string, value: string) => void;

/**
 * The head of one response. It extends the header store the handler fills (so a response costs one object for
 * both); the framework sets the rest when it sends: framing, `Connection`, whether `Date` and the request id
 * header are added. Wire order: status line, the app's headers (framing names left out), `Date`, the request id
 * header, `Content-Length` or `Transfer-Encoding`, `Connection`.
 */
export class ResponseHead extends HeaderMap {
  status = 200;
  framing: BodyFraming = 'none';
  /** The body's length (with `framing: 'length'`; also for HEAD, whose body is not sent). */
  contentLength = 0;
  /** False when no body bytes follow even though the framing says there is one (a HEAD request). */
  sendsBody = true;
  /** The `Connection` header value to send, if any (`close`, `keep-alive`, `Upgrade`). */
  connection: string | undefined = undefined;
  /** Add `Date` unless the app set one. */
  addDate = true;
  /** A header added unless the app set it (the request id): name, its lowercase form, value. */
  idName: string | undefined = undefined;
  idKey = '';
  idValue = '';
  /** App header names left out of the wire (the framing ones, which the head computes). */
  omit: ReadonlySet<string> = FRAMING_HEADERS;

  /** The reason phrase (the registered one for the status). */
  get reason(): string {
    return statusText(this.status);
  }

  /** The head as HTTP/1.1 text, status line to the empty line (latin1: one byte per char). */
  wireText(): string {
    let text = statusLine(this.status) + this.render(this.omit);
    if (this.addDate && !this.hasLowercase('date')) text += dateHeaderLine();
    const idName = this.idName;
    if (idName !== undefined && !this.hasLowercase(this.idKey)) text += `${idName}: ${this.idValue}\r\n`;
    if (this.framing === 'length') text += `Content-Length: ${this.contentLength}\r\n`;
    else if (this.framing === 'chunked') text += 'Transfer-Encoding: chunked\r\n';
    if (this.connection !== undefined) text += `Connection: ${this.connection}\r\n`;
    return text + '\r\n';
  }

  /** Every header line in wire order, the computed ones included (what `wireText` writes after the status line). */
  forEachHeader(fn: Line): void {
    for (const [name, value] of this.lines(this.omit)) fn(name, value);
    if (this.addDate && !this.hasLowercase('date')) {
      const line = dateHeaderLine();
      fn('Date', line.slice(6, -2));
    }
    if (this.idName !== undefined && !this.hasLowercase(this.idKey)) fn(this.idName, this.idValue);
    if (this.framing === 'length') fn('Content-Length', String(this.contentLength));
    else if (this.framing === 'chunked') fn('Transfer-Encoding', 'chunked');
    if (this.connection !== undefined) fn('Connection', this.connection);
  }
}

const NOTHING: ReadonlySet<string> = new Set();

/**
 * A head built once and sent as it is (the WebSocket 101, an event stream's head): exactly the given headers in
 * order (a `Connection` among them included), no `Date`, no computed framing header. Never change it afterwards.
 */
export function fixedHead(status: number, headers: ReadonlyArray<readonly [string, string]>, framing: BodyFraming): ResponseHead {
  const head = new ResponseHead();
  head.status = status;
  head.framing = framing;
  head.addDate = false;
  head.omit = NOTHING;
  for (const [name, value] of headers) head.append(name, value);
  return head;
}
