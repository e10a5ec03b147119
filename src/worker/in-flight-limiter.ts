/**
 * Caps requests in flight. The receive loops take a slot before reading, so at the cap the worker stops
 * reading and back-pressure builds in ZeroMQ instead of in the worker's memory.
 * @module
 */

/** A counting semaphore with FIFO waiters. */
export class InFlightLimiter {
  readonly #capacity: number;
  #used = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.#capacity = capacity;
  }

  /** Slots taken right now. */
  get used(): number {
    return this.#used;
  }

  /** Takes a slot if one is free (no promise: the read loop's common case). */
  tryAcquire(): boolean {
    if (this.#used >= this.#capacity) return false;
    this.#used += 1;
    return true;
  }

  /** Resolves when a slot is free, and takes it. */
  acquire(): Promise<void> {
    if (this.#used < this.#capacity) {
      this.#used += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Give a slot back (hands it straight to the oldest waiter, if any). */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#used -= 1;
  }
}
