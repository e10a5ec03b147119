/**
 * The dispatcher's decisions, with no sockets: which worker gets a request (connection affinity first, then the
 * most free slots), the bounded FIFO queue when no worker has a free slot, load shedding past the queue limit, what
 * happens to a lost worker's requests (re-dispatched once within a retry budget, else answered by the
 * dispatcher), and what a worker may do: claim at most `maxCredit`, reply only to the connection of the request it
 * answers, answer within `requestTimeoutMs`. Every request ends in exactly one of: its worker's DONE, a
 * dispatcher error reply, a cancellation by a disconnect notice — never two.
 * The socket layer (`dispatcher.ts`) feeds events in and carries out the {@link SchedulerEffects}.
 * @module
 */
import { repliesOnlyTo } from '../protocol/reply-writer';
import { isDisconnectNotice, isIdempotentMethod, peekConnection, peekMethod } from '../protocol/frame-peek';
import { DispatcherStats, type FailureReason } from './stats';

/** A worker's say on whether its request may be re-dispatched. */
export const RetryHint = { UNSET: 0, YES: 1, NO: 2 } as const;
/** One of {@link RetryHint}. */
export type RetryHint = (typeof RetryHint)[keyof typeof RetryHint];

/** One registered worker. */
export class WorkerEntry {
  /** Requests sent to it and not yet done, in dispatch order. */
  readonly inFlight = new Map<number, PendingRequest>();
  /** Slots in use (its capacity is its slots; `credit` in older names): in-flight requests plus `foreign` ones. */
  used = 0;
  /** Requests it was still working on when it (re)registered: they hold slots until their DONE. */
  foreign = 0;
  /**
   * Requests it held past the request timeout, answered by the dispatcher: as far as the dispatcher knows the
   * worker is still busy with them, so each holds its slot until the worker's DONE (a peer that never answers
   * runs out of slots instead of collecting ever more requests).
   */
  readonly expired = new Set<number>();
  /** A misaddressed reply of it was logged already (logged once per registration, counted every time). */
  misaddressedLogged = false;
  leaving = false;
  lastSeen: number;
  /** When it was last given a request (a dispatch sequence number): ties of free slots go to the longest idle. */
  lastPicked = 0;

  constructor(
    /** The socket-layer identity (the ROUTER routing id, as a string key). */
    readonly key: string,
    /** Opaque handle of the socket layer (e.g. the routing id Buffer). */
    readonly address: Buffer,
    public capacity: number,
    /** Label value for per-worker metrics: its pool slot, or 'external'. */
    readonly label: string,
    now: number,
  ) {
    this.lastSeen = now;
  }

  /** Slots it can still take. */
  get free(): number {
    return this.leaving ? 0 : this.capacity - this.used;
  }
}

/** The requests of one client connection (server + sender + connection id) that are queued or in flight. */
class Connection {
  /** The worker holding its in-flight requests (their replies must come from one process, in order). */
  worker: WorkerEntry | undefined;
  inFlight = 0;
  /** Queued (not cancelled) requests of this connection. */
  queued = 0;
  /** Requests waiting for the connection's requests at a leaving worker to finish. */
  parked: PendingRequest[] | undefined;
  constructor(readonly key: string) {}
}

/** A request the dispatcher is responsible for until it is done. */
export class PendingRequest {
  worker: WorkerEntry | undefined;
  /** A reply frame of it was forwarded to Mongrel2. */
  replyStarted = false;
  /** While at a worker: when it times out (set at dispatch, pushed back by each reply frame forwarded). */
  deadline = 0;
  retry: RetryHint = RetryHint.UNSET;
  /** Already re-dispatched once. */
  retried = false;
  cancelled = false;
  constructor(
    readonly id: number,
    readonly server: number,
    readonly frame: Buffer,
    readonly connection: Connection,
    /** Offset of the space after the sender in `frame` (for the reply address check). */
    readonly senderEnd: number,
    /** Offset of the path in `frame` (for the lazy METHOD scan). */
    readonly pathAt: number,
    readonly arrivedAt: number,
  ) {}

