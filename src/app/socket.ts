/**
 * Socket routes: Mongrel2's JSON (`@name`) and XML (`<name`) socket messages (docs/mongrel2.md §3.2). A raw
 * TCP client sends `@chat {"type":"join"}\0`; the handler gets the text and may answer. Each reply is one Mongrel2
 * message, which Mongrel2 base64-encodes unless the Handler has `raw_payload=1`. NOTE: 1.12.2 writes the encoded
 * replies back to back with no separator (seen live: `aGVsbG8=eyJnb3Qi…`), so send one reply per message, or set
 * `raw_payload=1` and frame replies yourself (e.g. end each with `\0`). Stateless like WebSocket routes: any worker
 * may receive any message.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ConfigError } from '../errors';
import { Request } from '../http/request';
import type { ReplySink } from '../http/sink';
import type { RawMessage } from '../protocol/types';
import { UNMATCHED_ROUTE } from './handle-request';
import { invoke } from './invoke';
import { connOf, type Conn } from './conn';
import { checkTimeout } from './route-entry';

/** A socket route's handler. A returned string or bytes is sent back, any other value except `undefined` as JSON. */
export type SocketHandler = (ctx: SocketContext, data: string) => unknown;

/** Options of `app.socket()`. */
export interface SocketRouteOptions {
  /** Deadline of each call in ms (on expiry its signal fires and later sends are dropped). @default the app's `requestTimeoutMs` */
  readonly timeoutMs?: number;
}

/** The handler's view of one socket message. */
export class SocketContext {
  /** The message's headers (PATH, METHOD, REMOTE_ADDR… as `req.meta`). */
  readonly req: Request;
  /** `JSON` for `@name` routes, `XML` for `<name` routes. */
  readonly method: 'JSON' | 'XML';
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly deadline: number;
  readonly #send: (data: Buffer | null) => void;
  readonly #flush: () => Promise<void>;

  constructor(init: { req: Request; method: 'JSON' | 'XML'; signal: AbortSignal; log: Logger; deadline: number; send: (data: Buffer | null) => void; flush: () => Promise<void> }) {
    this.req = init.req;
    this.method = init.method;
    this.signal = init.signal;
    this.log = init.log;
    this.deadline = init.deadline;
    this.#send = init.send;
    this.#flush = init.flush;
  }

  /** Mongrel2's connection id; unique only together with `req.sender`. */
  get connId(): number {
    return this.req.connId;
  }

  /** This client's connection, to store and push to later from any worker (`app.push`). */
  get conn(): Conn {
    return connOf(this.req);
  }

  /**
   * Send one Mongrel2 message (strings as UTF-8). An empty message is not sent: it would close the connection.
   * Mongrel2 base64-encodes it without a separator unless `raw_payload=1` (see the module note).
   */
  send(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (bytes.length > 0) this.#send(bytes);
  }

  /** Close the client connection after what was sent. */
  close(): void {
    this.#send(null);
  }

  /** Resolves once everything sent so far was handed to Mongrel2. */
  flush(): Promise<void> {
    return this.#flush();
  }
}

/** How a socket message was handled (`unmatched`: no route; nothing is sent). */
export interface SocketResult {
  readonly outcome: 'message' | 'unmatched' | 'error' | 'timeout' | 'aborted';
  readonly route: string;
  readonly bytesSent: number;
  readonly durationMs: number;
}

/** A classified socket message (`Mongrel2Message` of kind `socket-message`). */
export interface SocketEvent {
  readonly msg: RawMessage;
  readonly method: 'JSON' | 'XML';
  readonly data: string;
}

interface SocketRoute {
  readonly handler: SocketHandler;
  readonly timeoutMs: number | undefined;
}

/** The settings socket dispatch needs. */
export interface SocketConfig {
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
}

/** Socket routes by exact path (`@chat`, `<chat`). */
export class SocketRoutes {
  readonly #routes = new Map<string, SocketRoute>();

  /** Register `handler` for `path`. Throws `ConfigError` for a bad path, a duplicate or a bad timeout. */
  add(path: string, handler: SocketHandler, options: SocketRouteOptions = {}): void {
    if (!/^[@<][^\s\0]+$/.test(path) || path === '@*') throw new ConfigError([`socket route must be "@name" or "<name" (not "@*"): ${JSON.stringify(path)}`]);
    if (this.#routes.has(path)) throw new ConfigError([`socket route ${path} is already registered`]);
    if (typeof handler !== 'function') throw new ConfigError([`socket route ${path}: handler must be a function`]);
    if (options.timeoutMs !== undefined) checkTimeout(`timeoutMs of socket route ${path}`, options.timeoutMs);
    this.#routes.set(path, { handler, timeoutMs: options.timeoutMs });
  }

  /** Handle one socket message. Never rejects. */
  async dispatch(config: SocketConfig, event: SocketEvent, sink: ReplySink, options: { signal?: AbortSignal; logger?: Logger } = {}): Promise<SocketResult> {
    const started = performance.now();
    const path = event.msg.path;
    const route = this.#routes.get(path);
    const log = (options.logger ?? config.logger).child({ route: route === undefined ? UNMATCHED_ROUTE : path, connId: event.msg.connId });
    let bytesSent = 0;
    const result = (outcome: SocketResult['outcome']): SocketResult => ({ outcome, route: route === undefined ? UNMATCHED_ROUTE : path, bytesSent, durationMs: performance.now() - started });
    if (route === undefined) {
      log.debug({ path }, 'no socket route');
      return result('unmatched');
    }
    let open = true;
    let chain = Promise.resolve();
    // One write per send: Mongrel2 encodes each message separately, so they cannot be batched like frames.
    const send = (data: Buffer | null): void => {
      if (!open) return void log.debug('socket send dropped: the call is over');
      chain = chain
        .then(async () => {
          if (data === null) return sink.close();
          await sink.write(data);
          bytesSent += data.length;
        })
        .catch((err: unknown) => log.debug({ err }, 'socket reply not delivered'));
    };
    const timeoutMs = route.timeoutMs ?? config.requestTimeoutMs;
    const controller = new AbortController();
    const req = new Request(event.msg);
    const ctx = new SocketContext({ req, method: event.method, signal: controller.signal, log, deadline: Date.now() + timeoutMs, send, flush: () => chain });
    const settled = await invoke(() => route.handler(ctx, event.data), controller, timeoutMs, options.signal);
    if (settled.kind === 'ok' && settled.value !== undefined) {
      try {
        ctx.send(typeof settled.value === 'string' || settled.value instanceof Uint8Array ? settled.value : JSON.stringify(settled.value));
      } catch (err) {
        log.error({ err }, 'socket handler returned a value that cannot be sent');
      }
    }
    open = false;
    await chain;
    if (settled.kind === 'error') log.error({ err: settled.err }, 'socket handler failed');
    if (settled.kind === 'timeout') log.warn({ timeoutMs }, 'socket handler timed out');
    return result(settled.kind === 'ok' ? 'message' : settled.kind);
  }
}
