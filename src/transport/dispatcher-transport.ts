/**
 * The dispatch topology, worker side: one DEALER connected to the pool's dispatcher (docs/dispatch-protocol.md).
 * The worker says HELLO with its capacity on every (re)connection and is sent at most that many requests at once;
 * replies and completions go back batched (one message per event-loop turn); PING comes from the event loop, so
 * a blocked loop stops pinging and the dispatcher rescues its requests. `stopReceiving()` sends LEAVE and keeps
 * handing out what the dispatcher had already sent until it answers LEFT: a graceful leave loses nothing.
 * @module
 */
import { Dealer } from 'zeromq';
import { ErrorCode, M2PoolError } from '../errors';
import {
  BatchWriter,
  Command,
  commandFrame,
  intField,
  jsonFrame,
  parseJsonFrame,
  readBatch,
  requestConnection,
  Tag,
  toWorkerHasPayload,
  WIRE_VERSION,
} from '../protocol/dispatch-wire';
import { HandoverStore } from './handover-store';
import { LinkSet } from './link-set';
import { reconnectAfterRefusal } from './refusal-watch';
import { HubChannel } from './push-channel';
import { alwaysPayload } from '../protocol/push-wire';
import type { Delivery, Link } from './transport';

/** CURVE client keys (Z85) for a `tcp://` dispatcher. */
export interface CurveClientKeys {
  /** The dispatcher's public key. */
  readonly serverKey: string;
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Settings of a {@link DispatcherTransport}. */
export interface DispatcherTransportOptions {
  /** The dispatcher's worker endpoint, e.g. `ipc:///run/m2pool/dispatch.sock` or `tcp://10.0.0.5:9899`. */
  readonly endpoint: string;
  /** Requests this worker takes at once (its credit): the worker's `maxInFlight`. */
  readonly capacity: number;
  /** How long one batch of replies may wait for the socket before its sends reject. */
  readonly sendTimeoutMs: number;
  readonly curve?: CurveClientKeys | undefined;
  /** Pool slot and generation, when forked by a supervisor (reported in HELLO, used as a metric label). */
  readonly slot?: number | undefined;
  readonly generation?: number | undefined;
  /** Longest wait for LEFT after LEAVE before the link gives up on the dispatcher. @default 5000 */
  readonly leaveTimeoutMs?: number | undefined;
  /** Told what the link does about a vanished dispatcher (for the worker's log). */
  readonly onHandover?: ((report: HandoverReport) => void) | undefined;
  /**
   * ZeroMQ's maximum message size of the DEALER: a batch of at most `capacity` requests (`dispatcherBatchBytes`,
   * `config/message-limits.ts`). A peer sending more is disconnected before anything is allocated. Absent: none.
   */
  readonly maxMessageBytes?: number | undefined;
  /** ZeroMQ refused a message over `maxMessageBytes` from the dispatcher (the link reconnects by itself). */
  readonly onRefused?: (linkName: string) => void;
}

/** What a worker's link did about a dispatcher that vanished (docs/dispatch-protocol.md, "Dispatcher crash"). */
export type HandoverReport =
  /** The connection dropped without a GOODBYE: the replies of `requests` (in progress or waiting) are kept. */
  | { readonly event: 'dispatcher.vanished'; readonly instance: string; readonly requests: number }
  /** A HANDOVER went to instance `to`; `dropped`: replies refused by the bounds or aged out so far. */
  | { readonly event: 'handover.sent'; readonly to: string; readonly entries: number; readonly dropped: number };

/** A request from the dispatcher: completion and retry hints go back as batch entries. */
class RequestDelivery implements Delivery {
  #done = false;
  /** Not every reply frame could be kept for a hand-over: its connection must be closed. */
  broken = false;
  /** The dispatcher instance its hold was announced to in a HANDOVER. */
  announcedTo: string | undefined;
  /** A reply frame of it went out to a live registration (the dead dispatcher may have forwarded it, or not). */
  sentLive = false;
  constructor(
    readonly frame: Buffer,
    readonly server: number,
    readonly id: number,
    readonly link: DispatcherLink,
    /** The dispatcher instance that sent it (undefined for a dispatcher that names none). */
    readonly instance: string | undefined,
  ) {}

  send(frame: Buffer): Promise<void> {
    return this.link.replyFor(this, frame);
  }

  retryable(allowed: boolean): void {
    this.link.entry(allowed ? Tag.RETRY_YES : Tag.RETRY_NO, this.id, this.server);
  }