  /** `sender SP connId` of the client connection. */
  get connectionId(): string {
    const key = this.connection.key;
    return key.slice(key.indexOf('\u0000') + 1);
  }

  /** The METHOD header (scanned on demand). */
  get method(): string {
    return peekMethod(this.frame, this.pathAt);
  }
}

/**
 * How the dispatcher answers a request no worker will: `error` an HTTP 503, `timeout` an HTTP 504 (each with
 * `Connection: close`, then a close), or `close`: just close the connection.
 */
export type FailureAction = 'error' | 'timeout' | 'close';

/** What the scheduler asks the socket layer to do. Called synchronously; must not call back into the scheduler. */
export interface SchedulerEffects {
  /** Send request `req` to `worker` (in this turn's batch). */
  request(worker: WorkerEntry, req: PendingRequest): void;
  /** Send a disconnect notice to the worker holding that connection. */
  notice(worker: WorkerEntry, server: number, frame: Buffer): void;
  /** Forward a worker's reply frame to Mongrel2 server `server`, as it is. */
  reply(server: number, frame: Buffer): void;
  /** Answer `req` from the dispatcher: `error` = 503 with Retry-After, `timeout` = 504, then close; `close` = just close. */
  fail(req: PendingRequest, action: FailureAction, reason: FailureReason): void;
  /** A worker is being dropped (before its requests are dealt with); for logs. */
  workerLost(worker: WorkerEntry, cause: LossCause): void;
  /** A reply frame of `worker` for `req` was dropped: not addressed to `req`'s connection alone; for logs. */
  misaddressed(worker: WorkerEntry, req: PendingRequest, frame: Buffer): void;
}

/** Why a worker was dropped. */
/** Why a worker is gone; `left`: it had asked to leave and held nothing when it disconnected (not a loss). */
export type LossCause = 'disconnected' | 'heartbeat-timeout' | 'unreachable' | 'left';

/** Settings of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Queued requests at which a new request is answered 503 at once (shed) instead of queued. */
  readonly queueLimit: number;
  /**
   * Requests held waiting (queued or parked) at which the dispatcher stops reading from Mongrel2: the memory bound.
   * Above `queueLimit`: only requests that may not be shed (a connection's later pipelined requests and frames) and
   * re-dispatched ones fill the gap.
   */
  readonly backlogLimit: number;
  /** Queued longer than this: answered 503. */
  readonly queueTimeoutMs: number;
  /** Capacity a worker may claim in HELLO; more is cut to this. */
  readonly maxCredit: number;
  /** A request at a worker with no reply frame forwarded for this long is answered 504 (or closed). */
  readonly requestTimeoutMs: number;
  /** No message from a worker for this long: it is lost. */
  readonly heartbeatTimeoutMs: number;
  /** Monotonic clock in ms. */
  readonly now: () => number;
}

/** Smallest retry budget per lost worker, and its share of the lost worker's in-flight requests. */
const RETRY_FLOOR = 3;
const RETRY_SHARE = 0.2;
/**
 * Retry tokens saved up: every request handed to a worker for the first time earns {@link RETRY_SHARE} of one, a
 * retry spends one (Finagle's RetryBudget). A lost worker may retry max(3, 20% of its requests) or as many of them
 * as there are tokens, so killing one worker of a busy pool loses nothing, while a request that
 * kills every worker it reaches still drains the tokens faster than traffic refills them. The cap bounds a burst.
 */
const RETRY_TOKEN_CAP = 1_000;

/** Methods whose requests are not HTTP requests: a 503 would be garbage on that connection; they get a close. */
function answersWithClose(method: string): boolean {
  return method === 'WEBSOCKET' || method === 'JSON' || method === 'XML';
}

