/**
 * Mongrel2 forwards pipelined requests of one connection at once, under one connection id, and writes
 * replies in the order handlers send them (docs/mongrel2.md §3.7). So replies are ordered per
 * connection: a later request's bytes wait until every earlier request on that connection has finished.
 * @module
 */
import type { ReplySink } from '../http/sink';


type Pending = { readonly kind: 'write'; readonly data: Buffer } | { readonly kind: 'close' };

/** Told once a request finished and every reply byte it wrote was handed to the writer (a transport `Delivery`). */
export interface Settled {
  done(): void;
}

/** A reply sink that knows when its request is finished. */
export interface OrderedSink extends ReplySink {
  /** The request finished: flush whatever later requests on the same connection buffered. */
  finish(): void;
}

class Slot implements OrderedSink {
  head = false;
  done = false;
  readonly buffered: Pending[] = [];
  constructor(
    private readonly writer: ReplySink,
    private readonly onFinish: (slot: Slot) => void,
    readonly settled: Settled | undefined,
  ) {}

  write(data: Buffer): Promise<void> {
    if (this.head) return this.writer.write(data);
    this.buffered.push({ kind: 'write', data });
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.head) return this.writer.close();
    this.buffered.push({ kind: 'close' });
    return Promise.resolve();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.onFinish(this);
  }

  /** Becomes the head: flush what was buffered, in order. Errors surface through the writer's own reporting. */
  promote(): void {
    this.head = true;
    for (const op of this.buffered.splice(0)) {
      void (op.kind === 'write' ? this.writer.write(op.data) : this.writer.close()).catch(() => undefined);
    }
  }
}

/** Per-connection FIFO of reply sinks. */
export class OrderedReplies {
  readonly #queues = new Map<string, Slot[]>();

  /**
   * Open the sink of a new request on connection `key`. `settled.done()` is called once the request finished and
   * its replies left this queue: at `finish()` for the connection's head, later for a request that waited its turn.
   */
  open(key: string, writer: ReplySink, settled?: Settled): OrderedSink {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(key, queue);
    }
    const slot = new Slot(writer, (s) => this.#finished(key, s), settled);
    queue.push(slot);
    if (queue.length === 1) slot.promote();
    return slot;
  }

  /** Connections with at least one unfinished request. */
  get size(): number {
    return this.#queues.size;
  }

  #finished(key: string, slot: Slot): void {
    const queue = this.#queues.get(key);
    if (queue === undefined || queue[0] !== slot) return; // a later slot finished early: it waits its turn
    queue.shift();
    slot.settled?.done();
    while (queue.length > 0) {
      const next = queue[0] as Slot;
      next.promote();
      if (!next.done) return;
      queue.shift();
      next.settled?.done();
    }
    this.#queues.delete(key);
  }
}
