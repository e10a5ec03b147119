/**
 * WebSocket routes: the handler contract, the context each invocation gets, and route options.
 *
 * Stateless by design. Mongrel2 round-robins every message across the worker processes, so the handshake and
 * each frame of ONE connection may reach DIFFERENT workers (docs/mongrel2.md §3.1, §5.2). Every frame
 * arrives with all the handshake headers again, so `ctx.req`, `ctx.params` and `ctx.protocol` are rebuilt for
 * each invocation. Per-connection state must live outside the worker (a database, Redis…), keyed by `ctx.conn`
 * (`String(ctx.conn)`), which is also how any worker pushes to the connection later (`app.push`).
 * @module
 */

import type { Logger } from 'pino';
import { ConfigError } from '../../errors';
import type { Request } from '../../http/request';
import { encodeCloseFrame, encodeFrame, isToken, WS_CLOSE, WS_OPCODE } from '../../protocol/websocket';
import { connOf, type Conn } from '../conn';
import { checkTimeout } from '../route-entry';
import type { Params } from '../router';

/** One inbound data message (Mongrel2 reassembles fragments, so it is always whole). */
export type WebSocketMessage =
  | {
      readonly opcode: typeof WS_OPCODE.TEXT;
      /** The payload as text (checked to be valid UTF-8; otherwise the connection is closed with 1007). */
      readonly text: string;
      readonly data: Buffer;
      /** FIN as Mongrel2 reports it: always true for reassembled messages. */
      readonly fin: boolean;
    }
  | { readonly opcode: typeof WS_OPCODE.BINARY; readonly text: undefined; readonly data: Buffer; readonly fin: boolean };

/** The close frame the client sent. */
export interface WebSocketCloseInfo {
  /** The client's status code; 1005 when its close frame had none. */
  readonly code: number;
  readonly reason: string;
}

/**
 * A WebSocket route's handler. Each method runs under the route's deadline, with a fresh context.
 * @example
 * app.websocket('/ws/echo', {
 *   open: (ctx) => ctx.req.header('origin') === 'https://example.com', // false → 403
 *   message: (ctx, msg) => msg.text ?? msg.data, // a returned value is sent back
 * });
 */
export interface WebSocketHandler {
  /**
   * The handshake. Return `false` (→ 403) or throw an `HttpError` (→ its status) to refuse: the client gets
   * that response and the connection closes. Frames sent here go out right after the 101.
   */
  open?(ctx: WebSocketContext): boolean | void | Promise<boolean | void>;
  /**
   * One text or binary message. A returned string is sent as a TEXT frame, bytes as a BINARY frame, any other
   * value except `undefined` as JSON text. A throw closes the connection with 1011.
   */
  message(ctx: WebSocketContext, msg: WebSocketMessage): unknown;
  /**
   * The client sent a close frame. Runs before the framework echoes it and closes the connection. Best effort,
   * like Mongrel2's disconnect notices: a client that just drops the TCP connection is never reported here.
   */
  close?(ctx: WebSocketContext, info: WebSocketCloseInfo): unknown;
}

/** Options of `app.websocket()`. */
export interface WebSocketRouteOptions {
  /** Deadline of each handler invocation in ms; on expiry the connection is closed with 1011. @default the app's `requestTimeoutMs` */
  readonly timeoutMs?: number;
  /** Label for metrics and logs. @default the pattern as registered */
  readonly name?: string;
  /**
   * Subprotocols this route speaks. The first one in the client's `Sec-WebSocket-Protocol` list that is also
   * here is selected (`ctx.protocol`) and confirmed in the 101. @default none
   */
  readonly protocols?: readonly string[];
  /** Larger messages close the connection with 1009 (Mongrel2 itself has no limit, §3.3). @default 1048576 */
  readonly maxMessageBytes?: number;
}

/** Default of {@link WebSocketRouteOptions.maxMessageBytes}. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/** A registered WebSocket route, as the framework's router stores it. */
export interface WebSocketRoute {
  readonly label: string;
  readonly timeoutMs: number | undefined;
  readonly handler: WebSocketHandler;
  readonly protocols: readonly string[];
  readonly maxMessageBytes: number;
}

/** Where a context's frames go; the framework cuts it off when the invocation ends or times out. */
export interface WebSocketOutbox {
  send(frame: Buffer): void;
  close(closeFrame: Buffer): void;
  flush(): Promise<void>;
}

/** The parts the framework builds for each invocation. */
export interface WebSocketContextInit {
  readonly req: Request;
  readonly params: Params;
  readonly route: string;
  readonly protocol: string | undefined;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly deadline: number;
  readonly outbox: WebSocketOutbox;
}

