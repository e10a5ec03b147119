/**
 * Mongrel2 forwards pipelined requests of one connection at once, under one connection id, and writes
 * replies in the order handlers send them (docs/mongrel2.md §3.7). So replies are ordered per
 * connection: a later request's bytes wait until every earlier request on that connection has finished.
 *
 * A request is reported settled (its transport `done()`: a dispatcher's DONE) only once every write and close it
 * made was handed over by the writer, not merely started: a writer may hold bytes back (WebSocket replies are
 * coalesced and paced per connection, `reply-coalescer.ts`), and a DONE that overtakes its request's reply makes
 * the dispatcher drop that reply as late (back-to-back WebSocket messages lost their echoes).
 * @module
 */
import type { ReplySink } from '../http/sink';


const RESOLVED = Promise.resolve();

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

/**
 * One request's place in its connection's reply queue, and the sink its replies go through: it writes to the
 * connection (`put`, `putClose`: the subclass's own framing and transport) while it is the connection's head
 * (oldest unfinished request) and buffers until then. One object per request does both (the worker's
 * `DeliverySink`), so a reply passes one worker layer, not an ordering wrapper around a framing one.
 */
export abstract class QueuedRequest implements OrderedSink {
  head = false;
  done = false;
  /** The connection's next request (the queue is a linked list: no array per connection and request). */
  next: QueuedRequest | undefined = undefined;
  /** What was written before this request became the head (allocated only then). */
  #buffered: Pending[] | undefined;
  /** Writes and closes handed to the connection whose promise has not settled yet. */
  #unsettled = 0;
  /** `release()` was called: tell `settled` once `#unsettled` is 0. */
  #released = false;
  #queue: OrderedReplies | undefined;
  #key = '';

  constructor(readonly settled: Settled | undefined) {}

  /** Write `data` to the connection now (this request is its head). */
  protected abstract put(data: Buffer): Promise<void>;
  /** Close the connection now, after what was put. */
  protected abstract putClose(): Promise<void>;

  /** Joined the queue of connection `key` (by {@link OrderedReplies.add}). */
  attach(queue: OrderedReplies, key: string): void {
    this.#queue = queue;
    this.#key = key;
  }

  write(data: Buffer): Promise<void> {
    if (this.head) return this.#track(this.put(data));
    (this.#buffered ??= []).push({ kind: 'write', data });
    return RESOLVED;
  }

  close(): Promise<void> {
    if (this.head) return this.#track(this.putClose());
    (this.#buffered ??= []).push({ kind: 'close' });
    return RESOLVED;
  }

  /** The request left the connection's queue: tell `settled` once everything it wrote was handed over. */
  release(): void {
    this.#released = true;
    if (this.#unsettled === 0) this.#settle();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.#queue?.finished(this.#key, this);
  }

  /** Becomes the head: flush what was buffered, in order. Errors surface through the writer's own reporting. */
  promote(): void {
    this.head = true;
    const buffered = this.#buffered;
    if (buffered === undefined) return;
    this.#buffered = undefined;
    for (const op of buffered) {
      void this.#track(op.kind === 'write' ? this.put(op.data) : this.putClose()).catch(() => undefined);
    }
  }

  #track(op: Promise<void>): Promise<void> {
    if (this.settled === undefined) return op;
    this.#unsettled += 1;
    // A rejected write is settled too (its failure was reported by the writer): the request is still done.
    op.then(this.#opSettled, this.#opSettled);
    return op;
  }

  /** One callback per request for all its writes (not two closures per write: this is the reply path). */
  readonly #opSettled = (): void => {
    this.#unsettled -= 1;
    if (this.#released && this.#unsettled === 0) this.#settle();
  };

  #settle(): void {
    const settled = this.settled;
    if (settled === undefined) return;
    this.#released = false;
    this.#unsettled = -1; // never again
    settled.done();
  }
}

/** A queued request whose connection is any {@link ReplySink}. */
class WriterRequest extends QueuedRequest {
  constructor(
    private readonly writer: ReplySink,
    settled: Settled | undefined,
  ) {
    super(settled);
  }

  protected put(data: Buffer): Promise<void> {
    return this.writer.write(data);
  }

  protected putClose(): Promise<void> {
    return this.writer.close();
  }
}

/** Per-connection FIFO of reply sinks. */
export class OrderedReplies {
  /** The head of each connection's queue (its oldest unfinished request). */
  readonly #queues = new Map<string, QueuedRequest>();

  /**
   * Open the sink of a new request on connection `key`. `settled.done()` is called once the request finished, its
   * replies left this queue (at `finish()` for the connection's head, later for a request that waited its turn)
   * and the writer settled every write and close of it.
   */
  open(key: string, writer: ReplySink, settled?: Settled): OrderedSink {
    return this.add(key, new WriterRequest(writer, settled));
  }

  /** Queue `request` (a new request's own sink) on connection `key`; `open` with the writing built in. */
  add<R extends QueuedRequest>(key: string, request: R): R {
    request.attach(this, key);
    let tail = this.#queues.get(key);
    if (tail === undefined) {
      this.#queues.set(key, request);
      request.promote();
      return request;
    }
    while (tail.next !== undefined) tail = tail.next;
    tail.next = request;
    return request;
  }

  /** Connections with at least one unfinished request. */
  get size(): number {
    return this.#queues.size;
  }

  /** `queued` finished (its `finish()`): hand the connection to the next request once it is the head. */
  finished(key: string, queued: QueuedRequest): void {
    if (this.#queues.get(key) !== queued) return; // a later request finished early: it waits its turn
    queued.release();
    for (let next = queued.next; next !== undefined; next = next.next) {
      this.#queues.set(key, next);
      next.promote();
      if (!next.done) return;
      next.release();
    }
    this.#queues.delete(key);
  }
}