  get dispatchNumber(): number {
    return this.id;
  }

  done(): void {
    if (this.#done) return;
    this.#done = true;
    this.link.completedFor(this);
  }
}

/** A disconnect notice routed to us: it holds no credit, so `done()` sends nothing. */
class NoticeDelivery implements Delivery {
  constructor(
    readonly frame: Buffer,
    readonly server: number,
    readonly link: DispatcherLink,
  ) {}

  send(frame: Buffer): Promise<void> {
    return this.link.reply(0, this.server, frame);
  }

  retryable(): void {}

  done(): void {}
}

/** Reply bytes that may wait for the socket before senders are held back (see `DispatcherLink.reply`). */
const EAGER_BYTES = 1 << 20;
const RESOLVED = Promise.resolve();

/** The batch being filled this turn, and the promise its replies' senders hold. */
interface OutgoingBatch {
  readonly writer: BatchWriter;
  /** Reply payload bytes in it. */
  bytes: number;
  promise: Promise<void> | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newBatch(): OutgoingBatch {
  return { writer: new BatchWriter(), bytes: 0, promise: undefined, resolve: () => undefined, reject: () => undefined };
}

/** The one link of a dispatch-topology worker. */
export class DispatcherLink implements Link {
  readonly name: string;
  readonly #dealer: Dealer;
  readonly #opts: DispatcherTransportOptions;
  readonly #buffered: Delivery[] = [];
  #waiter: ((d: Delivery | null) => void) | undefined;
  #connected = false;
  #welcomed = false;
  #helloSent = false;
  #dispatcherReady = false;
  #receiving = true;
  /** LEFT received (or given up waiting): nothing more will come. */
  #left = false;
  #closed = false;
  #leaveTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #authError: string | undefined;
  /** The dispatcher's `--max-message-bytes` (from WELCOME; 0 = not told): batches stay below it. */
  #peerLimit = 0;
  /** Deliveries handed to the runtime and not done. */
  #active = 0;
  #batch = newBatch();
  #flushScheduled = false;
  readonly #outbox: Array<{ frames: Buffer[]; batch: OutgoingBatch | undefined }> = [];
  #sending = false;
  /** Reply bytes queued and not yet handed to the socket. */
  #unsentBytes = 0;
  /** Woken when the outbox is empty and nothing is being sent (see {@link #whenSent}). */
  readonly #sentWaiters = new Set<() => void>();
  readonly #waiters = new Set<() => void>();
  readonly #onReadyChange: (ready: boolean) => void;
  #wasReady = false;
  readonly #flush = (): void => this.#flushBatch();
  /** PUSH entries of this turn. At most one of this and `#batch` holds entries: see `#pushEntry`. */
  #pushBatch = newBatch();
  /** `app.push` through the dispatcher. */
  readonly pushes = new HubChannel({ push: (tag, id, payload) => this.#pushEntry(tag, id, payload) });
  // --- dispatcher crash (docs/dispatch-protocol.md, "Dispatcher crash") ---
  /** The instance of the dispatcher of the current registration (its WELCOME). */
  #instance: string | undefined;
  /** The last instance that said GOODBYE (it answered what it gave us: nothing of it is handed over). */
  #goodbyeFrom: string | undefined;
  /** Instances whose connection dropped without a GOODBYE: their requests' replies are kept for a successor. */
  readonly #vanished = new Set<string>();
  /** Requests handed to the runtime and not done (to announce the held ones of a vanished dispatcher). */
  readonly #inProgress = new Set<RequestDelivery>();
  readonly #handover = new HandoverStore();
  #handoverScheduled = false;
  /** Entries handed over to a successor dispatcher, since start. */
  handedOver = 0;

  constructor(options: DispatcherTransportOptions, onReadyChange: (ready: boolean) => void) {
    this.#opts = options;
    this.name = `dispatcher ${options.endpoint}`;
    this.#onReadyChange = onReadyChange;
    const curve = options.curve;
    this.#dealer = new Dealer({
      linger: 0,
      sendTimeout: options.sendTimeoutMs,
      reconnectInterval: 100,
      reconnectMaxInterval: 250,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageSize: options.maxMessageBytes }),
      ...(curve === undefined ? {} : { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    });
    this.#dealer.events.on('handshake', () => this.#onConnected());
    this.#dealer.events.on('disconnect', () => this.#onDisconnected());
    this.#dealer.events.on('handshake:error:auth', () => {
      this.#authError = 'the dispatcher refused our CURVE key (is its public key in the dispatcher\'s authorized directory?)';
      this.#notify();
    });
    this.#dealer.connect(options.endpoint);
    reconnectAfterRefusal(this.#dealer, options.endpoint, () => options.onRefused?.(this.name));
    void this.#readLoop();
  }

