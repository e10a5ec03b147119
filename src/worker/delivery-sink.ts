/**
 * A request's own reply sink: frames what the app writes as Mongrel2 replies to its one connection and hands
 * them to the request's transport delivery. A class with methods rather than closures, so a request costs one
 * object here (the worker's hot path: every request opens one).
 * @module
 */
import type { Logger } from 'pino';
import type { ReplySink } from '../http/sink';
import type { WorkerObserver } from '../metrics/worker-observer';
import { encodeClose, encodeReply } from '../protocol/reply-writer';
import type { Delivery } from '../transport/transport';
import type { ReplyCoalescer } from './reply-coalescer';

/** What every sink of one runtime shares. */
export interface SinkContext {
  /** Told of replies that could not be handed over (bytes are counted once, by the app's sink). */
  readonly record: WorkerObserver;
  readonly logger: Logger;
  /** Batches WebSocket replies per connection (Mongrel2's 16-message delivery queue). */
  readonly coalescer: ReplyCoalescer;
}

/** Replies of one request to connection `connId` of `sender`, through `delivery`. */
export class DeliverySink implements ReplySink {
  readonly #ctx: SinkContext;
  readonly #delivery: Delivery;
  readonly #sender: string;
  readonly #connId: number;
  /** Set for WebSocket connections only: HTTP replies are single messages, socket messages must stay apart. */
  readonly #coalesceKey: string | undefined;
  #deliverBound: ((data: Buffer) => Promise<void>) | undefined;

  constructor(ctx: SinkContext, delivery: Delivery, sender: string, connId: number, coalesceKey: string | undefined) {
    this.#ctx = ctx;
    this.#delivery = delivery;
    this.#sender = sender;
    this.#connId = connId;
    this.#coalesceKey = coalesceKey;
  }

  async write(data: Buffer): Promise<void> {
    // An empty body would be Mongrel2's close message: never send one by accident.
    if (data.length === 0) return;
    if (this.#coalesceKey === undefined) return this.#deliver(data);
    this.#deliverBound ??= (d) => this.#deliver(d);
    return this.#ctx.coalescer.write(this.#coalesceKey, data, this.#deliverBound);
  }

  close(): Promise<void> {
    if (this.#coalesceKey === undefined) return this.#close();
    return this.#ctx.coalescer.close(this.#coalesceKey, () => this.#close());
  }

  /**
   * Async, so that an encoder or socket that throws synchronously still ends in this promise's rejection:
   * callers chain on it (sink.close().catch(...)) and must never see a throw instead.
   */
  async #deliver(data: Buffer): Promise<void> {
    try {
      await this.#send(encodeReply(this.#sender, [this.#connId], data));
    } catch (err) {
      this.#failed(err);
    }
  }

  async #close(): Promise<void> {
    try {
      await this.#send(encodeClose(this.#sender, [this.#connId]));
    } catch (err) {
      this.#failed(err);
    }
  }

  /** One frame per reply unless it goes to more than 128 connections (then the frames go out one by one). */
  async #send(frames: Buffer[]): Promise<void> {
    if (frames.length === 1) return this.#delivery.send(frames[0] as Buffer);
    for (const frame of frames) await this.#delivery.send(frame);
  }

  #failed(err: unknown): never {
    this.#ctx.record.sendFailure();
    this.#ctx.logger.error({ err, connId: this.#connId, server: this.#delivery.server }, 'reply not delivered');
    throw err;
  }
}
