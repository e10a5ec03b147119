/**
 * The message Mongrel2 would have sent for a node:http request (docs/mongrel2.md §2): client headers
 * lowercased in arrival order (a repeated one as an array), Mongrel2's own keys upper-case (METHOD, VERSION, URI,
 * PATH, QUERY, URL_SCHEME, PATTERN, REMOTE_ADDR). The app parses it exactly as it parses Mongrel2's.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderValue, RawMessage } from '../protocol/types';

/** The `sender` of every message from this front (Mongrel2's would be its server UUID). */
export const HTTP_FRONT_SENDER = 'm2pool-http-front';

/** Connection ids, one per socket, like Mongrel2's (they key per-connection state in the app). */
export class ConnectionIds {
  readonly #ids = new WeakMap<Socket, number>();
  #next = 1;

  of(socket: Socket): number {
    let id = this.#ids.get(socket);
    if (id === undefined) {
      id = this.#next;
      this.#next = this.#next >= 0xffff_ffff ? 1 : this.#next + 1;
      this.#ids.set(socket, id);
    }
    return id;
  }
}

/** Build the RawMessage for `req` with its complete `body`. */
export function toRawMessage(req: IncomingMessage, body: Buffer, connId: number): RawMessage {
  const uri = req.url ?? '/';
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const headers: Record<string, HeaderValue> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = headers[key];
    headers[key] = prev === undefined ? value : typeof prev === 'string' ? [prev, value] : [...prev, value];
  }
  headers['REMOTE_ADDR'] = req.socket.remoteAddress ?? '';
  headers['METHOD'] = req.method ?? 'GET';
  headers['URL_SCHEME'] = 'http';
  headers['PATTERN'] = '/';
  if (q >= 0) headers['QUERY'] = uri.slice(q + 1);
  headers['URI'] = uri;
  headers['VERSION'] = `HTTP/${req.httpVersion}`;
  headers['PATH'] = path;
  return { sender: HTTP_FRONT_SENDER, connId, path, headers, body, protocol: 'tnetstring' };
}
