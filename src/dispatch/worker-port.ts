/**
 * The dispatcher's socket towards workers: one ROUTER (workers connect DEALERs), with
 * - `ROUTER_NOTIFY` (draft option 97) set to "disconnect": libzmq hands us an empty message from a peer's
 *   routing id the moment its connection goes, so a dead worker is seen at once (docs/zeromq.md §3.4);
 * - `mandatory`: a send to a peer that is gone fails instead of vanishing;
 * - one batch per worker per event-loop turn (everything queued for it in this turn goes in one multipart), and
 *   consecutive EVENTS messages to one worker merged into one (a disconnect event per closed client connection
 *   would otherwise cost a send each), the order of everything sent to each worker unchanged;
 * - one writer: zeromq.js allows one pending send per socket, so messages are queued and sent in order.
 * It decodes what workers send and passes it to a {@link WorkerPortHandler}; it makes no decisions.
 * @module
 */
import { Router } from 'zeromq';
import { BatchWriter, Command, commandFrame, jsonFrame, readBatch, toDispatcherHasPayload, type BatchVisitor } from '../protocol/dispatch-wire';
import { alwaysPayload } from '../protocol/push-wire';

/** libzmq's ZMQ_ROUTER_NOTIFY option and its "notify on disconnect" flag (zmq_draft.h). */
const ZMQ_ROUTER_NOTIFY = 97;
const ZMQ_NOTIFY_DISCONNECT = 2;

/** A ROUTER that reports peer disconnects (the option setter is protected in zeromq.js: set it from a subclass). */
class NotifyingRouter extends Router {
  constructor(options: ConstructorParameters<typeof Router>[0]) {
    super(options);
    this.setInt32Option(ZMQ_ROUTER_NOTIFY, ZMQ_NOTIFY_DISCONNECT);
  }
}

/** A worker's messages being filled this turn (at most one of the two has entries). */
interface Pending {
  readonly address: Buffer;
  readonly writer: BatchWriter;
  readonly events: BatchWriter;
}

/** What the port reports; the dispatcher decides. */
export interface WorkerPortHandler {
  /** A worker's connection is gone (ROUTER_NOTIFY). */
  disconnected(key: string): void;
  /** A message from a worker; `frames[0]` is its command frame. Entries of a batch are walked with `readEntries`. */
  message(key: string, address: Buffer, command: number, frames: readonly Buffer[]): void;
  /** A send to this worker failed (it is gone or not reading). */
  unreachable(key: string, err: unknown): void;
}

/** CURVE server settings for a tcp endpoint. */
export interface CurveServerKeys {
  /** Z85 secret key of the dispatcher. */
  readonly secretKey: string;
}

/** Settings of a {@link WorkerPort}. */
export interface WorkerPortOptions {
  readonly endpoint: string;
  readonly curve?: CurveServerKeys | undefined;
  /** Where the port counts the batches it sends. */
  readonly counters: { batchesOut: number };
  /** ZeroMQ's maximum message size of the ROUTER (`--max-message-bytes`): a bigger frame disconnects its sender. */
  readonly maxMessageBytes?: number | undefined;
}

/** The ROUTER socket towards workers. */
export class WorkerPort {
  readonly #router: Router;
  readonly #endpoint: string;
  readonly #handler: WorkerPortHandler;
  /**
   * What is being filled this turn, by worker key: its request batch, or its EVENTS message; never both at once
   * (adding to one sends the other first), so each worker gets everything in the order it was produced.
   */
  readonly #batches = new Map<string, Pending>();
  readonly #dirty: string[] = [];
  /** Resolved once the outbox is empty and no send is in progress (see {@link flushed}). */
  #idle: Array<() => void> = [];
  #flushScheduled = false;
  readonly #outbox: Buffer[][] = [];
  #sending = false;
  #closed = false;
  readonly #flush = (): void => this.#flushBatches();
  readonly #counters: { batchesOut: number };