/** Slot-based scheduling of Mongrel2 requests over workers (a worker's slots: requests it takes at once). */
export class Scheduler {
  readonly stats = new DispatcherStats();
  readonly #opts: SchedulerOptions;
  readonly #effects: SchedulerEffects;
  readonly #workers = new Map<string, WorkerEntry>();
  /** Dispatches so far, for {@link WorkerEntry.lastPicked}. */
  #picks = 0;
  readonly #requests = new Map<number, PendingRequest>();
  /** Waiting for {@link pending} to reach 0. */
  #settledWaiters: Array<() => void> = [];
  readonly #connections = new Map<string, Connection>();
  /** Re-dispatched requests and released parked ones: served before the queue. */
  #front: PendingRequest[] = [];
  #queue: PendingRequest[] = [];
  #queueHead = 0;
  /** Queued requests not cancelled (front included). */
  #queued = 0;
  /** Requests parked behind a leaving worker. */
  #parked = 0;
  /** Earliest request deadline seen by the last scan of in-flight requests (see {@link expire}). */
  #nextDeadline = Infinity;
  /** Saved-up retries (see {@link RETRY_TOKEN_CAP}). */
  #retryTokens = 0;
  /** Request ids start at a random point, so ids of two dispatcher lifetimes rarely meet in a worker's logs. */
  #nextId = (Math.random() * 0x7fffffff) >>> 0;

  constructor(options: SchedulerOptions, effects: SchedulerEffects) {
    this.#opts = options;
    this.#effects = effects;
  }

  /** Requests waiting for a free slot. */
  get queueDepth(): number {
    return this.#queued;
  }

  /**
   * Below the backlog limit: the dispatcher may read another message from Mongrel2. It keeps reading past the queue
   * limit, so overload is answered (503 at once) instead of waiting unread in Mongrel2.
   */
  get accepting(): boolean {
    return this.#queued + this.#parked < this.#opts.backlogLimit;
  }

  /** Requests the dispatcher is responsible for (queued, parked or at a worker). */
  get pending(): number {
    return this.#requests.size;
  }