  /** Connected, welcomed, and the dispatcher has its Mongrel2 servers. */
  get ready(): boolean {
    return this.#connected && this.#welcomed && this.#dispatcherReady && !this.#closed;
  }

  /** Resolves once `ready`; rejects after `timeoutMs`, or at once if the dispatcher refused our key. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.ready) finish(undefined);
        else if (this.#authError !== undefined) finish(new M2PoolError(ErrorCode.WORKER_BOOT, `${this.name}: ${this.#authError}`));
        else if (this.#closed) finish(new M2PoolError(ErrorCode.WORKER_BOOT, `${this.name}: link closed`));
      };
      const timer = setTimeout(() => {
        const state = !this.#connected ? 'not connected' : !this.#welcomed ? 'connected, no WELCOME' : 'the dispatcher has no Mongrel2';
        finish(new M2PoolError(ErrorCode.WORKER_BOOT, `${this.name}: not ready after ${timeoutMs} ms (${state})`));
      }, timeoutMs);
      const finish = (err: Error | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err === undefined) resolve();
        else reject(err);
      };
      this.#waiters.add(check);
      check();
    });
  }

  receive(): Promise<Delivery | null> {
    const next = this.#buffered.shift();
    if (next !== undefined) return Promise.resolve(this.#handOut(next));
    if (this.#left || this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  stopReceiving(): void {
    if (!this.#receiving) return;
    this.#receiving = false;
    if (!this.#connected || !this.#welcomed) return this.#finishLeave();
    this.#control(Command.LEAVE);
    this.#leaveTimer = setTimeout(() => this.#finishLeave(), this.#opts.leaveTimeoutMs ?? 5_000);
    this.#leaveTimer.unref();
  }

  /** Stop receiving, hand over queued replies (bounded by `lingerMs`), close the socket. Idempotent. */
  async close(lingerMs: number): Promise<void> {
    this.stopReceiving();
    if (this.#closed) return;
    this.#flushBatch();
    if (this.#connected) await this.#whenSent(lingerMs);
    this.#closed = true;
    this.pushes.closed();
    clearInterval(this.#pingTimer);
    clearTimeout(this.#leaveTimer);
    this.#dealer.linger = lingerMs;
    this.#dealer.close();
    this.#finishLeave();
    this.#notify();
  }

  /**
   * Queue a reply frame of request `id` into this turn's batch. While little is waiting for the socket, the promise
   * resolves at once: the request's DONE then joins the same batch as its last reply, so a worker that dies
   * between the two cannot make the dispatcher cut (close) a connection whose reply had in fact been complete.
   * Past {@link EAGER_BYTES} unsent, it resolves when the batch was handed to the socket: a streaming handler that
   * awaits its writes is held back instead of filling memory.
   */
  reply(id: number, server: number, frame: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: link closed`));
    const limit = this.#peerLimit;
    if (limit > 0) {
      // The dispatcher would disconnect us for a frame over its limit (and count us lost): refuse the one reply
      // instead, and start a new batch rather than let this one grow past it.
      if (frame.length > limit) {
        return Promise.reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: a reply frame of ${frame.length} bytes is over the dispatcher's --max-message-bytes (${limit}); send the body in pieces (a stream)`));
      }
      if (this.#batch.bytes + frame.length > limit) this.#flushBatch();
    }
    if (this.#pushBatch.writer.entries > 0) this.#flushPushes();
    const batch = this.#batch;
    batch.writer.add(Tag.REPLY, id, server, frame);
    batch.bytes += frame.length;
    this.#unsentBytes += frame.length;
    this.#scheduleFlush();
    if (this.#unsentBytes <= EAGER_BYTES) return RESOLVED;
    batch.promise ??= new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    return batch.promise;
  }

  /** Queue an entry without payload (retry hints). */
  entry(tag: number, id: number, server: number): void {
    if (this.#closed) return;
    if (this.#pushBatch.writer.entries > 0) this.#flushPushes();
    this.#batch.writer.add(tag, id, server);
    this.#scheduleFlush();
  }

  /** A delivery is done: one credit back. */
  completed(id: number, server: number): void {
    this.#active -= 1;
    this.entry(Tag.DONE, id, server);
  }

  /** Reply frames of `d`: to its dispatcher, or kept for a successor if that dispatcher vanished. */
  replyFor(d: RequestDelivery, frame: Buffer): Promise<void> {
    if (!this.#orphaned(d)) {
      d.sentLive = true;
      return this.reply(d.id, d.server, frame);
    }
    if (this.#closed) return Promise.reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: link closed`));
    // Its earlier frames went to the dead dispatcher, forwarded or not: the rest alone would be half a reply.
    if (d.sentLive) d.broken = true;
    if (!d.broken && !this.#handover.keepReply(d.id, d.server, frame, d.instance as string, Date.now())) d.broken = true;
    this.#scheduleHandover();
    return RESOLVED;
  }

  /** `d` needs nothing more. A request of a vanished dispatcher also ends its hold (or is cut) at the successor. */
  completedFor(d: RequestDelivery): void {
    this.#inProgress.delete(d);
    if (this.#orphaned(d)) {
      const instance = d.instance as string;
      if (d.broken) this.#handover.keepMark(Tag.CUT, d.id, d.server, requestConnection(d.frame), instance, Date.now());
      else if (d.announcedTo !== undefined) this.#handover.keepMark(Tag.ENDED, d.id, d.server, undefined, instance, Date.now());
      this.#scheduleHandover();
    }
    this.completed(d.id, d.server);
  }

  /** Replies refused by the hand-over bounds or dropped for age, since start. */
  get handoverDropped(): number {
    return this.#handover.dropped;
  }

  #orphaned(d: RequestDelivery): boolean {
    return d.instance !== undefined && this.#vanished.has(d.instance);
  }

  #scheduleHandover(): void {
    if (this.#handoverScheduled) return;
    this.#handoverScheduled = true;
    setImmediate(() => this.#sendHandover());
  }

  /**
   * To a dispatcher instance that is not one of the vanished: HELD for every request of a vanished one still being
   * worked on (or waiting for a slot) and not yet announced to it, then what was kept (replies, ends, cuts). A
   * separate command, never a BATCH: the successor did not hand these requests out, and accepts them only as a
   * hand-over (docs/dispatch-protocol.md says why).
   */
  #sendHandover(): void {
    this.#handoverScheduled = false;
    const to = this.#instance;
    if (!this.#welcomed || !this.#connected || to === undefined || this.#vanished.has(to) || this.#closed) return;
    const writer = new BatchWriter();
    this.#flushBatch();
    // Each HANDOVER stays below the successor's --max-message-bytes (told in WELCOME): past it, it would drop us.
    let bytes = 0;
    const send = (): void => {
      if (writer.entries === 0) return;
      const entries = writer.entries;
      this.handedOver += entries;
      this.#opts.onHandover?.({ event: 'handover.sent', to, entries, dropped: this.#handover.dropped });
      this.#queue(writer.take(Command.HANDOVER), undefined);
      bytes = 0;
    };
    const add = (tag: number, id: number, server: number, payload: Buffer | undefined): void => {
      const size = payload?.length ?? 0;
      if (this.#peerLimit > 0 && bytes + size > this.#peerLimit) send();
      writer.add(tag, id, server, payload);
      bytes += size;
    };
    const pending = [...this.#inProgress, ...this.#buffered];
    for (const d of pending) {
      if (d instanceof RequestDelivery && this.#orphaned(d) && !d.broken && d.announcedTo !== to) {
        d.announcedTo = to;
        add(Tag.HELD, d.id, d.server, requestConnection(d.frame));
      }
    }
    for (const e of this.#handover.take(Date.now())) add(e.tag, e.id, e.server, e.payload);
    send();
  }

  #handOut(delivery: Delivery): Delivery {
    if (delivery instanceof RequestDelivery) {
      this.#active += 1;
      this.#inProgress.add(delivery);
    }
    return delivery;
  }

  #deliver(delivery: Delivery): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(this.#handOut(delivery));
    } else {
      this.#buffered.push(delivery);
    }
  }

  #finishLeave(): void {
    this.#left = true;
    clearTimeout(this.#leaveTimer);
    if (this.#buffered.length === 0 && this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter(null);
    }
  }

  #onConnected(): void {
    this.#connected = true;
    this.#authError = undefined;
    this.#sendHello();
    this.#notify();
  }

  #onDisconnected(): void {
    this.#connected = false;
    // Gone without a GOODBYE: the dispatcher may have died. What it gave us is finished and kept for a successor
    // (its own HELLO says so); if it was only the connection, that same instance will welcome us back and the
    // kept replies are dropped (it answered those requests itself when it lost us).
    const vanished = this.#welcomed && this.#instance !== undefined && this.#goodbyeFrom !== this.#instance;
    if (vanished) {
      const instance = this.#instance as string;
      this.#vanished.add(instance);
      const requests = [...this.#inProgress, ...this.#buffered].filter((d) => d instanceof RequestDelivery && d.instance === instance).length;
      this.#opts.onHandover?.({ event: 'dispatcher.vanished', instance, requests });
    }
    this.#forgetRegistration();
    // A leaving worker whose dispatcher went away will get no LEFT.
    if (!this.#receiving) this.#finishLeave();
    this.#notify();
  }

  /**
   * The dispatcher no longer knows us (it restarted, or declared us dead): what it sent and we have not handed out
   * yet was already answered or re-dispatched by it, so it is dropped here, unless it came from a dispatcher that
   * vanished (handed over when done); say HELLO again (on reconnection).
   */
  #forgetRegistration(): void {
    this.#welcomed = false;
    this.#helloSent = false;
    this.#instance = undefined;
    // Except requests of a vanished dispatcher: nobody else will answer them (their replies are handed over).
    const keep = this.#buffered.filter((d) => d instanceof RequestDelivery && this.#orphaned(d));
    this.#buffered.length = 0;
    this.#buffered.push(...keep);
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #sendHello(): void {
    if (this.#helloSent || this.#closed) return;
    this.#helloSent = true;
    const { capacity, slot, generation } = this.#opts;
    this.#control(Command.HELLO, {
      v: WIRE_VERSION,
      capacity,
      inFlight: Math.max(0, this.#active),
      pid: process.pid,
      ...(slot === undefined ? {} : { slot }),
      ...(generation === undefined ? {} : { generation }),
      ...(this.#vanished.size === 0 ? {} : { vanished: [...this.#vanished].at(-1) }),
    });
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.#dealer.receive();
      } catch {
        // closed
        return;
      }
      this.#onMessage(frames);
    }
  }

  #onMessage(frames: Buffer[]): void {
    const command = frames[0]?.length === 1 ? frames[0][0] : -1;
    switch (command) {
      case Command.BATCH: {
        if (!this.#welcomed) return; // sent to an earlier registration
        readBatch(frames, 0, toWorkerHasPayload, (tag, id, server, payload) => {
          if (payload === undefined) return;
          if (tag === Tag.REQUEST) this.#deliver(new RequestDelivery(payload, server, id, this, this.#instance));
          else if (tag === Tag.NOTICE) this.#deliver(new NoticeDelivery(payload, server, this));
        });
        return;
      }
      case Command.WELCOME: {
        const body = parseJsonFrame(frames[1]) ?? {};
        const instance = body['instance'];
        this.#instance = typeof instance === 'string' && instance.length > 0 ? instance : undefined;
        // Welcomed back by the same instance: it lived, and answered what it gave us itself.
        if (this.#instance !== undefined && this.#vanished.delete(this.#instance)) this.#handover.forget(this.#instance);
        this.#welcomed = true;
        this.#dispatcherReady = body['ready'] === true;
        this.#peerLimit = intField(body, 'maxMessageBytes', 0);
        this.#startPinging(intField(body, 'heartbeatMs', 1_000));
        // A LEAVE sent before this registration went to a dispatcher that forgot us: say it again.
        if (!this.#receiving && !this.#left) this.#control(Command.LEAVE);
        if (this.#vanished.size > 0) this.#scheduleHandover();
        this.#notify();
        return;
      }
      case Command.EVENTS:
        readBatch(frames, 0, alwaysPayload, (tag, id, _server, payload) => {
          if (payload !== undefined) this.pushes.event(tag, id, payload);
        });
        return;
      case Command.GOODBYE: {
        const instance = parseJsonFrame(frames[1])?.['instance'];
        if (typeof instance !== 'string') return;
        this.#goodbyeFrom = instance;
        if (this.#vanished.delete(instance)) this.#handover.forget(instance);
        return;
      }
      case Command.STATUS:
        this.#dispatcherReady = parseJsonFrame(frames[1])?.['ready'] === true;
        this.#notify();
        return;
      case Command.LEFT:
        if (!this.#receiving) this.#finishLeave();
        return;
      case Command.UNKNOWN:
        this.#forgetRegistration();
        if (this.#connected) this.#sendHello();
        this.#notify();
        return;
      default:
        return;
    }
  }

  /** PING from the event loop: a blocked loop stops pinging, which is how the dispatcher tells a hung worker. */
  #startPinging(intervalMs: number): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (this.#welcomed) this.#control(Command.PING, { inFlight: this.#active });
    }, Math.max(10, intervalMs));
    this.#pingTimer.unref();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  /**
   * A PUSH entry joins this turn's push batch, after the replies queued before it (which go out first, as their own
   * batch): pushes and replies reach the dispatcher — and Mongrel2 — in the order the app made them.
   */
  #pushEntry(tag: number, id: number, payload: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new M2PoolError(ErrorCode.PUSH_FAILED, `${this.name}: link closed`));
    if (this.#batch.writer.entries > 0) {
      const replies = this.#batch;
      this.#batch = newBatch();
      this.#queue(replies.writer.take(), replies);
    }
    const batch = this.#pushBatch;
    batch.writer.add(tag, id, 0, payload);
    batch.promise ??= new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    this.#scheduleFlush();
    return batch.promise;
  }

  #flushPushes(): void {
    const pushes = this.#pushBatch;
    if (pushes.writer.entries === 0) return;
    this.#pushBatch = newBatch();
    this.#queue(pushes.writer.take(Command.PUSH), pushes);
  }

  #flushBatch(): void {
    this.#flushScheduled = false;
    this.#flushPushes();
    const batch = this.#batch;
    if (batch.writer.entries === 0) return;
    this.#batch = newBatch();
    this.#queue(batch.writer.take(), batch);
  }

  /** A control message goes out after what was batched so far (FIFO on the socket). */
  #control(command: number, body?: object): void {
    this.#flushBatch();
    this.#queue(body === undefined ? [commandFrame(command)] : [commandFrame(command), jsonFrame(body)], undefined);
  }

  #queue(frames: Buffer[], batch: OutgoingBatch | undefined): void {
    if (this.#closed) {
      this.#unsentBytes -= batch?.bytes ?? 0;
      batch?.reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: link closed`));
      return;
    }
    this.#outbox.push({ frames, batch });
    if (!this.#sending) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      for (let item = this.#outbox.shift(); item !== undefined; item = this.#outbox.shift()) {
        try {
          await this.#dealer.send(item.frames);
          item.batch?.resolve();
        } catch (err) {
          item.batch?.reject(new M2PoolError(ErrorCode.SEND_FAILED, `${this.name}: batch not sent`, { cause: err }));
        } finally {
          this.#unsentBytes -= item.batch?.bytes ?? 0;
        }
      }
    } finally {
      this.#sending = false;
      for (const wake of [...this.#sentWaiters]) wake();
    }
  }

  /**
   * Resolves once everything queued was handed to the socket, after at most `timeoutMs`, or when the connection
   * drops (a send then waits for a peer that is gone).
   */
  #whenSent(timeoutMs: number): Promise<void> {
    if (!this.#sending && this.#outbox.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#sentWaiters.delete(done);
        this.#waiters.delete(lost);
        resolve();
      };
      const lost = (): void => {
        if (!this.#connected) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#sentWaiters.add(done);
      this.#waiters.add(lost);
    });
  }

  #notify(): void {
    const ready = this.ready;
    if (ready !== this.#wasReady && this.#receiving) {
      this.#wasReady = ready;
      this.#onReadyChange(ready);
    }
    for (const check of [...this.#waiters]) check();
  }
}

/** A worker's transport in the dispatch topology: one {@link DispatcherLink}. */
export class DispatcherTransport extends LinkSet<DispatcherLink> {
  readonly topology = 'dispatch';
  /** The dispatcher routes every disconnect notice to the worker holding that connection. */
  readonly misroutesNotices = false;
  readonly links: readonly DispatcherLink[];
  /** Pushes and rooms through the dispatcher. */
  readonly pushes: HubChannel;

  constructor(options: DispatcherTransportOptions) {
    super();
    const link: DispatcherLink = new DispatcherLink(options, (ready) => this.readyChanged(link, ready));
    this.links = [link];
    this.pushes = link.pushes;
  }
}
