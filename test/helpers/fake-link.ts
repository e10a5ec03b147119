/**
 * An in-process transport for runtime tests and the pipeline benchmark: deliveries are pushed in by the test
 * (or produced by a source function), replies and `done()`/`retryable()` calls are recorded per delivery.
 */
import type { Delivery, Link, ReadyChangeListener, Transport } from '../../src/transport/transport';
import { DirectPushChannel } from '../../src/transport/push-channel';

/** One delivery handed out by a {@link FakeLink}, with what the worker did with it. */
export class FakeDelivery implements Delivery {
  readonly replies: Buffer[] = [];
  doneCalls = 0;
  retryHint: boolean | undefined;

  constructor(
    readonly frame: Buffer,
    readonly server: number,
    private readonly link: FakeLink,
  ) {}

  send(frame: Buffer): Promise<void> {
    if (this.link.record) {
      this.replies.push(frame);
      this.link.sent.push(frame);
    }
    return this.link.onSend(frame);
  }

  retryable(allowed: boolean): void {
    this.retryHint = allowed;
  }

  done(): void {
    this.doneCalls += 1;
    this.link.doneCount += 1;
  }
}

/** Settings of a {@link FakeLink}. */
export interface FakeLinkOptions {
  /** Produce the next frame on demand (null = no more); without it, frames come from `push()`. */
  readonly source?: () => Buffer | null;
  /** What every reply send resolves to (default: resolved at once). */
  readonly onSend?: (frame: Buffer) => Promise<void>;
  /** Keep every delivery and reply for inspection (default true; the benchmark turns it off). */
  readonly record?: boolean;
}

/** A link the test feeds. `receive()` waits for `push()` (or calls the source); `end()` makes it resolve null. */
export class FakeLink implements Link {
  readonly name = 'fake';
  ready = true;
  /** Every delivery handed out, in order. */
  readonly deliveries: FakeDelivery[] = [];
  /** Every reply frame sent, in order, over all deliveries. */
  readonly sent: Buffer[] = [];
  doneCount = 0;
  readonly onSend: (frame: Buffer) => Promise<void>;
  readonly record: boolean;
  readonly #source: (() => Buffer | null) | undefined;
  readonly #queue: Array<{ frame: Buffer; server: number }> = [];
  #waiter: ((d: Delivery | null) => void) | undefined;
  #ended = false;

  constructor(options: FakeLinkOptions = {}) {
    this.#source = options.source;
    this.onSend = options.onSend ?? (() => Promise.resolve());
    this.record = options.record ?? true;
  }

  /** Queue a message from server `server`. */
  push(frame: Buffer, server = 0): void {
    if (this.#waiter !== undefined) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake(this.#deliver(frame, server));
    } else {
      this.#queue.push({ frame, server });
    }
  }

  /** No more messages: once the queue is empty, `receive()` resolves null. */
  end(): void {
    this.#ended = true;
    if (this.#waiter !== undefined && this.#queue.length === 0) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake(null);
    }
  }

  receive(): Promise<Delivery | null> {
    if (this.#source !== undefined) {
      const frame = this.#ended ? null : this.#source();
      return Promise.resolve(frame === null ? null : this.#deliver(frame, 0));
    }
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(this.#deliver(next.frame, next.server));
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  stopReceiving(): void {
    this.#queue.length = 0;
    this.end();
  }

  #deliver(frame: Buffer, server: number): FakeDelivery {
    const d = new FakeDelivery(frame, server, this);
    if (this.record) this.deliveries.push(d);
    return d;
  }
}

/** A transport over fake links (direct-topology semantics unless told otherwise). */
export class FakeTransport implements Transport {
  readonly topology = 'direct';
  readonly misroutesNotices: boolean;
  readonly links: readonly FakeLink[];
  /** Pushes go to the fake links like replies (direct semantics: no room hub). */
  readonly pushes: DirectPushChannel;
  closed = 0;
  readonly #listeners: ReadyChangeListener[] = [];

  constructor(links: readonly FakeLink[] = [new FakeLink()], misroutesNotices = false) {
    this.links = links;
    this.misroutesNotices = misroutesNotices;
    this.pushes = new DirectPushChannel(links.map((link) => ({ send: (frame: Buffer) => link.onSend(frame) })));
  }

  async start(): Promise<void> {}

  connectedCount(): number {
    return this.links.filter((l) => l.ready).length;
  }

  onReadyChange(listener: ReadyChangeListener): void {
    this.#listeners.push(listener);
  }

  /** Flip a link's readiness and tell the listeners. */
  setReady(link: FakeLink, ready: boolean): void {
    link.ready = ready;
    for (const l of this.#listeners) l(link, ready);
  }

  async close(): Promise<void> {
    this.closed += 1;
    for (const link of this.links) link.stopReceiving();
  }
}