  /** Resolves once the dispatcher is responsible for no request ({@link pending} is 0): the stop's drain. */
  settled(): Promise<void> {
    if (this.#requests.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Slots in use over every worker (named `credit` in metrics and flags). */
  get creditInUse(): number {
    let n = 0;
    for (const w of this.#workers.values()) n += w.used;
    return n;
  }

  /** Slots of the workers that take requests. */
  get creditCapacity(): number {
    let n = 0;
    for (const w of this.#workers.values()) if (!w.leaving) n += w.capacity;
    return n;
  }

  /** Slots in use per registered worker, by its label (pool slot, or 'external', summed). */
  creditByWorker(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.#workers.values()) out[w.label] = (out[w.label] ?? 0) + w.used;
    return out;
  }

  /** Registered workers. */
  get workerCount(): number {
    return this.#workers.size;
  }

  /** The worker registered under `key`. */
  worker(key: string): WorkerEntry | undefined {
    return this.#workers.get(key);
  }

  /** Every registered worker. */
  workers(): IterableIterator<WorkerEntry> {
    return this.#workers.values();
  }

  // --- Mongrel2 side -------------------------------------------------------------------------------------------

  /** A message from Mongrel2 server `server`. Returns false if it was not a Mongrel2 message (dropped, counted). */
  arrive(server: number, frame: Buffer): boolean {
    this.stats.received += 1;
    const peeked = peekConnection(frame);
    if (peeked === undefined) {
      this.stats.protocolErrors += 1;
      return false;
    }
    const key = `${server}\u0000${peeked.connection}`;
    if (isDisconnectNotice(frame, peeked.pathAt)) {
      this.#disconnect(key, server, frame);
      return true;
    }
    let conn = this.#connections.get(key);
    if (conn === undefined) this.#connections.set(key, (conn = new Connection(key)));
    const id = this.#nextId;
    this.#nextId = (id + 1) >>> 0;
    const req = new PendingRequest(id, server, frame, conn, peeked.senderEnd, peeked.pathAt, this.#opts.now());
    this.#requests.set(id, req);
    this.#place(req, false);
    return true;
  }

  /** A disconnect notice: to the worker holding the connection; its queued and parked requests are dropped. */
  #disconnect(key: string, server: number, frame: Buffer): void {
    const conn = this.#connections.get(key);
    if (conn === undefined) {
      this.stats.notice('unclaimed');
      return;
    }
    if (conn.parked !== undefined) {
      for (const req of conn.parked) this.#forget(req);
      this.#parked -= conn.parked.length;
      conn.parked = undefined;
      this.stats.notice('cancelled-queued');
    }
    if (conn.queued > 0) {
      for (const req of this.#waiting()) {
        if (req.connection === conn && !req.cancelled) this.#cancelQueued(req);
      }
      this.stats.notice('cancelled-queued');
    }
    if (conn.worker !== undefined) {
      this.#effects.notice(conn.worker, server, frame);
      this.stats.notice('routed');
    }
    this.#dropIfIdle(conn);
  }

  *#waiting(): Generator<PendingRequest> {
    yield* this.#front;
    for (let i = this.#queueHead; i < this.#queue.length; i++) yield this.#queue[i] as PendingRequest;
  }

  // --- worker side ---------------------------------------------------------------------------------------------

  /**
   * A worker said HELLO. A new worker gets `capacity` slots minus what it reports still in flight from an earlier
   * registration; a known one (a repeated HELLO) keeps its requests and gets its capacity updated.
   */
  hello(key: string, address: Buffer, claimed: number, inFlight: number, label: string): WorkerEntry {
    const now = this.#opts.now();
    // A claim beyond the maximum would let one peer take every request (a HELLO says what it likes).
    const capacity = Math.min(claimed, this.#opts.maxCredit);
    if (capacity < claimed) this.stats.creditClamped += 1;
    let worker = this.#workers.get(key);
    if (worker === undefined) {
      worker = new WorkerEntry(key, address, capacity, label, now);
      worker.foreign = inFlight;
      worker.used = inFlight;
      this.#workers.set(key, worker);
    } else {
      worker.capacity = capacity;
      worker.lastSeen = now;
    }
    this.pump();
    return worker;
  }

  /** Any message from a registered worker: it is alive. Returns the worker, or undefined if unknown. */
  touch(key: string): WorkerEntry | undefined {
    const worker = this.#workers.get(key);
    if (worker !== undefined) worker.lastSeen = this.#opts.now();
    return worker;
  }

  /**
   * A reply frame for request `id` from `worker`: forwarded if that worker holds the request and the frame goes to
   * that request's connection and no other (data, WebSocket frames, a close, an `X` control reply: anything to its
   * own connection); anything else is dropped and counted. This is the one place a worker's bytes reach Mongrel2.
   * NOTE: a write to other connections (push) is a separate, explicit command, never a reply.
   */
  reply(worker: WorkerEntry, id: number, frame: Buffer): void {
    const req = this.#requests.get(id);
    if (req === undefined || req.worker !== worker) {
      this.stats.lateReplies += 1;
      return;
    }
    if (!repliesOnlyTo(frame, req.frame, req.senderEnd, req.pathAt - 1)) {
      this.stats.misaddressedReply(worker.label);
      this.#effects.misaddressed(worker, req, frame);
      return;
    }
    req.replyStarted = true;
    req.deadline = this.#opts.now() + this.#opts.requestTimeoutMs;
    this.#effects.reply(req.server, frame);
  }

  /** The worker's say on re-dispatching request `id`. */
  retryHint(worker: WorkerEntry, id: number, hint: RetryHint): void {
    const req = this.#requests.get(id);
    if (req !== undefined && req.worker === worker) req.retry = hint;
  }

  /** Request `id` needs nothing more from `worker`: one slot back. */
  done(worker: WorkerEntry, id: number): void {
    const req = this.#requests.get(id);
    if (req === undefined || req.worker !== worker) {
      if (worker.expired.delete(id)) {
        // Answered by the dispatcher at its timeout; the worker is done with it only now.
        worker.used -= 1;
        this.pump();
        return;
      }
      // A request of an earlier registration (see `hello`), or one already answered by the dispatcher.
      if (worker.foreign > 0) {
        worker.foreign -= 1;
        worker.used -= 1;
        this.pump();
      }
      return;
    }
    this.#unhold(id);
    worker.inFlight.delete(id);
    worker.used -= 1;
    const conn = req.connection;
    conn.inFlight -= 1;
    if (conn.inFlight === 0) this.#releaseConnection(conn);
    this.pump();
  }

  /** The worker asked to leave: no new requests; its in-flight ones finish normally. */
  leave(worker: WorkerEntry): void {
    worker.leaving = true;
  }

  /**
   * The worker is gone (its process died, or it missed its heartbeat deadline). Each of its unanswered requests is
   * re-dispatched once if it is retryable, its reply had not started and the budget allows; every other one is
   * answered here (503, or a close when the reply had started).
   */
  lost(worker: WorkerEntry, cause: LossCause): void {
    if (this.#workers.get(worker.key) !== worker) return;
    if (cause === 'disconnected' && worker.leaving && worker.inFlight.size === 0) cause = 'left';
    this.#effects.workerLost(worker, cause);
    this.#workers.delete(worker.key);
    this.stats.workerLost(cause);
    const own = Math.max(RETRY_FLOOR, Math.ceil(worker.inFlight.size * RETRY_SHARE));
    let budget = Math.max(own, Math.floor(this.#retryTokens));
    const retries: PendingRequest[] = [];
    const touched = new Set<Connection>();
    for (const req of worker.inFlight.values()) {
      req.worker = undefined;
      req.connection.inFlight -= 1;
      touched.add(req.connection);
      if (req.replyStarted) {
        this.#fail(req, 'close', 'reply-cut');
      } else if (this.#mayRetry(req)) {
        if (budget > 0) {
          budget -= 1;
          req.retried = true;
          retries.push(req);
        } else {
          this.#fail(req, this.#errorAction(req), 'retry-budget');
        }
      } else {
        this.#fail(req, this.#errorAction(req), 'worker-lost');
      }
    }
    worker.inFlight.clear();
    worker.expired.clear();
    worker.used = 0;
    for (const conn of touched) {
      if (conn.worker === worker) conn.worker = undefined;
    }
    this.#retryTokens = Math.max(0, this.#retryTokens - retries.length);
    if (retries.length > 0) {
      this.stats.retries += retries.length;
      for (const req of retries) req.connection.queued += 1;
      this.#queued += retries.length;
      this.#front = [...retries, ...this.#front];
    }
    for (const conn of touched) if (conn.inFlight === 0) this.#releaseConnection(conn);
    this.pump();
  }

  /** Workers silent for longer than the heartbeat timeout are lost. */
  checkLiveness(): void {
    const deadline = this.#opts.now() - this.#opts.heartbeatTimeoutMs;
    for (const worker of [...this.#workers.values()]) {
      if (worker.lastSeen < deadline) this.lost(worker, 'heartbeat-timeout');
    }
  }

  /** Queued requests older than the queue timeout get a 503; requests at a worker past their deadline a 504. */
  expire(): void {
    this.#expireQueue();
    this.#expireInFlight();
  }

  #expireQueue(): void {
    const deadline = this.#opts.now() - this.#opts.queueTimeoutMs;
    if (this.#front.length > 0) {
      const keep: PendingRequest[] = [];
      for (const req of this.#front) {
        if (req.cancelled) continue;
        if (req.arrivedAt <= deadline) this.#expireQueued(req);
        else keep.push(req);
      }
      this.#front = keep;
    }
    while (this.#queueHead < this.#queue.length) {
      const req = this.#queue[this.#queueHead] as PendingRequest;
      if (!req.cancelled && req.arrivedAt > deadline) break;
      this.#queueHead += 1;
      if (!req.cancelled) this.#expireQueued(req);
    }
    this.#compact();
  }

  /**
   * Requests at workers past their deadline are answered by the dispatcher: 504, or a close (a WebSocket frame, a
   * socket message, a reply already started). A scan of every in-flight request, done only once the earliest
   * deadline seen by the previous scan has passed.
   */
  #expireInFlight(): void {
    const now = this.#opts.now();
    if (now < this.#nextDeadline) return;
    let next = Infinity;
    const due: PendingRequest[] = [];
    for (const worker of this.#workers.values()) {
      for (const req of worker.inFlight.values()) {
        if (req.deadline <= now) due.push(req);
        else if (req.deadline < next) next = req.deadline;
      }
    }
    this.#nextDeadline = next;
    for (const req of due) this.#timeOut(req);
  }

  #timeOut(req: PendingRequest): void {
    const worker = req.worker;
    if (worker === undefined) return;
    worker.inFlight.delete(req.id);
    worker.expired.add(req.id);
    req.worker = undefined;
    const conn = req.connection;
    conn.inFlight -= 1;
    this.#fail(req, req.replyStarted || answersWithClose(req.method) ? 'close' : 'timeout', 'request-timeout');
    if (conn.inFlight === 0) this.#releaseConnection(conn);
  }

  /** Answer every queued and parked request (the dispatcher is stopping); returns how many. */
  failQueued(reason: FailureReason): number {
    let n = 0;
    for (const req of [...this.#waiting()]) {
      if (req.cancelled) continue;
      this.#expireQueued(req, reason);
      n += 1;
    }
    this.#front = [];
    this.#queue = [];
    this.#queueHead = 0;
    for (const conn of [...this.#connections.values()]) {
      for (const req of conn.parked ?? []) {
        this.#unhold(req.id);
        this.#fail(req, this.#errorAction(req), reason);
        n += 1;
      }
      conn.parked = undefined;
      this.#parked = 0;
      this.#dropIfIdle(conn);
    }
    return n;
  }

  /** Answer every request still at a worker (the dispatcher is stopping and the drain deadline passed). */
  abandonInFlight(reason: FailureReason): number {
    let n = 0;
    for (const worker of this.#workers.values()) {
      for (const req of worker.inFlight.values()) {
        req.worker = undefined;
        this.#fail(req, req.replyStarted ? 'close' : this.#errorAction(req), reason);
        n += 1;
      }
      worker.inFlight.clear();
      worker.used = worker.foreign + worker.expired.size;
    }
    this.#connections.clear();
    return n;
  }

  /** Hand queued requests to workers while some have a free slot. */
  pump(): void {
    while (this.#queued > 0) {
      const fromFront = this.#front.length > 0;
      const req = fromFront ? (this.#front[0] as PendingRequest) : (this.#queue[this.#queueHead] as PendingRequest | undefined);
      if (req === undefined) break;
      if (!req.cancelled && !this.#canPlace(req)) break;
      if (fromFront) this.#front.shift();
      else this.#queueHead += 1;
      if (req.cancelled) continue;
      this.#queued -= 1;
      req.connection.queued -= 1;
      this.#place(req, true);
    }
    this.#compact();
  }

  // --- internals -----------------------------------------------------------------------------------------------

  /** Would `#place` hand `req` on now (rather than queue it)? */
  #canPlace(req: PendingRequest): boolean {
    const holder = req.connection.worker;
    if (holder !== undefined) return true; // to its worker, or parked behind a leaving one
    return this.#mostFree() !== undefined;
  }

  /**
   * Send `req` to the worker holding its connection (even beyond that worker's slots: the worker buffers it, and
   * pipelined replies stay in order), park it behind a leaving holder, or give it to the worker with the most
   * free slots; failing all that, queue it. `fromQueue`: it was taken off the queue (it may not jump it again).
   */
  #place(req: PendingRequest, fromQueue: boolean): void {
    const conn = req.connection;
    const holder = conn.worker;
    if (holder !== undefined) {
      if (holder.leaving || conn.parked !== undefined) {
        (conn.parked ??= []).push(req);
        this.#parked += 1;
      } else if (!fromQueue && conn.queued > 0) {
        // An earlier request of this connection is still queued: never overtake it.
        this.#enqueue(req);
      } else {
        this.#send(holder, req);
      }
      return;
    }
    const target = fromQueue || (conn.queued === 0 && this.#queued === 0) ? this.#mostFree() : undefined;
    if (target !== undefined) {
      this.#send(target, req);
    } else if (!fromQueue && conn.queued === 0 && this.#queued >= this.#opts.queueLimit) {
      // Shed at once (Envoy's overload manager, HAProxy's maxqueue): waiting could only end in a 503 later.
      // A connection with requests already queued is not shed: a 503 now would overtake their replies.
      this.#fail(req, this.#errorAction(req), 'queue-full');
      this.#dropIfIdle(conn);
    } else {
      this.#enqueue(req);
    }
  }

  #send(worker: WorkerEntry, req: PendingRequest): void {
    if (!req.retried) this.#retryTokens = Math.min(RETRY_TOKEN_CAP, this.#retryTokens + RETRY_SHARE);
    req.worker = worker;
    req.deadline = this.#opts.now() + this.#opts.requestTimeoutMs;
    if (req.deadline < this.#nextDeadline) this.#nextDeadline = req.deadline;
    worker.inFlight.set(req.id, req);
    worker.used += 1;
    worker.lastPicked = ++this.#picks;
    req.connection.worker = worker;
    req.connection.inFlight += 1;
    this.stats.dispatchedTo(worker.label, Math.max(0, this.#opts.now() - req.arrivedAt) / 1000);
    this.#effects.request(worker, req);
  }

  #mostFree(): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    let bestFree = 0;
    for (const w of this.#workers.values()) {
      const free = w.free;
      if (free > bestFree || (free === bestFree && free > 0 && best !== undefined && w.lastPicked < best.lastPicked)) {
        best = w;
        bestFree = free;
      }
    }
    return best;
  }

  #enqueue(req: PendingRequest): void {
    this.#queue.push(req);
    this.#queued += 1;
    req.connection.queued += 1;
  }

  /** The connection has nothing in flight any more: its parked requests go to the front of the queue. */
  #releaseConnection(conn: Connection): void {
    conn.worker = undefined;
    const parked = conn.parked;
    if (parked !== undefined) {
      conn.parked = undefined;
      this.#parked -= parked.length;
      conn.queued += parked.length;
      this.#queued += parked.length;
      this.#front.push(...parked);
    }
    this.#dropIfIdle(conn);
  }

  #dropIfIdle(conn: Connection): void {
    if (conn.inFlight === 0 && conn.queued === 0 && conn.parked === undefined) this.#connections.delete(conn.key);
  }

  #cancelQueued(req: PendingRequest): void {
    req.cancelled = true;
    this.#queued -= 1;
    req.connection.queued -= 1;
    this.#unhold(req.id);
  }

  #expireQueued(req: PendingRequest, reason: FailureReason = 'queue-timeout'): void {
    this.#cancelQueued(req);
    this.#fail(req, this.#errorAction(req), reason);
    this.#dropIfIdle(req.connection);
  }

  #forget(req: PendingRequest): void {
    this.#unhold(req.id);
  }

  #mayRetry(req: PendingRequest): boolean {
    if (req.retried || req.retry === RetryHint.NO) return false;
    return req.retry === RetryHint.YES || isIdempotentMethod(req.method);
  }

  #errorAction(req: PendingRequest): FailureAction {
    return answersWithClose(req.method) ? 'close' : 'error';
  }

  #fail(req: PendingRequest, action: FailureAction, reason: FailureReason): void {
    this.#unhold(req.id);
    this.stats.failed(reason);
    this.#effects.fail(req, action, reason);
  }

  /** The dispatcher is no longer responsible for request `id`; wakes {@link settled} waiters at the last one. */
  #unhold(id: number): void {
    this.#requests.delete(id);
    if (this.#requests.size === 0 && this.#settledWaiters.length > 0) for (const wake of this.#settledWaiters.splice(0)) wake();
  }

  /** Drop the consumed head of the queue array once it is large. */
  #compact(): void {
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }
}
