/**
 * The dispatcher's engine: Mongrel2 links on one side ({@link Mongrel2Link}, one per server: PULL with a small
 * receive high-water mark and no ZMTP heartbeat, XPUB with noDrop + immediate, ready once Mongrel2 subscribed),
 * the worker ROUTER on the other ({@link WorkerPort}), the {@link Scheduler} in between. It keeps reading from
 * Mongrel2 past the queue limit (the scheduler answers the overflow 503 at once) and stops only at the backlog
 * limit, the memory bound, where back-pressure goes into Mongrel2.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { serializeResponse } from '../protocol/http-response';
import { encodeClose, encodeReply } from '../protocol/reply-writer';
import { Command, ENTRY_BYTES, intField, parseJsonFrame, Tag, WIRE_VERSION } from '../protocol/dispatch-wire';
import { HANDOVER_LIMITS } from '../transport/handover-store';
import { Mongrel2Link } from '../transport/mongrel2-link';
import { CrashSweep } from './crash-sweep';
import { peekRequestId, splitConnection } from '../protocol/frame-peek';
import { HandoverDesk } from './handover-desk';
import { dispatchedRequestId } from '../protocol/request-id';
import { PushRouter } from './push-router';
import { RetryHint, Scheduler, type FailureAction, type LossCause, type PendingRequest, type SchedulerEffects, type WorkerEntry } from './scheduler';
import type { FailureReason } from './stats';
import { WorkerPort, type CurveServerKeys, type WorkerPortHandler } from './worker-port';
import type { DispatcherOptions } from './options';

/** Settings of a {@link Dispatcher}. */
export type DispatcherEngineOptions = Pick<
  DispatcherOptions,
  | 'sendSpecs'
  | 'recvSpecs'
  | 'bind'
  | 'receiveHwm'
  | 'queueLimit'
  | 'backlogLimit'
  | 'queueTimeoutMs'
  | 'maxWorkerCredit'
  | 'requestTimeoutMs'
  | 'heartbeatIntervalMs'
  | 'heartbeatTimeoutMs'
  | 'sendTimeoutMs'
  | 'retryAfterSeconds'
> &
  /** Absent: no maximum message size (tests; `m2pool dispatcher` always sets both). */
  Partial<Pick<DispatcherOptions, 'maxRequestBytes' | 'maxMessageBytes'>> & {
  /** Mongrel2 control ports, one per server, or none (no sweep after a predecessor's crash). @default [] */
  readonly controlSpecs?: readonly string[] | undefined;
  /** The CURVE keys read from `curveSecretFile` (tcp endpoints). */
  readonly curve?: CurveServerKeys | undefined;
  readonly logger: Logger;
};

/** Period of the queue-timeout and heartbeat-deadline sweep. */
const SWEEP_MS = 100;

/** The whole dispatcher minus its process glue (signals, IPC, admin HTTP: `main.ts`). */
export class Dispatcher implements SchedulerEffects, WorkerPortHandler {
  readonly scheduler: Scheduler;
  readonly links: readonly Mongrel2Link[];
  /** Pushes, rooms and disconnect events. */
  readonly push: PushRouter;
  readonly #port: WorkerPort;
  readonly #opts: DispatcherEngineOptions;
  readonly #log: Logger;
  readonly #errorReply: Buffer;
  readonly #timeoutReply: Buffer;
  #sweep: NodeJS.Timeout | undefined;
  #reading = true;
  /** Read loops waiting for the queue to go below its limit. */
  #resume: Array<() => void> = [];
  #readLoops: Promise<void>[] = [];
  #wasReady = false;
  readonly #readyListeners: Array<(ready: boolean) => void> = [];
  /** Per link: what a reply that could not be handed to it does (built once, not a closure per reply). */
  readonly #replyFailed: ReadonlyArray<(err: unknown) => void>;
  // --- a predecessor's crash (docs/dispatch-protocol.md, "Dispatcher crash") ---
  /** This process, in WELCOME and GOODBYE: workers hand over only to an instance other than the one that vanished. */
  readonly instance = randomBytes(8).toString('hex');
  readonly #handover: HandoverDesk;
  readonly #crashSweep: CrashSweep;
  /**
   * Workers whose HELLO named a vanished predecessor, with the time their hand-over window closes: the only ones
   * whose HANDOVER is accepted, and only while a worker may still hold replies of a predecessor (which died before
   * this instance started): HANDOVER_LIMITS.maxAgeMs plus a heartbeat deadline from this instance's start. So no
   * worker can use the command to reach arbitrary connections later, whatever its HELLO says.
   */
  readonly #handingOver = new Map<string, number>();
  readonly #handoverWindowEnds: number;