  constructor(options: WorkerPortOptions, handler: WorkerPortHandler) {
    this.#endpoint = options.endpoint;
    this.#handler = handler;
    this.#counters = options.counters;
    this.#router = new NotifyingRouter({
      mandatory: true,
      linger: 1_000,
      // A worker is sent at most its slots per batch; a peer this far behind is not reading (hung): it is
      // reported unreachable rather than blocking the sends to every other worker.
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      sendTimeout: 0,
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageSize: options.maxMessageBytes }),
      ...(options.curve === undefined ? {} : { curveServer: true, curveSecretKey: options.curve.secretKey }),
    });
  }

  /** The endpoint workers connect to. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** The socket's monitor events (handshake failures of workers with a wrong key are logged from here). */
  get events(): Router['events'] {
    return this.#router.events;
  }

  /** Bind and start reading. */
  async start(): Promise<void> {
    await this.#router.bind(this.#endpoint);
    void this.#readLoop();
  }

  /** Queue a request or notice entry into this turn's batch for the worker at `address`. */
  add(key: string, address: Buffer, tag: number, id: number, server: number, payload: Buffer): void {
    const batch = this.#pending(key, address);
    if (batch.events.entries > 0) this.#queue([address, ...batch.events.take(Command.EVENTS)]);
    batch.writer.add(tag, id, server, payload);
  }

  /**
   * Queue an EVENTS message (`frames` = its command, index and data frames) for the worker at `address`: it joins
   * the EVENTS entries queued for that worker since its last request, and leaves at the end of the turn.
   */
  addEvents(key: string, address: Buffer, frames: readonly Buffer[]): void {
    const batch = this.#eventsOf(key, address);
    // The frames come from the dispatcher's own writer: well formed.
    readBatch(frames, 0, alwaysPayload, (tag, id, server, payload) => batch.events.add(tag, id, server, payload));
  }

  /** {@link addEvents} for one entry (server 0). */
  addEvent(key: string, address: Buffer, tag: number, id: number, payload: Buffer): void {
    this.#eventsOf(key, address).events.add(tag, id, 0, payload);
  }

  /** The worker's pending messages, its request batch sent first if it has one (it came before these events). */
  #eventsOf(key: string, address: Buffer): Pending {
    const batch = this.#pending(key, address);
    if (batch.writer.entries > 0) {
      this.#counters.batchesOut += 1;
      this.#queue([address, ...batch.writer.take()]);
    }
    return batch;
  }

  #pending(key: string, address: Buffer): Pending {
    let batch = this.#batches.get(key);
    if (batch === undefined) {
      batch = { address, writer: new BatchWriter(), events: new BatchWriter() };
      this.#batches.set(key, batch);
    }
    if (batch.writer.entries === 0 && batch.events.entries === 0) this.#dirty.push(key);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
    return batch;
  }

  /** Send a control message (a command and an optional JSON body) now, after the batches queued so far. */
  control(address: Buffer, command: number, body?: object): void {
    this.#flushBatches();
    this.#queue(body === undefined ? [address, commandFrame(command)] : [address, commandFrame(command), jsonFrame(body)]);
  }

  /** Send a whole message (its frames after the address) now, after the batches queued so far. */
  send(address: Buffer, frames: readonly Buffer[]): void {
    this.#flushBatches();
    this.#queue([address, ...frames]);
  }

  /** Forget a worker's batch state (it is gone). */
  forget(key: string): void {
    this.#batches.delete(key);
  }

  /** Walk the entries of a worker's batch. Returns an error text for a malformed one. */
  readEntries(frames: readonly Buffer[], visit: BatchVisitor): string | undefined {
    return readBatch(frames, 0, toDispatcherHasPayload, visit);
  }

  /** Resolves once everything queued was handed to the socket (or the port closed). */
  flushed(): Promise<void> {
    this.#flushBatches();
    if ((!this.#sending && this.#outbox.length === 0) || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#router.close();
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    for (const wake of this.#idle.splice(0)) wake();
  }

  #flushBatches(): void {
    this.#flushScheduled = false;
    for (const key of this.#dirty) {
      const batch = this.#batches.get(key);
      if (batch === undefined) continue;
      if (batch.writer.entries > 0) {
        this.#counters.batchesOut += 1;
        this.#queue([batch.address, ...batch.writer.take()]);
      } else if (batch.events.entries > 0) {
        this.#queue([batch.address, ...batch.events.take(Command.EVENTS)]);
      }
    }
    this.#dirty.length = 0;
  }

  #queue(message: Buffer[]): void {
    if (this.#closed) return;
    this.#outbox.push(message);
    if (!this.#sending) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      for (let message = this.#outbox.shift(); message !== undefined; message = this.#outbox.shift()) {
        try {
          await this.#router.send(message);
        } catch (err) {
          if (this.#closed) return;
          const address = message[0] as Buffer;
          this.#handler.unreachable(address.toString('latin1'), err);
        }
      }
    } finally {
      this.#sending = false;
      if (this.#outbox.length === 0) this.#wakeIdle();
    }
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.#router.receive();
      } catch (err) {
        if (this.#closed || this.#router.closed) return;
        throw err;
      }
      const address = frames[0];
      const command = frames[1];
      if (address === undefined || command === undefined) continue;
      const key = address.toString('latin1');
      if (command.length === 0 && frames.length === 2) {
        this.#handler.disconnected(key);
        continue;
      }
      this.#handler.message(key, address, command.length === 1 ? (command[0] as number) : -1, frames.slice(1));
    }
  }
}

