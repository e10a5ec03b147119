/**
 * Per-connection batching and pacing of reply bytes. Mongrel2 closes a connection when more than 16 messages
 * wait in its delivery queue (docs/mongrel2.md §4.4), and its handler task drains the reply socket before the
 * connection's delivery task runs: a burst of small replies — one WebSocket echo per inbound frame — trips that
 * limit. So, per connection: everything written in one event-loop turn leaves as ONE Mongrel2 message (its body is
 * written to the client verbatim, so concatenated WebSocket frames stay valid), and a busy connection gets at most
 * one message per interval, which doubles (up to `maxIntervalMs`) while it stays busy: the slower the client reads,
 * the bigger and fewer the messages. An idle connection's reply is sent at once.
 * Not for JSON/XML socket connections, where Mongrel2 base64-encodes each message on its own (docs/mongrel2.md §3.2).
 * @module
 */

/** Options of {@link ReplyCoalescer}. */
export interface ReplyCoalescerOptions {
  /** Gap between two messages to a connection that just got one, in ms. @default 2 */
  readonly intervalMs?: number;
  /** Largest gap, reached by doubling while the connection stays busy. @default 32 */
  readonly maxIntervalMs?: number;
}

interface Pace {
  sentAt: number;
  intervalMs: number;
}

interface Batch {
  readonly chunks: Buffer[];
  readonly sent: Promise<void>;
  readonly start: () => void;
}

/** Batches writes per connection key. */
export class ReplyCoalescer {
  readonly #intervalMs: number;
  readonly #maxIntervalMs: number;
  readonly #batches = new Map<string, Batch>();
  /** Connections that got a message recently (removed once idle for two intervals). */
  readonly #paces = new Map<string, Pace>();

  constructor(options: ReplyCoalescerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 2;
    this.#maxIntervalMs = Math.max(this.#intervalMs, options.maxIntervalMs ?? 32);
  }

  /** Queue `data` for connection `key`; resolves (or rejects) when its batch was handed over by `deliver`. */
  write(key: string, data: Buffer, deliver: (data: Buffer) => Promise<void>): Promise<void> {
    const batch = this.#batches.get(key);
    if (batch !== undefined) {
      batch.chunks.push(data);
      return batch.sent;
    }
    const created = this.#create(key, data, deliver);
    const pace = this.#paces.get(key);
    const wait = pace === undefined ? 0 : pace.sentAt + pace.intervalMs - performance.now();
    if (pace !== undefined && wait > 0) {
      // Still busy: this message waits, and the next one will wait longer.
      pace.intervalMs = Math.min(this.#maxIntervalMs, pace.intervalMs * 2);
      setTimeout(created.start, Math.ceil(wait));
    } else {
      setImmediate(created.start);
    }
    return created.sent;
  }

  /** Send what is queued for `key` now, then run `close` (after it, in the transport's FIFO order). */
  close(key: string, close: () => Promise<void>): Promise<void> {
    // The batch's send is issued synchronously here, so the close is queued behind it.
    this.#batches.get(key)?.start();
    return close();
  }

  /** Connections with bytes waiting. */
  get size(): number {
    return this.#batches.size;
  }

  #create(key: string, first: Buffer, deliver: (data: Buffer) => Promise<void>): Batch {
    const chunks = [first];
    let started = false;
    let begin: () => void = () => undefined;
    const sent = new Promise<void>((resolve, reject) => {
      begin = () => {
        if (started) return;
        started = true;
        this.#batches.delete(key);
        this.#markSent(key);
        deliver(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks)).then(resolve, reject);
      };
    });
    const batch: Batch = { chunks, sent, start: () => begin() };
    this.#batches.set(key, batch);
    // Callers that do not await must not turn a delivery failure into an unhandled rejection.
    sent.catch(() => undefined);
    return batch;
  }

  #markSent(key: string): void {
    const sentAt = performance.now();
    const pace = this.#paces.get(key) ?? { sentAt, intervalMs: this.#intervalMs };
    pace.sentAt = sentAt;
    this.#paces.set(key, pace);
    // Idle for two intervals: forget it, so its next reply goes out at once with the base interval.
    setTimeout(() => {
      if (this.#paces.get(key)?.sentAt === sentAt) this.#paces.delete(key);
    }, 2 * pace.intervalMs).unref();
  }
}
