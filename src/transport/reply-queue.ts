/**
 * One writer per socket (zeromq.js allows a single pending send): replies are queued and handed to the socket
 * in order. A send that the socket refuses (XPUB with noDrop at its high-water mark answers EAGAIN) is retried
 * with a short back-off until the send timeout, then rejected — never dropped silently
 * (zeromq-semantics.md §3.3).
 * @module
 */
import { ErrorCode, M2PoolError } from '../errors';

/** The socket operation the queue drives. */
export type SendFrame = (frame: Buffer) => Promise<void>;

/** Waits until the peer can take replies (e.g. Mongrel2 subscribed); rejects after the given time. */
export type AwaitWritable = (timeoutMs: number) => Promise<void>;

const RETRY_DELAYS_MS = [0, 1, 2, 5, 10, 20, 50] as const;

function isEagain(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EAGAIN';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

/** Serialises sends on one socket. */
export class ReplyQueue {
  readonly #send: SendFrame;
  readonly #awaitWritable: AwaitWritable;
  readonly #timeoutMs: number;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(send: SendFrame, awaitWritable: AwaitWritable, timeoutMs: number) {
    this.#send = send;
    this.#awaitWritable = awaitWritable;
    this.#timeoutMs = timeoutMs;
  }

  /** Frames queued and not yet handed to the socket. */
  get pending(): number {
    return this.#pending;
  }

  /** Queue a frame; the promise settles when this frame was handed over (or failed). */
  enqueue(frame: Buffer): Promise<void> {
    this.#pending += 1;
    const result = this.#tail.then(() => this.#deliver(frame));
    // The chain must survive a failed send: the next frame still goes out.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.#pending -= 1;
    });
  }

  /** Resolves when everything queued so far has been handed over or failed. */
  drained(): Promise<void> {
    return this.#tail;
  }

  async #deliver(frame: Buffer): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    await this.#awaitWritable(this.#timeoutMs);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#send(frame);
        return;
      } catch (err) {
        if (!isEagain(err) || Date.now() >= deadline) {
          throw new M2PoolError(ErrorCode.SEND_FAILED, `reply not sent after ${attempt + 1} attempts`, { cause: err });
        }
      }
      await delay(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)] ?? 50);
    }
  }
}
