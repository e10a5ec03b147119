/**
 * Disconnect events: the hooks an app registers with `app.onDisconnect(conn => …)`, and the WebSocket
 * `close` handler of a client that just dropped, run once per connection on one worker. The worker runtime calls
 * {@link runDisconnect} for each event its transport reports (direct: the Mongrel2 notice that reached it;
 * dispatch: the event the dispatcher sent it, which carries a WebSocket's handshake message).
 * @module
 */
import type { Logger } from 'pino';
import type { RawMessage } from '../protocol/types';
import type { Conn } from './conn';
import { dispatchDropped, type DroppedOutcome } from './websocket/dropped';
import type { WebSocketConfig } from './websocket/session';

/** A hook of `app.onDisconnect`. May be async; a throw is logged and does not stop the other hooks. */
export type DisconnectHook = (conn: Conn) => unknown;

/** What {@link runDisconnect} needs from the app. */
export interface DisconnectConfig {
  readonly hooks: readonly DisconnectHook[];
  readonly logger: Logger;
  readonly websocket: WebSocketConfig;
}

/** How one disconnect event was handled. */
export interface DisconnectResult {
  /** Hooks that threw. */
  readonly hookErrors: number;
  /** The WebSocket `close` handler, when the event carried a handshake. */
  readonly websocket: DroppedOutcome;
}

/** Run every hook, then the dropped WebSocket's `close` handler (if `handshake` is given). Never rejects. */
export async function runDisconnect(config: DisconnectConfig, conn: Conn, handshake: RawMessage | undefined): Promise<DisconnectResult> {
  let hookErrors = 0;
  for (const hook of config.hooks) {
    try {
      await hook(conn);
    } catch (err) {
      hookErrors += 1;
      config.logger.error({ err, conn: String(conn) }, 'disconnect hook failed');
    }
  }
  const websocket = handshake === undefined ? 'none' : await dispatchDropped(config.websocket, handshake);
  return { hookErrors, websocket };
}
