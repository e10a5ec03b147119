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

/** Whether the peer can take replies now (e.g. Mongrel2 subscribed), and a way to wait until it can. */
export interface Writability {
  now(): boolean;
  /** Resolves once writable; rejects after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void>;
}

const RETRY_DELAYS_MS = [0, 1, 2, 5, 10, 20, 50] as const;

function isEagain(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EAGAIN';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

const NOOP = (): void => undefined;

/**
 * Serialises sends on one socket. The common case, nothing queued and the peer writable, hands the frame to
 * the socket at once: zeromq.js completes such a send synchronously, so a reply costs one promise, not a chain
 * (the chain showed up as a measurable share of a worker's CPU in `npm run bench -- --profile`).
 */
export class ReplyQueue {
  readonly #send: SendFrame;
  readonly #writable: Writability;
  readonly #timeoutMs: number;
  /** The promise of the newest frame; settles after every earlier one. */
  #last: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #settled = (): void => {
    this.#pending -= 1;
  };
  readonly #failed = (err: unknown): never => {
    this.#pending -= 1;
    throw err;
  };

  constructor(send: SendFrame, writable: Writability, timeoutMs: number) {
    this.#send = send;
    this.#writable = writable;
    this.#timeoutMs = timeoutMs;
  }

  /** Frames queued and not yet handed to the socket. */
  get pending(): number {
    return this.#pending;
  }

  /** Queue a frame; the promise settles when this frame was handed over (or failed). */
  enqueue(frame: Buffer): Promise<void> {
    const idle = this.#pending === 0;
    this.#pending += 1;
    let handedOver: Promise<void>;
    if (idle && this.#writable.now()) {
      const deadline = Date.now() + this.#timeoutMs;
      handedOver = this.#sendNow(frame).catch((err: unknown) => this.#retry(frame, err, 1, deadline));
    } else {
      // After the previous frame, whatever became of it: a failed send must not stop the next one.
      const deliver = (): Promise<void> => this.#deliver(frame);
      handedOver = this.#last.then(deliver, deliver);
    }
    const result = handedOver.then(this.#settled, this.#failed);
    this.#last = result;
    return result;
  }

  /** Resolves when everything queued so far has been handed over or failed. */
  drained(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : this.#last.then(NOOP, NOOP);
  }

  /** `send`, with a synchronous throw (e.g. a closed socket) turned into a rejection. */
  #sendNow(frame: Buffer): Promise<void> {
    try {
      return this.#send(frame);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #deliver(frame: Buffer): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    if (!this.#writable.now()) await this.#writable.wait(this.#timeoutMs);
    try {
      await this.#send(frame);
    } catch (err) {
      await this.#retry(frame, err, 1, deadline);
    }
  }

  /** The socket refused `frame` (`attempts` times so far): retry after a back-off while it answers EAGAIN. */
  async #retry(frame: Buffer, firstError: unknown, attempts: number, deadline: number): Promise<void> {
    let err = firstError;
    for (let attempt = attempts; ; attempt += 1) {
      if (!isEagain(err) || Date.now() >= deadline) {
        throw new M2PoolError(ErrorCode.SEND_FAILED, `reply not sent after ${attempt} attempts`, { cause: err });
      }
      await delay(RETRY_DELAYS_MS[Math.min(attempt - 1, RETRY_DELAYS_MS.length - 1)] ?? 50);
      try {
        await this.#send(frame);
        return;
      } catch (next) {
        err = next;
      }
    }
  }
}
