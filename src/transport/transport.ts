/**
 * The worker's view of "where requests come from and where replies go", for either topology
 * (docs/architecture.md): straight from Mongrel2 (direct) or from the pool's dispatcher (dispatch). The worker
 * runtime only sees these interfaces; {@link createTransport} in `create-transport.ts` picks the implementation.
 * @module
 */

import type { Topology } from '../config/settings';
import type { PushChannel } from './push-channel';

/** Which topology a transport belongs to (the `topology` setting's values, `config/settings.ts`). */
export type { Topology };

/**
 * One message as it reached this worker (a request, a notice, a WebSocket frame), with its way back.
 *
 * Every delivery must end in exactly one `done()`, whatever happened to it: that is how a dispatcher learns
 * that the worker has room for one more (its flow-control grant) and that the request needs no rescue.
 */
export interface Delivery {
  /** The Mongrel2 message, byte for byte as Mongrel2 sent it. */
  readonly frame: Buffer;
  /**
   * Which Mongrel2 server it came from (index in the configured server list). Connection ids are only unique
   * per server and per Mongrel2 process, so state keyed by connection includes it; replies go back there.
   */
  readonly server: number;
  /**
   * Send one reply frame (Mongrel2's reply encoding) to the server this message came from. Resolves when the
   * frame was handed over; rejects (never drops silently) when it cannot be within the send timeout.
   */
  send(frame: Buffer): Promise<void>;
  /**
   * The app decided whether this request may be handed to another worker if this one dies before replying
   * (a route's `retry` option). Transports that cannot re-dispatch ignore it.
   */
  retryable(allowed: boolean): void;
  /** This message needs nothing more from the transport (replied, refused or ignored). Call exactly once. */
  done(): void;
  /** The number the dispatcher gave this request (dispatch topology only): its request id when the client sent none. */
  readonly dispatchNumber?: number;
}

/** One source of deliveries (direct: one Mongrel2 server; dispatch: the dispatcher). */
export interface Link {
  /** Human-readable endpoint description, for logs. */
  readonly name: string;
  /** Can take and answer requests right now (sockets connected; for a dispatcher: it has a Mongrel2). */
  readonly ready: boolean;
  /**
   * The next delivery, or `null` once the link stopped receiving and has nothing left to hand out. Only one call
   * may be pending: callers read one message at a time, which is how back-pressure reaches the sender.
   */
  receive(): Promise<Delivery | null>;
  /**
   * Stop taking new messages. Direct: a pending `receive()` resolves `null` at once (what Mongrel2 already
   * pushed to us is lost, a ZeroMQ PUSH property: docs/zeromq.md). Dispatch: the dispatcher is told to send
   * nothing more; deliveries it had already sent are still handed out, then `receive()` resolves `null`.
   */
  stopReceiving(): void;
}

/** Called when a link loses its peer or gets it back. */
export type ReadyChangeListener = (link: Link, ready: boolean) => void;

/** A set of links with one lifecycle. */
export interface Transport {
  readonly topology: Topology;
  readonly links: readonly Link[];
  /**
   * Whether this transport can hand a worker a Mongrel2 disconnect notice for a connection whose request another
   * worker holds. Direct: yes (Mongrel2 round-robins notices), so the pool relays them; dispatch: no, the
   * dispatcher routes every notice to the worker that holds the connection.
   */
  readonly misroutesNotices: boolean;
  /** Pushes to any connection and the room hub, for `app.push` (`push-channel.ts`). */
  readonly pushes: PushChannel;
  /** Connect every link; resolves once all are ready to receive and to reply, rejects after `timeoutMs`. */
  start(timeoutMs: number): Promise<void>;
  /** Number of links that are `ready` right now. */
  connectedCount(): number;
  /** Register a listener for readiness changes of any link (several may be registered). */
  onReadyChange(listener: ReadyChangeListener): void;
  /** Stop receiving, flush replies (up to `lingerMs`), release the sockets. Idempotent. */
  close(lingerMs: number): Promise<void>;
}
