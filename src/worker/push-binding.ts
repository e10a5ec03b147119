/**
 * Connects an app to its transport's pushes (issue #20): `app.push` gets the transport's push channel, and
 * disconnect events — the dispatcher's (dispatch) or this worker's own Mongrel2 notices (direct) — run the app's
 * `onDisconnect` hooks and a dropped WebSocket's `close` handler. Duck-typed like `handlesMessages`: a plain
 * `WorkerApp` without these parts is left alone.
 * @module
 */
import type { Logger } from 'pino';
import { Conn } from '../app/conn';
import type { PushTransport } from '../app/push';
import type { RawMessage } from '../protocol/types';
import { parseMessage } from '../protocol/request-parser';
import type { PushChannel } from '../transport/push-channel';
import type { Transport } from '../transport/transport';
import type { WorkerApp } from './app-contract';

/** The parts of an `App` the binding uses. */
interface PushApp {
  readonly push: { bind(transport: PushTransport | undefined): void };
  dispatchDisconnect(conn: Conn, handshake?: RawMessage): Promise<unknown>;
}

function isPushApp(app: WorkerApp): app is WorkerApp & PushApp {
  const a = app as Partial<PushApp>;
  return typeof a.push === 'object' && a.push !== null && typeof a.push.bind === 'function' && typeof a.dispatchDisconnect === 'function';
}

/** What the runtime calls; `unbind` at exit. */
export interface PushBinding {
  /** A disconnect notice this worker got (direct topology): run the event. */
  disconnected(conn: string): void;
  /** Disconnect events still running (drain waits for none; this is for logs). */
  readonly running: number;
  unbind(): void;
}

/** Where pushes are counted (`WorkerMetrics.pushed`). */
export interface PushCounter {
  pushed(n: number, failed: number): void;
}

/** `channel` with its messages counted: handed over, or failed (and logged at debug: the caller gets the error). */
function counted(channel: PushChannel, counter: PushCounter | undefined, logger: Logger): PushTransport {
  if (counter === undefined) return channel;
  return {
    hub: channel.hub,
    messages: (frames) =>
      channel.messages(frames).then(
        () => counter.pushed(frames.length, 0),
        (err: unknown) => {
          counter.pushed(0, frames.length);
          logger.debug({ err }, 'push not handed over');
          throw err;
        },
      ),
  };
}

/** Bind `app.push` to `transport.pushes` (counted in `metrics`) and route disconnect events to the app. */
export function bindPush(app: WorkerApp, transport: Transport, logger: Logger, metrics?: PushCounter): PushBinding {
  let running = 0;
  const run = (connText: string, handshake: Buffer | undefined): void => {
    if (!isPushApp(app)) return;
    let conn: Conn;
    let raw: RawMessage | undefined;
    try {
      conn = Conn.parse(connText);
      raw = handshake === undefined ? undefined : parseMessage(handshake);
    } catch (err) {
      logger.warn({ err, conn: connText.slice(0, 80) }, 'disconnect event skipped: not a connection or handshake');
      return;
    }
    running += 1;
    void app
      .dispatchDisconnect(conn, raw)
      .catch((err: unknown) => logger.error({ err }, 'disconnect event failed'))
      .finally(() => {
        running -= 1;
      });
  };
  if (isPushApp(app)) app.push.bind(counted(transport.pushes, metrics, logger));
  transport.pushes.onDisconnect((event) => run(event.conn, event.handshake));
  return {
    disconnected: (conn) => run(conn, undefined),
    get running() {
      return running;
    },
    unbind: () => {
      if (isPushApp(app)) app.push.bind(undefined);
    },
  };
}