  constructor(options: DispatcherEngineOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#handoverWindowEnds = performance.now() + HANDOVER_LIMITS.maxAgeMs + options.heartbeatTimeoutMs;
    this.scheduler = new Scheduler(
      {
        queueLimit: options.queueLimit,
        backlogLimit: options.backlogLimit,
        queueTimeoutMs: options.queueTimeoutMs,
        maxCredit: options.maxWorkerCredit,
        requestTimeoutMs: options.requestTimeoutMs,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        now: () => performance.now(),
      },
      this,
    );
    this.links = options.sendSpecs.map(
      (sendSpec, server) =>
        new Mongrel2Link({
          sendSpec,
          recvSpec: options.recvSpecs[server] ?? '',
          server,
          receiveHighWaterMark: options.receiveHwm,
          maxMessageBytes: options.maxRequestBytes,
          onRefused: (name) => {
            this.scheduler.stats.peerDropped('mongrel2');
            this.#log.warn({ event: 'dispatcher.mongrel2.refused', link: name, maxRequestBytes: options.maxRequestBytes }, 'Mongrel2 sent a message over --max-request-bytes: ZeroMQ dropped the connection (and what was in flight on it); reconnected');
          },
          sendTimeoutMs: options.sendTimeoutMs,
          onReadyChange: () => this.#linksChanged(),
        }),
    );
    this.#replyFailed = this.links.map((link) => (err: unknown) => {
      this.scheduler.stats.failed('reply-failed');
      this.#log.warn({ err, link: link.name }, 'reply not handed to Mongrel2 within the send timeout');
    });
    this.#port = new WorkerPort({ endpoint: options.bind, curve: options.curve, counters: this.scheduler.stats, maxMessageBytes: options.maxMessageBytes }, this);
    this.push = new PushRouter(
      {
        post: (server, frame) => this.#post(server, frame),
        toAnyWorker: (frames) => this.#toAnyWorker(frames),
        eventToAnyWorker: (tag, id, payload) => this.#eventToAnyWorker(tag, id, payload),
        toWorker: (address, frames) => this.#port.send(address, frames),
      },
      this.scheduler.stats,
      this.#log,
      () => performance.now(),
    );
    this.#crashSweep = new CrashSweep({
      controlSpecs: options.controlSpecs ?? [],
      // Long enough for every live worker to reconnect, say HELLO and hand over (a worker silent for longer is
      // treated as hung anyway).
      graceMs: options.heartbeatTimeoutMs,
      timeoutMs: options.sendTimeoutMs,
      logger: this.#log,
      stats: this.scheduler.stats,
      accepting: () => this.scheduler.accepting,
      close: (server, connection, action) => this.#closeConnection(server, connection, action),
    });
    this.#handover = new HandoverDesk(
      {
        servers: this.links.length,
        forward: (server, frame) => this.reply(server, frame),
        close: (server, connection, action) => this.#closeConnection(server, connection, action),
        touched: (server, connection) => this.#crashSweep.touched(server, connection),
      },
      this.scheduler.stats,
    );
    this.#errorReply = serializeResponse(
      {
        version: 'HTTP/1.1',
        status: 503,
        headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Retry-After', String(options.retryAfterSeconds)], ['Connection', 'close']],
      },
      Buffer.from('service unavailable: no worker could take this request\n'),
    );
    this.#timeoutReply = serializeResponse(
      { version: 'HTTP/1.1', status: 504, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Connection', 'close']] },
      Buffer.from('gateway timeout: the worker did not answer in time\n'),
    );
  }

  /** Every configured Mongrel2 is connected and subscribed to replies. */
  get ready(): boolean {
    return this.links.every((l) => l.ready);
  }

  /** Mongrel2 servers ready now. */
  get readyCount(): number {
    return this.links.filter((l) => l.ready).length;
  }

  /** Why the dispatcher is not ready, for `/readyz` and logs; undefined when ready. */
  notReadyReason(): string | undefined {
    const missing = this.links.filter((l) => !l.ready).map((l) => l.name);
    return missing.length === 0 ? undefined : `Mongrel2 not connected: ${missing.join(', ')}`;
  }

  /** Called when `ready` changes. */
  onReadyChange(listener: (ready: boolean) => void): void {
    this.#readyListeners.push(listener);
  }

  /** The ROUTER's monitor events (for logging authentication failures). */
  get workerEvents(): WorkerPort['events'] {
    return this.#port.events;
  }

  /** Bind the worker endpoint and start reading from every Mongrel2. */
  async start(): Promise<void> {
    await this.#port.start();
    this.#readLoops = this.links.map((link, server) => this.#readFrom(link, server));
    this.#sweep = setInterval(() => {
      this.scheduler.checkLiveness();
      this.scheduler.expire();
      this.push.sweep();
      this.#wakeReaders();
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  /**
   * Stop reading from Mongrel2, wait (up to `drainMs`) until every request was answered, answer what is left
   * with 503, hand the replies to Mongrel2 (up to `lingerMs`) and close every socket.
   */
  async stop(drainMs: number, lingerMs: number): Promise<void> {
    this.#reading = false;
    for (const link of this.links) link.stopReceiving();
    this.#wakeReaders();
    // A waiter, not a poll: the scheduler wakes it when its last request is answered, or the deadline passes.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.scheduler.settled(), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    const left = this.scheduler.failQueued('shutdown') + this.scheduler.abandonInFlight('shutdown');
    if (left > 0) this.#log.warn({ event: 'dispatcher.drain.timeout', answered503: left }, 'drain deadline: unanswered requests got 503');
    clearInterval(this.#sweep);
    this.#crashSweep.close();
    // Everything given out is answered: no worker may hand any of it over to a successor.
    for (const worker of this.scheduler.workers()) this.#port.control(worker.address, Command.GOODBYE, { instance: this.instance });
    await this.#port.flushed();
    this.#port.close();
    this.push.close();
    await Promise.all(this.links.map((l) => l.close(lingerMs)));
    await Promise.all(this.#readLoops);
  }

  // --- Mongrel2 side -------------------------------------------------------------------------------------------

  async #readFrom(link: Mongrel2Link, server: number): Promise<void> {
    while (this.#reading) {
      if (!this.scheduler.accepting) {
        await new Promise<void>((resolve) => this.#resume.push(resolve));
        continue;
      }
      let delivery;
      try {
        delivery = await link.receive();
      } catch (err) {
        this.#log.error({ err, link: link.name }, 'receive from Mongrel2 failed; this link stops reading');
        return;
      }
      if (delivery === null) return;
      this.push.fromMongrel2(server, delivery.frame);
      this.#crashSweep.noteRequest(server, delivery.frame);
      this.scheduler.arrive(server, delivery.frame);
    }
  }

  #wakeReaders(): void {
    if (this.#resume.length === 0 || (this.#reading && !this.scheduler.accepting)) return;
    for (const wake of this.#resume.splice(0)) wake();
  }

  #linksChanged(): void {
    const ready = this.ready;
    if (ready === this.#wasReady) return;
    this.#wasReady = ready;
    if (ready) this.#log.info({ event: 'dispatcher.mongrel2.ready', servers: this.links.length }, 'dispatcher.mongrel2.ready');
    else this.#log.warn({ event: 'dispatcher.mongrel2.lost', reason: this.notReadyReason() }, 'dispatcher.mongrel2.lost');
    for (const worker of this.scheduler.workers()) this.#port.control(worker.address, Command.STATUS, { ready });
    for (const listener of this.#readyListeners) listener(ready);
  }

  // --- SchedulerEffects ----------------------------------------------------------------------------------------

  request(worker: WorkerEntry, req: PendingRequest): void {
    this.#port.add(worker.key, worker.address, Tag.REQUEST, req.id, req.server, req.frame);
  }

  notice(worker: WorkerEntry, server: number, frame: Buffer): void {
    this.#port.add(worker.key, worker.address, Tag.NOTICE, 0, server, frame);
  }

  reply(server: number, frame: Buffer): void {
    // A push held for merging goes first: replies and pushes keep their order (push-router.ts). Pushes are held
    // only for servers learned from their own messages, so for an unknown `server` this does nothing.
    this.push.flush(server);
    this.#post(server, frame);
  }

  /** A frame to Mongrel2 `server` as it is: a reply (after {@link reply} flushed held pushes) or a push message. */
  #post(server: number, frame: Buffer): void {
    const link = this.links[server];
    const failed = this.#replyFailed[server];
    if (link === undefined || failed === undefined) {
      this.scheduler.stats.protocolErrors += 1;
      return;
    }
    link.post(frame, failed);
  }

  fail(req: PendingRequest, action: FailureAction, reason: FailureReason): void {
    // The id is read from the frame only when the line is written (never on the request path).
    if (this.#log.isLevelEnabled('debug')) {
      const requestId = peekRequestId(req.frame, req.pathAt) ?? dispatchedRequestId(req.id);
      const connId = splitConnection(req.connectionId).connId;
      this.#log.debug({ event: 'dispatcher.request.failed', reason, action, connId, server: req.server, requestId }, 'request answered by the dispatcher');
    }
    this.#closeConnection(req.server, req.connectionId, action);
  }

  /**
   * Answer a client connection from the dispatcher (a request it gives up on, or one of a crashed predecessor):
   * `error` = 503, `timeout` = 504, each followed by a close; `close` = just close.
   */
  #closeConnection(server: number, connection: string, action: FailureAction): void {
    const { sender, connId } = splitConnection(connection);
    const body = action === 'error' ? this.#errorReply : action === 'timeout' ? this.#timeoutReply : undefined;
    if (body !== undefined) for (const frame of encodeReply(sender, [connId], body)) this.reply(server, frame);
    for (const frame of encodeClose(sender, [connId])) this.reply(server, frame);
  }

  // --- WorkerPortHandler ---------------------------------------------------------------------------------------

  disconnected(key: string): void {
    const worker = this.scheduler.worker(key);
    this.#port.forget(key);
    if (worker === undefined) return this.#unregisteredDropped();
    this.scheduler.lost(worker, 'disconnected');
    this.#wakeReaders();
  }

  unreachable(key: string, err: unknown): void {
    const worker = this.scheduler.worker(key);
    this.#port.forget(key);
    if (worker === undefined) return;
    this.#log.warn({ event: 'dispatcher.worker.unreachable', worker: worker.label, error: errorMessage(err) }, 'send to worker failed');
    this.scheduler.lost(worker, 'unreachable');
  }

  message(key: string, address: Buffer, command: number, frames: readonly Buffer[]): void {
    switch (command) {
      case Command.BATCH: {
        const worker = this.scheduler.touch(key);
        // A new connection's batches before its HELLO may be replies for a crashed predecessor (handover-desk.ts).
        if (worker === undefined) return this.#handover.offerLeftover(key, frames, performance.now()) ? undefined : this.#unknown(address);
        this.scheduler.stats.batchesIn += 1;
        const problem = this.#port.readEntries(frames, (tag, id, _server, payload) => this.#entry(worker, tag, id, payload));
        if (problem !== undefined) this.#protocolError(worker.label, problem);
        this.#wakeReaders();
        return;
      }
      case Command.PUSH: {
        // Pushes need no registration (they hold no request); a known worker is alive.
        this.scheduler.touch(key);
        const problem = this.push.handle(address, frames);
        if (problem !== undefined) this.#protocolError(key, problem);
        return;
      }
      case Command.HELLO:
        return this.#hello(key, address, frames[1]);
      case Command.HANDOVER: {
        // Replies for requests of a crashed predecessor: a command of its own (see handover-desk.ts for why it is
        // accepted), only from a registered worker.
        const worker = this.scheduler.touch(key);
        if (worker === undefined) return this.#unknown(address);
        const windowEnds = this.#handingOver.get(key);
        if (windowEnds === undefined || performance.now() > windowEnds) {
          this.scheduler.stats.recovered('refused');
          return this.#protocolError(worker.label, windowEnds === undefined ? 'HANDOVER from a worker that named no vanished dispatcher' : 'HANDOVER after its window closed');
        }
        const problem = this.#handover.accept(key, frames);
        if (problem !== undefined) this.#protocolError(worker.label, problem);
        this.#log.info({ event: 'dispatcher.handover', worker: worker.label, entries: Math.floor((frames[1]?.length ?? 0) / ENTRY_BYTES), held: this.#handover.held }, 'a worker handed over replies of the previous dispatcher');
        return;
      }
      case Command.PING:
        if (this.scheduler.touch(key) === undefined) this.#unknown(address);
        return;
      case Command.LEAVE: {
        const worker = this.scheduler.touch(key);
        if (worker !== undefined) {
          this.scheduler.leave(worker);
          this.#log.info({ event: 'dispatcher.worker.leave', worker: worker.label, inFlight: worker.inFlight.size }, 'worker leaving');
        }
        // Its DEALER is FIFO: whatever we sent before this LEFT reaches it first, nothing comes after.
        this.#port.control(address, Command.LEFT);
        return;
      }
      default:
        return this.#protocolError(key, `unknown command ${command}`);
    }
  }

  #entry(worker: WorkerEntry, tag: number, id: number, payload: Buffer | undefined): void {
    switch (tag) {
      case Tag.REPLY:
        if (payload !== undefined) this.scheduler.reply(worker, id, payload);
        return;
      case Tag.DONE:
        return this.scheduler.done(worker, id);
      case Tag.RETRY_YES:
        return this.scheduler.retryHint(worker, id, RetryHint.YES);
      case Tag.RETRY_NO:
        return this.scheduler.retryHint(worker, id, RetryHint.NO);
      default:
        return this.#protocolError(worker.label, `unknown batch tag ${tag}`);
    }
  }

  #hello(key: string, address: Buffer, bodyFrame: Buffer | undefined): void {
    const body = parseJsonFrame(bodyFrame);
    const capacity = body === undefined ? 0 : intField(body, 'capacity', 0);
    if (body === undefined || capacity < 1 || intField(body, 'v', 0) !== WIRE_VERSION) {
      return this.#protocolError(key, `bad HELLO ${bodyFrame?.toString('utf8').slice(0, 200) ?? '(no body)'}`);
    }
    const slot = body['slot'];
    const label = typeof slot === 'number' && Number.isSafeInteger(slot) && slot >= 0 && slot < 100_000 ? String(slot) : 'external';
    const known = this.scheduler.worker(key) !== undefined;
    // WELCOME goes out before the requests the registration lets the scheduler send (same socket, FIFO).
    this.#port.control(address, Command.WELCOME, {
      v: WIRE_VERSION,
      servers: this.links.length,
      ready: this.ready,
      heartbeatMs: this.#opts.heartbeatIntervalMs,
      instance: this.instance,
      ...(this.#opts.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#opts.maxMessageBytes }),
    });
    const worker = this.scheduler.hello(key, address, capacity, intField(body, 'inFlight', 0), label);
    if (!known) {
      this.#log.info({ event: 'dispatcher.worker.hello', worker: label, workerPid: body['pid'], capacity: worker.capacity, inFlight: worker.foreign }, 'worker registered');
    }
    if (worker.capacity < capacity) {
      this.#log.warn(
        { event: 'dispatcher.worker.credit-clamped', worker: label, workerPid: body['pid'], claimed: capacity, capacity: worker.capacity },
        'worker claimed more credit than --max-worker-credit: clamped',
      );
    }
    // Its previous dispatcher dropped without a GOODBYE: if that was another instance, it crashed.
    const vanished = body['vanished'];
    const predecessorVanished = typeof vanished === 'string' && vanished !== this.instance;
    if (predecessorVanished) {
      this.#handingOver.set(key, this.#handoverWindowEnds);
      this.#crashSweep.predecessorDied(vanished);
    }
    this.scheduler.stats.lateReplies += this.#handover.helloFrom(key, predecessorVanished);
  }

  /**
   * A peer that never registered lost its connection. ZeroMQ reports nothing more specific when it refuses a
   * message over `--max-message-bytes` (it drops the connection: docs/zeromq.md §3.9), so this is where a rogue
   * peer's oversize frame shows, counted and logged with the limit; a registered worker's drop is a lost worker.
   */
  #unregisteredDropped(): void {
    this.scheduler.stats.peerDropped('workers');
    this.#log.warn(
      { event: 'dispatcher.peer.dropped', socket: 'workers', maxMessageBytes: this.#opts.maxMessageBytes },
      'a peer that never said HELLO lost its connection: it sent a message over --max-message-bytes (ZeroMQ refused it), or left without registering',
    );
  }

  /** An EVENTS message to the live worker with the most free slots (disconnect events run on one worker). */
  #toAnyWorker(frames: Buffer[]): boolean {
    const best = this.#eventWorker();
    if (best === undefined) return false;
    this.#port.addEvents(best.key, best.address, frames);
    return true;
  }

  /** One EVENTS entry for the live worker with the most free slots, in its EVENTS message of this turn. */
  #eventToAnyWorker(tag: number, id: number, payload: Buffer): boolean {
    const best = this.#eventWorker();
    if (best === undefined) return false;
    this.#port.addEvent(best.key, best.address, tag, id, payload);
    return true;
  }

  #eventWorker(): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    for (const w of this.scheduler.workers()) {
      if (w.leaving) continue;
      if (best === undefined || w.free > best.free) best = w;
    }
    return best;
  }

  #unknown(address: Buffer): void {
    this.#port.control(address, Command.UNKNOWN);
  }

  #protocolError(who: string, problem: string): void {
    this.scheduler.stats.protocolErrors += 1;
    this.#log.warn({ event: 'dispatcher.protocol.error', worker: who, problem }, 'malformed message from a worker skipped');
  }

  misaddressed(worker: WorkerEntry, req: PendingRequest, frame: Buffer): void {
    if (worker.misaddressedLogged) return;
    worker.misaddressedLogged = true;
    // The reply's head only (its sender and target list), never its body; capped, latin1 like the wire.
    const head = frame.subarray(0, Math.min(frame.length, 120)).toString('latin1');
    this.#log.warn(
      { event: 'dispatcher.reply.misaddressed', worker: worker.label, connection: req.connectionId, reply: head.slice(0, head.indexOf(', ') + 1 || head.length) },
      'reply not addressed to its request\'s connection: dropped (logged once per worker, counted in m2pool_dispatcher_misaddressed_replies_total)',
    );
  }

  workerLost(worker: WorkerEntry, cause: LossCause): void {
    // What it held for a crashed predecessor has nobody else to answer it.
    this.#handover.workerLost(worker.key);
    this.#handingOver.delete(worker.key);
    if (cause === 'left') this.#log.info({ event: 'dispatcher.worker.left', worker: worker.label }, 'worker left');
    else this.#log.warn({ event: 'dispatcher.worker.lost', worker: worker.label, cause, inFlight: worker.inFlight.size }, 'worker lost');
  }
}
