/**
 * One writer per socket (zeromq.js allows a single pending send): replies are queued and handed to the socket
 * in order, in batches. A send that the socket refuses (XPUB with noDrop at its high-water mark answers EAGAIN) is retried
 * with a short back-off until the send timeout, then rejected — never dropped silently
 * (docs/zeromq.md §3.3).
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

/** Told when a posted frame could not be handed to the socket (see {@link ReplyQueue.post}). */
export type SendFailed = (err: unknown) => void;

function ignore(): void {}

/** A frame waiting for the socket, and how its sender is told the outcome. */
interface Queued {
  readonly frame: Buffer;
  /** Epoch ms after which the frame fails (enqueue time + send timeout). */
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: SendFailed;
}

/**
 * Serialises sends on one socket, in batches: the first frame queued schedules a flush for when the current
 * work (this tick's callbacks and promise jobs) is done, and the flush hands over every frame queued by then,
 * back to back. Replies sent back to back cost ZeroMQ one wake-up of its I/O thread, and Mongrel2 one read,
 * instead of one each: `npm run bench -- --only workers-1` measured 27.5k → 30.6k req/s and 20% less CPU per
 * request (Mongrel2's included) against sending each reply the moment it was ready.
 */
export class ReplyQueue {
  readonly #send: SendFrame;
  readonly #writable: Writability;
  readonly #timeoutMs: number;
  #queue: Queued[] = [];
  /** Frames queued and not yet settled (the one being sent included). */
  #pending = 0;
  #flushing = false;
  #drainWaiters: Array<() => void> = [];
  readonly #startFlush = (): void => {
    void this.#flush();
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
    return new Promise<void>((resolve, reject) => this.#push(frame, resolve, reject));
  }

  /**
   * Queue a frame whose sender does not wait for it: `onFailed` is called if it cannot be handed over. No promise
   * and no closure per frame — the dispatcher forwards every reply this way (its CPU per request: README, Benchmarks).
   */
  post(frame: Buffer, onFailed: SendFailed): void {
    this.#push(frame, ignore, onFailed);
  }

  #push(frame: Buffer, resolve: () => void, reject: SendFailed): void {
    this.#queue.push({ frame, deadline: Date.now() + this.#timeoutMs, resolve, reject });
    this.#pending += 1;
    if (!this.#flushing) {
      this.#flushing = true;
      process.nextTick(this.#startFlush);
    }
  }

  /** Resolves when every frame queued has been handed over or failed. */
  drained(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  async #flush(): Promise<void> {
    try {
      // Frames queued while this runs join the same batch.
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
        try {
          // Inline, not a helper: the common case (writable, taken at once) then awaits only the socket's promise.
          if (!this.#writable.now()) await this.#writable.wait(Math.max(0, item.deadline - Date.now()));
          try {
            await this.#sendNow(item.frame);
          } catch (err) {
            await this.#retry(item.frame, err, 1, item.deadline);
          }
          item.resolve();
        } catch (err) {
          // A failed frame must not stop the next one.
          item.reject(err);
        } finally {
          this.#pending -= 1;
        }
      }
    } finally {
      this.#flushing = false;
      for (const wake of this.#drainWaiters.splice(0)) wake();
    }
  }

  /** `send`, with a synchronous throw (e.g. a closed socket) turned into a rejection. */
  #sendNow(frame: Buffer): Promise<void> {
    try {
      return this.#send(frame);
    } catch (err) {
      return Promise.reject(err);
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
