/**
 * What a WebSocket handshake and a WebSocket frame have in common: the request rebuilt from the message, the
 * route lookup, the batched and gated outbound side, and the handler's context.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Request } from '../../http/request';
import type { ReplySink } from '../../http/sink';
import { encodeCloseFrame, WS_CLOSE } from '../../protocol/websocket';
import type { RawMessage } from '../../protocol/types';
import { UNMATCHED_ROUTE } from '../handle-request';
import { FrameWriter } from '../frame-writer';
import type { RouteEntry } from '../route-entry';
import type { Params, RouteMatch, Router } from '../router';
import { outletFor } from '../../http/http-wire';
import type { ResponseOutlet } from '../../http/outlet';
import { selectProtocol, WebSocketContext, type WebSocketRoute } from './websocket';

/** The router method under which WebSocket routes are stored (their own router: never matched by HTTP). */
export const WEBSOCKET_METHOD = 'WEBSOCKET';

/** The app-wide settings WebSocket dispatch needs. */
export interface WebSocketConfig {
  readonly routes: Router<WebSocketRoute>;
  /** The HTTP routes, only to log when a handshake hits a path that has HTTP routes but no WebSocket route. */
  readonly httpRouter: Router<RouteEntry>;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly exposeErrors: boolean;
}

/** Per-call options of the WebSocket entry points. */
export interface WebSocketEventOptions {
  /** Client disconnected or worker stopping: the handler's signal fires and nothing more is sent. */
  readonly signal?: AbortSignal;
  /** @default the app's logger */
  readonly logger?: Logger;
}

const EMPTY = Buffer.alloc(0);

/** One handshake or frame being handled. */
export class WebSocketSession {
  readonly started = performance.now();
  readonly req: Request;
  readonly counting: ResponseOutlet;
  readonly writer: FrameWriter;
  readonly match: RouteMatch<WebSocketRoute>;
  readonly route: string;
  readonly log: Logger;
  /** The close code sent on this connection during this event; 0 when none. */
  closeCode = 0;
  /** While true, the handler's sends go out; the framework shuts it when the handler is cut off. */
  #handlerOpen = true;

  constructor(config: WebSocketConfig, msg: RawMessage, sink: ReplySink, options: WebSocketEventOptions, started: boolean) {
    // The body is the accept value or the frame payload; neither is part of the request the handler sees.
    this.req = new Request({ ...msg, body: EMPTY });
    this.counting = outletFor(sink);
    this.match = config.routes.match(WEBSOCKET_METHOD, msg.path);
    this.route = this.match.kind === 'found' ? this.match.handler.label : UNMATCHED_ROUTE;
    this.log = (options.logger ?? config.logger).child({ route: this.route, connId: msg.connId, ws: true });
    this.writer = new FrameWriter(this.counting, { started, onError: (err) => this.log.debug({ err }, 'websocket frames not delivered') });
  }

  get durationMs(): number {
    return performance.now() - this.started;
  }

  /** The handler's context for one invocation. */
  context(entry: WebSocketRoute, params: Params, signal: AbortSignal, deadline: number): WebSocketContext {
    return new WebSocketContext({
      req: this.req,
      params,
      route: this.route,
      protocol: selectProtocol(entry, this.req),
      signal,
      log: this.log,
      deadline,
      // Once the signal fired (deadline, disconnect, worker stop) or the event is over, the handler is cut off.
      outbox: {
        send: (frame) => {
          if (!this.#handlerOpen || signal.aborted || !this.writer.send(frame)) this.log.debug('websocket send dropped: the event is over or the connection closing');
        },
        close: (frame) => {
          if (this.#handlerOpen && !signal.aborted) this.#close(frame);
        },
        flush: () => this.writer.flush(),
      },
    });
  }

  /** Drop every later send and close of the handler (deadline passed, invocation over). */
  shutHandler(): void {
    this.#handlerOpen = false;
  }

  /** Close the connection from the framework: a close frame with `code`, then Mongrel2's close message. */
  fail(code: number, reason: string): void {
    this.#close(encodeCloseFrame(code, reason));
  }

  /** Echo a client's close: the same code, or an empty close frame when it sent none. */
  echoClose(code: number | undefined): void {
    this.#close(code === undefined ? encodeCloseFrame() : encodeCloseFrame(code));
  }

  #close(frame: Buffer): void {
    // A server close frame is `0x88 len [code]`: payloads stay under 126 bytes, so the code is at byte 2.
    if (this.writer.close(frame)) this.closeCode = frame.length >= 4 ? frame.readUInt16BE(2) : WS_CLOSE.NO_STATUS;
  }
}
