/**
 * The direct topology: one Mongrel2 server = a PULL connected to its send_spec and an XPUB connected to its
 * recv_spec (docs/mongrel2.md §1, docs/zeromq.md §3, §6.1).
 *
 * - Ready only when the PULL finished its ZMTP handshake (Mongrel2's PUSH has us in its rotation) and
 *   Mongrel2's SUB subscription reached our XPUB: a plain PUB drops what it publishes before that.
 * - XPUB with `noDrop`: at the high-water mark a send fails with EAGAIN instead of vanishing; the reply queue
 *   retries it, then reports failure.
 * - No ZMTP heartbeats on the PULL: with a stalled reader they cause false disconnects and a libzmq abort
 *   (docs/zeromq.md §2.6).
 * @module
 */
import { Pull, XPublisher } from 'zeromq';
import { ErrorCode, M2PoolError } from '../errors';
import { reconnectAfterRefusal } from './refusal-watch';
import { ReplyQueue, type SendFailed } from './reply-queue';
import type { Delivery, Link } from './transport';

const NOTHING: Promise<null> = Promise.resolve(null);

/** Socket settings of one link. */
export interface Mongrel2LinkOptions {
  /** Mongrel2's send_spec: where requests come from (we connect a PULL). */
  readonly sendSpec: string;
  /** Mongrel2's recv_spec: where replies go (we connect an XPUB). */
  readonly recvSpec: string;
  /** PULL receive high-water mark: how many messages libzmq may hold for us beyond what we read. */
  readonly receiveHighWaterMark: number;
  /**
   * ZeroMQ's maximum message size of the PULL: the largest legal Mongrel2 message (`config/message-limits.ts`).
   * libzmq disconnects a sender of more before allocating it (docs/zeromq.md §3.9). Absent: no limit.
   */
  readonly maxMessageBytes?: number | undefined;
  /** ZeroMQ refused a message over `maxMessageBytes` from Mongrel2 (the link reconnects by itself). */
  readonly onRefused?: (linkName: string) => void;
  /** How long one reply may wait for the socket before it is reported as failed. */
  readonly sendTimeoutMs: number;
  /** Index of this server in the configured list (see {@link Delivery.server}). */
  readonly server: number;
  /** Called when `ready` changes (Mongrel2 went away or came back); for logs and metrics. */
  readonly onReadyChange?: (ready: boolean) => void;
}

/**
 * A message from Mongrel2 with its way back. The direct topology has nothing to do at `done()` (PUSH has no
 * flow control to give back) and cannot re-dispatch, so both are no-ops; a class, not a literal with closures,
 * keeps the per-request cost to one small object.
 */
class DirectDelivery implements Delivery {
  constructor(
    readonly frame: Buffer,
    readonly server: number,
    readonly link: Mongrel2Link,
  ) {}

  send(frame: Buffer): Promise<void> {
    return this.link.send(frame);
  }

  retryable(): void {}

  done(): void {}
}

/** One Mongrel2 server's request and reply sockets. */
export class Mongrel2Link implements Link {
  readonly name: string;
  readonly server: number;
  readonly #pull: Pull;
  readonly #pub: XPublisher;
  readonly #replies: ReplyQueue;
  #pullReady = false;
  #subscribed = false;
  #receiving = true;
  #closed = false;
  /** A receive on the XPUB is pending (see `#watchSubscriptions`). */
  #watching = false;
  /** The reply socket disconnected: keep reading subscriptions until XPUB reported something. */
  #expectSubscriptionChange = false;
  readonly #waiters = new Set<() => void>();
  readonly #onReadyChange: ((ready: boolean) => void) | undefined;
  #wasReady = false;

