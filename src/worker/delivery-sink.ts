/**
 * A request's own reply sink: frames what the app writes as Mongrel2 replies to its one connection and hands
 * them to the request's transport delivery. A class with methods rather than closures, so a request costs one
 * object here (the worker's hot path: every request opens one).
 * @module
 */
import type { Logger } from 'pino';
import type { WorkerObserver } from '../metrics/worker-observer';
import { encodeClose, encodeReply } from '../protocol/reply-writer';
import type { Delivery } from '../transport/transport';
import { QueuedRequest } from './ordered-replies';
import type { ReplyCoalescer } from './reply-coalescer';

const RESOLVED = Promise.resolve();

/** What every sink of one runtime shares. */
export interface SinkContext {
  /** Told of replies that could not be handed over (bytes are counted once, by the app's sink). */
  readonly record: WorkerObserver;
  readonly logger: Logger;
  /** Batches WebSocket replies per connection (Mongrel2's 16-message delivery queue). */
  readonly coalescer: ReplyCoalescer;
}

/**
 * Replies of one request to connection `connId` of `sender`, through `delivery`, in the connection's request order
 * (its place in the reply queue is this object: `QueuedRequest`); `delivery.done()` once they were handed over.
 */
export class DeliverySink extends QueuedRequest {
  readonly #ctx: SinkContext;
  readonly #delivery: Delivery;
  readonly #sender: string;
  readonly #connId: number;
  /** Set for WebSocket connections only: HTTP replies are single messages, socket messages must stay apart. */
  readonly #coalesceKey: string | undefined;
  #deliverBound: ((data: Buffer) => Promise<void>) | undefined;

  constructor(ctx: SinkContext, delivery: Delivery, sender: string, connId: number, coalesceKey: string | undefined) {
    super(delivery);
    this.#ctx = ctx;
    this.#delivery = delivery;
    this.#sender = sender;
    this.#connId = connId;
    this.#coalesceKey = coalesceKey;
  }

  protected put(data: Buffer): Promise<void> {
    // An empty body would be Mongrel2's close message: never send one by accident.
    if (data.length === 0) return RESOLVED;
    if (this.#coalesceKey === undefined) return this.#deliver(data);
    this.#deliverBound ??= (d) => this.#deliver(d);
    return this.#ctx.coalescer.write(this.#coalesceKey, data, this.#deliverBound);
  }

  protected putClose(): Promise<void> {
    if (this.#coalesceKey === undefined) return this.#close();
    return this.#ctx.coalescer.close(this.#coalesceKey, () => this.#close());
  }

  #deliver(data: Buffer): Promise<void> {
    return this.#reported(() => encodeReply(this.#sender, [this.#connId], data));
  }

  #close(): Promise<void> {
    return this.#reported(() => encodeClose(this.#sender, [this.#connId]));
  }

  /**
   * Encode and send, as one promise: an encoder or socket that throws synchronously still ends in its rejection
   * (callers chain on it, `sink.close().catch(...)`, and must never see a throw instead), and a failure is
   * counted and logged before it rejects. Not `async`: the common case costs the transport's promise and one more.
   */
  #reported(encode: () => Buffer[]): Promise<void> {
    let sent: Promise<void>;
    try {
      const frames = encode();
      // One frame per reply unless it goes to more than 128 connections (then the frames go out one by one).
      sent = frames.length === 1 ? this.#delivery.send(frames[0] as Buffer) : this.#sendEach(frames);
    } catch (err) {
      sent = Promise.reject(err);
    }
    return sent.catch((err: unknown) => this.#failed(err));
  }

  async #sendEach(frames: Buffer[]): Promise<void> {
    for (const frame of frames) await this.#delivery.send(frame);
  }

  #failed(err: unknown): never {
    this.#ctx.record.sendFailure();
    this.#ctx.logger.error({ err, connId: this.#connId, server: this.#delivery.server }, 'reply not delivered');
    throw err;
  }
}
