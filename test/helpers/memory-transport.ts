/**
 * An in-memory {@link Transport} with one link, for driving a `WorkerRuntime` in unit tests: `push` queues a
 * request frame, `sent` collects reply frames, `failSend` makes the next sends throw (synchronously or by
 * rejecting) the way a broken encoder or socket would.
 */
import type { Link, Transport } from '../../src/transport/transport';

/** How `send` misbehaves: not at all, by throwing before it returns a promise, or by rejecting. */
export type SendFault = 'none' | 'throw' | 'reject';

export class MemoryTransport implements Transport {
  readonly sent: Buffer[] = [];
  fault: SendFault = 'none';
  readonly #queue: Buffer[] = [];
  #waiter: ((frame: Buffer | null) => void) | undefined;
  #stopped = false;
  readonly #sentWaiters: Array<{ count: number; resolve: () => void }> = [];

  readonly links: readonly Link[] = [
    {
      name: 'memory',
      receive: (): Promise<Buffer | null> => {
        if (this.#stopped) return Promise.resolve(null);
        const next = this.#queue.shift();
        if (next !== undefined) return Promise.resolve(next);
        return new Promise((resolve) => (this.#waiter = resolve));
      },
      send: (frame: Buffer): Promise<void> => {
        if (this.fault === 'throw') throw new Error('send threw synchronously');
        if (this.fault === 'reject') return Promise.reject(new Error('send rejected'));
        this.sent.push(frame);
        for (const w of [...this.#sentWaiters]) {
          if (this.sent.length >= w.count) {
            this.#sentWaiters.splice(this.#sentWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
        return Promise.resolve();
      },
      stopReceiving: (): void => {
        this.#stopped = true;
        this.#waiter?.(null);
        this.#waiter = undefined;
      },
    },
  ];

  /** Queue one inbound frame (delivered to a pending receive at once). */
  push(frame: Buffer): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) waiter(frame);
    else this.#queue.push(frame);
  }

  /** Resolves once at least `count` frames were sent. */
  whenSent(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#sentWaiters.push({ count, resolve }));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  connectedCount(): number {
    return 1;
  }

  close(): Promise<void> {
    this.links[0]?.stopReceiving();
    return Promise.resolve();
  }
}