  constructor(options: Mongrel2LinkOptions) {
    this.name = `${options.sendSpec} -> ${options.recvSpec}`;
    this.server = options.server;
    this.#onReadyChange = options.onReadyChange;
    this.#pull = new Pull({
      receiveHighWaterMark: options.receiveHighWaterMark,
      linger: 0,
      reconnectInterval: 100,
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageSize: options.maxMessageBytes }),
    });
    this.#pub = new XPublisher({ noDrop: true, immediate: true, reconnectInterval: 100, sendTimeout: 0 });
    this.#replies = new ReplyQueue(
      (frame) => this.#pub.send(frame),
      { now: () => this.#subscribed, wait: (timeoutMs) => this.#awaitSubscribed(timeoutMs) },
      options.sendTimeoutMs,
    );
    this.#pull.events.on('handshake', () => this.#setPullReady(true));
    this.#pull.events.on('disconnect', () => this.#setPullReady(false));
    reconnectAfterRefusal(this.#pull, options.sendSpec, () => options.onRefused?.(this.name));
    this.#pub.events.on('disconnect', () => this.#onReplySocketDisconnect());
    this.#pull.connect(options.sendSpec);
    this.#pub.connect(options.recvSpec);
    this.#watchSubscriptions();
  }

  /** Both sockets are connected and Mongrel2 subscribed to our replies. */
  get ready(): boolean {
    return this.#pullReady && this.#subscribed;
  }

  /** Replies queued and not yet handed to the socket. */
  get pendingReplies(): number {
    return this.#replies.pending;
  }

  /** Resolves once `ready`, or rejects after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<void> {
    return this.#waitFor(() => this.ready, timeoutMs, ErrorCode.WORKER_BOOT, () =>
      `${this.name}: not ready after ${timeoutMs} ms (request socket ${this.#pullReady ? 'connected' : 'not connected'}, ` +
      `reply socket ${this.#subscribed ? 'subscribed' : 'not subscribed'})`);
  }

  /** Not `async`: one promise turn per message on top of the socket's own (the worker's hot path). */
  receive(): Promise<Delivery | null> {
    if (!this.#receiving) return NOTHING;
    let received: Promise<Buffer[]>;
    try {
      received = this.#pull.receive();
    } catch (err) {
      received = Promise.reject(err);
    }
    return received.then(this.#toDelivery, this.#receiveFailed);
  }

  /** Mongrel2 sends single-frame messages; a stray multipart is judged by its first frame. */
  readonly #toDelivery = (frames: Buffer[]): Delivery => new DirectDelivery(frames[0] ?? Buffer.alloc(0), this.server, this);

  readonly #receiveFailed = (err: unknown): null => {
    if (!this.#receiving || this.#pull.closed) return null;
    throw err;
  };

  send(frame: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#replies.enqueue(frame);
  }

  /** `send` for a caller that does not wait: `onFailed` hears of a frame that could not be handed over. */
  post(frame: Buffer, onFailed: SendFailed): void {
    if (this.#closed) onFailed(this.#closedError());
    else this.#replies.post(frame, onFailed);
  }

  #closedError(): M2PoolError {
    return new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: link closed`);
  }

  stopReceiving(): void {
    if (!this.#receiving) return;
    this.#receiving = false;
    // NOTE: closing the PULL discards whatever libzmq already queued for us; no socket option can pause
    // inflow on an established connection (docs/zeromq.md §2.2–2.4). Callers keep reading until now.
    this.#pull.close();
  }

  /** Stop receiving, hand over queued replies (bounded by `lingerMs`), close both sockets. Idempotent. */
  async close(lingerMs: number): Promise<void> {
    this.stopReceiving();
    if (this.#closed) return;
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#replies.drained(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, lingerMs))),
    ]);
    clearTimeout(timer);
    this.#pub.linger = lingerMs;
    this.#pub.close();
    this.#notify();
  }

  #setPullReady(value: boolean): void {
    this.#pullReady = value;
    this.#notify();
  }

  /**
   * Read Mongrel2's SUBSCRIBE (0x01 + prefix) and UNSUBSCRIBE (0x00: XPUB reports it when the subscriber's pipe
   * goes, which `immediate` makes happen at disconnect) until it is subscribed and nothing more is queued, then
   * stop: zeromq.js checks a socket with a pending receive for readability after every send, which would cost
   * every reply a second ZMQ_EVENTS call (a poll(2) each; about half of a worker's send time in
   * `npm run bench -- --profile`). What XPUB reports while nobody reads stays queued in it, in order.
   */
  #watchSubscriptions(): void {
    if (this.#watching || this.#pub.closed) return;
    this.#watching = true;
    void this.#readSubscriptions();
  }

  async #readSubscriptions(): Promise<void> {
    try {
      while (!this.#pub.closed) {
        const [first] = await this.#pub.receive();
        if (first !== undefined && first.length > 0) {
          this.#expectSubscriptionChange = false;
          this.#subscribed = first[0] === 1;
          this.#notify();
        }
        if (this.#subscribed && !this.#expectSubscriptionChange && !this.#pub.readable) return;
      }
    } catch {
      // closed
    } finally {
      this.#watching = false;
    }
  }

  /**
   * The reply socket lost Mongrel2: its UNSUBSCRIBE is on the way (or queued), then a SUBSCRIBE when it is back.
   * Only what XPUB reports changes `#subscribed`; the monitor event just makes sure somebody reads it.
   */
  #onReplySocketDisconnect(): void {
    this.#expectSubscriptionChange = true;
    this.#watchSubscriptions();
  }

  #awaitSubscribed(timeoutMs: number): Promise<void> {
    return this.#waitFor(() => this.#subscribed, timeoutMs, ErrorCode.SEND_FAILED, () => `${this.name}: reply not delivered: Mongrel2 has not subscribed to replies`);
  }

  #notify(): void {
    const ready = this.ready && !this.#closed;
    // Once we stop receiving, losing readiness is our own doing, not news for the caller.
    if (ready !== this.#wasReady && this.#receiving) {
      this.#wasReady = ready;
      this.#onReadyChange?.(ready);
    }
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once `condition` holds; rejects with `code` after `timeoutMs` (boot: WORKER_BOOT; a reply: SEND_FAILED). */
  #waitFor(condition: () => boolean, timeoutMs: number, code: ErrorCode, describe: () => string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (condition()) {
          cleanup();
          resolve();
        } else if (this.#closed) {
          cleanup();
          reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: link closed`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new M2PoolError(code, describe()));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }
}