/**
 * The handler's view of one WebSocket event (handshake, message or close). Sends are queued and leave in
 * order, batched per event-loop turn; anything sent after the handler's promise settled or its signal fired is
 * dropped. There is no connection object to keep: the next frame may be handled by another worker.
 */
export class WebSocketContext {
  /** The handshake request: path, query, cookies, headers (rebuilt from the frame's copy of the headers). */
  readonly req: Request;
  readonly params: Params;
  /** The route label. */
  readonly route: string;
  /** The selected subprotocol, if the route lists any and the client offered one of them. */
  readonly protocol: string | undefined;
  /** Aborts on the deadline (a `TimeoutError` DOMException), a client disconnect, or a worker stop. */
  readonly signal: AbortSignal;
  /** Child logger bound to `route`, `connId`, `ws: true`. */
  readonly log: Logger;
  /** Epoch milliseconds after which this invocation times out. */
  readonly deadline: number;
  readonly #outbox: WebSocketOutbox;

  constructor(init: WebSocketContextInit) {
    this.req = init.req;
    this.params = init.params;
    this.route = init.route;
    this.protocol = init.protocol;
    this.signal = init.signal;
    this.log = init.log;
    this.deadline = init.deadline;
    this.#outbox = init.outbox;
  }

  /** Mongrel2's connection id; unique only together with `req.sender`. */
  get connId(): number {
    return this.req.connId;
  }

  /** This WebSocket's connection, to store and push to later from any worker (`app.push`). */
  get conn(): Conn {
    return connOf(this.req);
  }

  /** Milliseconds left before the deadline (0 when passed). */
  get remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** Send a TEXT frame (string) or a BINARY frame (bytes). Dropped after `close()`. */
  send(data: string | Uint8Array): void {
    const frame = typeof data === 'string' ? encodeFrame(WS_OPCODE.TEXT, data) : encodeFrame(WS_OPCODE.BINARY, toBuffer(data));
    this.#outbox.send(frame);
  }

  /**
   * Send a close frame, then close the connection (Mongrel2's close message).
   * @throws M2PoolError RESPONSE_INVALID for a code that may not be sent or a reason over 123 bytes.
   */
  close(code: number = WS_CLOSE.NORMAL, reason = ''): void {
    this.#outbox.close(encodeCloseFrame(code, reason));
  }

  /** Resolves once everything sent so far was handed to Mongrel2. */
  flush(): Promise<void> {
    return this.#outbox.flush();
  }
}

/** Validate a route registration. Throws `ConfigError`. */
export function createWebSocketRoute(label: string, handler: WebSocketHandler, options: WebSocketRouteOptions): WebSocketRoute {
  const issues: string[] = [];
  if (typeof handler !== 'object' || handler === null || typeof handler.message !== 'function') {
    issues.push(`websocket route ${label}: handler needs a message(ctx, msg) method`);
  }
  for (const hook of ['open', 'close'] as const) {
    if (handler?.[hook] !== undefined && typeof handler[hook] !== 'function') issues.push(`websocket route ${label}: ${hook} must be a function`);
  }
  for (const p of options.protocols ?? []) if (!isToken(p)) issues.push(`websocket route ${label}: subprotocol ${JSON.stringify(p)} is not a token`);
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(max) || max < 0) issues.push(`websocket route ${label}: maxMessageBytes must be a non-negative integer, got ${max}`);
  if (issues.length > 0) throw new ConfigError(issues);
  if (options.timeoutMs !== undefined) checkTimeout(`timeoutMs of websocket route ${label}`, options.timeoutMs);
  return { label, timeoutMs: options.timeoutMs, handler, protocols: [...(options.protocols ?? [])], maxMessageBytes: max };
}

/** The first subprotocol the client offered (in its order of preference) that the route speaks. */
export function selectProtocol(route: WebSocketRoute, req: Request): string | undefined {
  if (route.protocols.length === 0) return undefined;
  const offered = req.headerAll('sec-websocket-protocol').flatMap((v) => v.split(',')).map((t) => t.trim());
  return offered.find((p) => route.protocols.includes(p));
}

/** A value returned by `message` as the frame to send back, or undefined for none. */
export function returnedFrame(value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return encodeFrame(WS_OPCODE.TEXT, value);
  if (value instanceof Uint8Array) return encodeFrame(WS_OPCODE.BINARY, toBuffer(value));
  return encodeFrame(WS_OPCODE.TEXT, JSON.stringify(value) ?? 'null');
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
