/**
 * The worker's receive loop: read from every link (one message per free in-flight slot), parse, classify,
 * dispatch to the app, reply in per-connection order, count every outcome, and drain on stop.
 * @module
 */
import type { LevelWithSilent, Logger } from 'pino';
import { Cancellation } from '../app/cancellation';
import { ErrorCode, errorMessage, quote } from '../errors';
import { UNMATCHED_ROUTE } from '../metrics/definitions';
import type { WorkerMetrics } from '../metrics/worker-metrics';
import { observeBoth, type RequestObservation, type WorkerObserver } from '../metrics/worker-observer';
import type { ReplySink } from '../http/sink';
import { classify, type ClassifyOptions } from '../protocol/classify';
import { serializeResponse } from '../protocol/http-response';
import { parseMessage } from '../protocol/request-parser';
import type { RawMessage } from '../protocol/types';
import { encodeCloseFrame, WS_CLOSE } from '../protocol/websocket';
import type { Delivery, Link, Transport } from '../transport/transport';
import { handlesMessages, messageOptions, readsBodySource, type DispatchSummary, type MessageOptions, type WorkerApp } from '../adapters/app-contract';
import { InFlightLimiter } from './in-flight-limiter';
import { OrderedReplies } from './ordered-replies';
import { ConnectionWork } from './connection-work';
import { DeliverySink, type SinkContext } from './delivery-sink';
import { ReplyCoalescer } from './reply-coalescer';
import { WorkerStats, type Outcome } from './stats';
import { checkUploadNotice, openUpload, readUpload, removeUpload, UploadBody, type UploadOpen, type UploadRead, type UploadRefusal, type UploadStore } from './upload-store';

/** Settings of a {@link WorkerRuntime}. */
export interface RuntimeOptions {
  readonly transport: Transport;
  readonly app: WorkerApp;
  readonly logger: Logger;
  /** Requests handled at once; at the cap the worker stops reading. */
  readonly maxInFlight: number;
  /** Mongrel2's `upload.temp_store` template and `limits.content_length`; unset = every upload refused. */
  readonly uploadStore?: UploadStore | undefined;
  /** Largest async upload accepted (larger ones get 413); read into memory unless it is multipart/form-data (parsed from disk). */
  readonly maxUploadBytes: number;
  /** Level of the one-line-per-request log. */
  readonly requestLogLevel: LevelWithSilent;
  /** How long replies may take to flush when the worker closes. */
  readonly lingerMs: number;
  /** Prometheus metrics of this worker (pushed to the supervisor by the caller). */
  readonly metrics?: WorkerMetrics | undefined;
  /**
   * A disconnect notice came for a connection with no request here, while relaying is on. Only transports that
   * misroute notices (`Transport.misroutesNotices`, the direct topology) need it: see `disconnect-relay-plug.ts`.
   */
  readonly onUnclaimedDisconnect?: ((key: string) => void) | undefined;
  /**
   * A client connection went away (`UUID:ID`): run the app's disconnect event. Called for Mongrel2's notices only
   * when the transport does not report disconnects itself (direct topology; the dispatcher sends its own events).
   */
  readonly onDisconnectEvent?: ((conn: string) => void) | undefined;
}

/** What one finished request reports to the metrics; one mutable object per request, no spreads. */
class Observation implements RequestObservation {
  route = UNMATCHED_ROUTE;
  status = 0;
  bytesSent = 0;
  durationMs = 0;
  outcome: Outcome = 'error';
  constructor(public method: string) {}
}

/** Whether the message declares a `multipart/form-data` body (whose async upload is then parsed from disk). */
function isMultipart(raw: RawMessage): boolean {
  const type = raw.headers['content-type'];
  return typeof type === 'string' && /^\s*multipart\/form-data\s*(;|$)/i.test(type);
}

/** Why an in-flight request was aborted by the worker itself. */
class WorkerStopping extends Error {
  constructor() {
    super('worker stopping');
  }
}

const EXCERPT_BYTES = 48;

/** What the runtime closes an in-flight WebSocket event with when the worker stops under it (1001 Going Away). */
const GOING_AWAY = encodeCloseFrame(WS_CLOSE.GOING_AWAY, 'worker stopping');

/** One worker process's request engine. */
export class WorkerRuntime {
  readonly stats = new WorkerStats();
  /** Where every fact goes, told once: the stats, and the metrics when on. */
  readonly #record: WorkerObserver;
  readonly #opts: RuntimeOptions;
  readonly #limiter: InFlightLimiter;
  readonly #order = new OrderedReplies();
  /** What every request's reply sink shares (WebSocket replies batched per connection: docs/mongrel2.md §4.4). */
  readonly #sinkContext: SinkContext;
  /** Whether a multipart async upload may stay on disk for the app (see `readsBodySource`). */
  readonly #diskBodies: boolean;
  /** What `classify` gets for every message (built once, not per request). */
  readonly #classifyOptions: ClassifyOptions;
  /** In-flight aborters per connection key (with their start time), so a disconnect notice can cancel that connection's work. */
  readonly #aborters = new ConnectionWork();
  /** Pass notices for unknown connections to `onUnclaimedDisconnect` (the supervisor turns it on when useful). */
  relayDisconnects = false;
  readonly #idleWaiters = new Set<() => void>();
  /** WebSocket frames and socket messages being handled: not HTTP requests, but drain waits for them too. */
  #messagesInFlight = 0;
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | undefined;

  constructor(options: RuntimeOptions) {
    this.#opts = options;
    this.#limiter = new InFlightLimiter(options.maxInFlight);
    this.#record = observeBoth(this.stats, options.metrics);
    this.#sinkContext = { record: this.#record, logger: options.logger, coalescer: new ReplyCoalescer() };
    this.#diskBodies = readsBodySource(options.app);
    const store = options.uploadStore;
    this.#classifyOptions = store === undefined ? {} : { uploadDir: store.dir };
  }

  /** Start reading from every link. The transport must already be started. */
  start(): void {
    this.#loops = this.#opts.transport.links.map((link) => this.#readLoop(link));
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * Stop reading, let in-flight requests finish within `drainTimeoutMs`, answer what is left with 503,
   * flush replies and close the transport. Idempotent: later calls join the first.
   */
  stop(drainTimeoutMs: number): Promise<void> {
    this.#stopping ??= this.#drain(drainTimeoutMs);
    return this.#stopping;
  }

  async #drain(drainTimeoutMs: number): Promise<void> {
    const { transport, logger } = this.#opts;
    for (const link of transport.links) link.stopReceiving();
    await Promise.all(this.#loops);
    logger.info({ event: 'worker.drain', inFlight: this.stats.inFlight, drainTimeoutMs }, 'worker.drain');
    if (!(await this.#whenIdle(drainTimeoutMs))) {
      logger.warn({ event: 'worker.drain.timeout', code: ErrorCode.SHUTDOWN_TIMEOUT, inFlight: this.stats.inFlight }, 'drain timeout: aborting in-flight requests');
      this.#aborters.abortAll(() => new WorkerStopping());
      await this.#whenIdle(this.#opts.lingerMs);
    }
    await transport.close(this.#opts.lingerMs);
  }

  get #idle(): boolean {
    return this.stats.inFlight === 0 && this.#messagesInFlight === 0;
  }

  #whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#idle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean): void => {
        clearTimeout(timer);
        this.#idleWaiters.delete(wake);
        resolve(idle);
      };
      const wake = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idleWaiters.add(wake);
    });
  }

  async #readLoop(link: Link): Promise<void> {
    for (;;) {
      if (!this.#limiter.tryAcquire()) await this.#limiter.acquire();
      let delivery: Delivery | null;
      try {
        delivery = await link.receive();
      } catch (err) {
        this.#limiter.release();
        this.#opts.logger.error({ err, link: link.name }, 'receive failed; link stops reading');
        return;
      }
      if (delivery === null) {
        this.#limiter.release();
        return;
      }
      this.#handle(link, delivery);
    }
  }

  /**
   * One delivery, then its in-flight slot back; never throws, never leaves a rejection unhandled. Not `async`:
   * a request costs one promise reaction here, not an async frame per level (the worker's hot path).
   */
  #handle(link: Link, delivery: Delivery): void {
    let work: Promise<void> | undefined;
    try {
      work = this.#handleDelivery(link, delivery);
    } catch (err) {
      this.#failedOutsideRequest(link, delivery.frame, err);
      this.#limiter.release();
      return;
    }
    if (work === undefined) this.#limiter.release();
    else work.then(this.#release, (err: unknown) => {
      this.#failedOutsideRequest(link, delivery.frame, err);
      this.#limiter.release();
    });
  }

  readonly #release = (): void => this.#limiter.release();

  #failedOutsideRequest(link: Link, frame: Buffer, err: unknown): void {
    this.#record.internalError();
    this.#opts.logger.error(
      { event: 'message.failed', link: link.name, bytes: frame.length, excerpt: frame.subarray(0, EXCERPT_BYTES).toString('hex'), error: quote(errorMessage(err), 200) },
      'message.failed',
    );
  }

  /**
   * One delivery, to its one `done()`: paths that open a reply sink hand `done` to it (it fires once the
   * request finished and its ordered replies were handed over, so a dispatcher sees the reply before the
   * completion); every other path calls it here. Returns the work still running, if any. A throw or a rejection
   * is a bug (every request ends in an outcome itself): `#handle` is the backstop that keeps it from becoming an
   * unhandled rejection (a process exit) and losing every other request.
   */
  #handleDelivery(link: Link, delivery: Delivery): Promise<void> | undefined {
    const frame = delivery.frame;
    let msg: RawMessage;
    try {
      msg = parseMessage(frame);
    } catch (err) {
      delivery.done();
      this.#record.malformedMessage();
      this.#opts.logger.warn(
        { event: 'message.malformed', link: link.name, bytes: frame.length, excerpt: frame.subarray(0, EXCERPT_BYTES).toString('hex'), error: errorMessage(err) },
        'malformed message skipped',
      );
      return undefined;
    }
    // Which link serves which Mongrel2 UUID, for pushes: a Map lookup per message.
    this.#opts.transport.pushes.learn(msg.sender, delivery.server);
    const work = this.#route(delivery, msg);
    if (work === undefined) delivery.done();
    return work;
  }

  /** The work of a message that gets a reply sink (which calls `delivery.done()`), or undefined for one that gets none. */
  #route(delivery: Delivery, msg: RawMessage): Promise<void> | undefined {
    const store = this.#opts.uploadStore;
    const message = classify(msg, this.#classifyOptions);
    switch (message.kind) {
      case 'request': {
        const file = message.upload?.file;
        const refusal = file === undefined || store === undefined ? undefined : checkUploadNotice(store, msg, file);
        if (refusal !== undefined) return this.#refuseUpload(delivery, msg, refusal);
        return this.#serve(delivery, message.msg, file);
      }
      case 'disconnect': {
        this.#record.disconnectNotice();
        const key = connectionKey(delivery.server, msg);
        if (this.abortConnection(key) === 0 && this.relayDisconnects) this.#opts.onUnclaimedDisconnect?.(key);
        if (!this.#opts.transport.pushes.reportsDisconnects) this.#opts.onDisconnectEvent?.(`${msg.sender}:${msg.connId}`);
        return undefined;
      }
      case 'credits':
        this.#record.creditNotice();
        return undefined;
      case 'invalid':
        if (message.upload === true) return this.#refuseUpload(delivery, msg, store === undefined ? 'no-store' : 'headers');
        return this.#reject(delivery, msg, 400, message.reason);
      case 'upload-stream':
        // NOTE: upload.stream=1 needs every chunk at one process; a pool cannot promise that (docs/mongrel2.md §3.5).
        if (msg.headers['METHOD'] !== undefined) return this.#reject(delivery, msg, 501, 'upload.stream is not supported; use async uploads');
        this.#record.otherNotice();
        return undefined;
      case 'websocket-handshake': {
        // A handshake is an HTTP request (answered 101 or refused): it is counted like one.
        const app = this.#opts.app;
        if (!handlesMessages(app)) return this.#reject(delivery, msg, 404, 'no websocket route');
        return this.#serve(delivery, msg, undefined, (m, sink, options) =>
          app.dispatchHandshake(m, message.accept, sink, options).then((result) => {
            // The room hub keeps the handshake, to run the route's close handler if the client just drops.
            if (result.status === 101) this.#opts.transport.pushes.watch(`${msg.sender}:${msg.connId}`, delivery.frame);
            return result;
          }));
      }
      case 'websocket-frame': {
        // Frames are messages on an upgraded connection, not requests: counted apart from the outcomes.
        this.#record.websocketFrame();
        const app = this.#opts.app;
        if (!handlesMessages(app)) return undefined;
        return this.#serveMessage(delivery, msg, 'websocket.frame', GOING_AWAY, (sink, options) =>
          app.dispatchFrame(message, sink, options).then((result) => {
            // The framework closed it (close handshake, protocol error): it leaves its rooms now.
            if (result.closeCode !== 0) this.#opts.transport.pushes.gone(`${msg.sender}:${msg.connId}`);
            return result;
          }));
      }
      case 'socket-message': {
        this.#record.socketMessage();
        const app = this.#opts.app;
        if (!handlesMessages(app)) return undefined;
        return this.#serveMessage(delivery, msg, 'socket.message', undefined, (sink, options) => app.dispatchSocketMessage(message, sink, options));
      }
      case 'upload-start': {
        // Mongrel2 is streaming the body to disk; an empty reply now is its "kill" message (docs/mongrel2.md §3.4), so an upload
        // we would refuse anyway is stopped here instead of after the whole body arrived. A start that is not
        // Mongrel2's (see upload-store.ts) is answered 400 at once, so a forged one never leaves its client waiting.
        const refusal = store === undefined ? 'no-store' : checkUploadNotice(store, msg, message.file);
        if (refusal !== undefined) return this.#refuseUpload(delivery, msg, refusal);
        const declared = Number(msg.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.#opts.maxUploadBytes) {
          return this.#reject(delivery, msg, 413, `upload of ${declared} bytes is over the limit of ${this.#opts.maxUploadBytes}`);
        }
        this.#record.otherNotice();
        return undefined;
      }
    }
  }

  async #serve(
    delivery: Delivery,
    raw: RawMessage,
    uploadFile: string | undefined,
    run: (msg: RawMessage, sink: ReplySink, options: MessageOptions) => Promise<DispatchSummary> = (msg, sink, options) => this.#opts.app.dispatch(msg, sink, options),
  ): Promise<void> {
    const key = connectionKey(delivery.server, raw);
    const { logger, requestLogLevel } = this.#opts;
    if (logger.isLevelEnabled('debug')) logger.debug({ event: 'request.start', connId: raw.connId, path: raw.path }, 'request.start');
    const sink = this.#order.add(key, this.#writer(delivery, raw, key));
    const aborter = new Cancellation();
    const started = performance.now();
    this.#aborters.add(key, aborter, started);
    this.#begin(started);
    const observation = new Observation(methodOf(raw));
    let upload: UploadRead | UploadOpen | undefined;
    let onDisk: UploadBody | undefined;
    try {
      // A multipart body stays on disk and is parsed from the file as a stream when the app can;
      // any other body is read into memory, as `req.body`.
      upload = uploadFile === undefined ? undefined : this.#diskBodies && isMultipart(raw) ? await openUpload(uploadFile, this.#opts.maxUploadBytes) : await readUpload(uploadFile, this.#opts.maxUploadBytes);
      if (upload !== undefined && upload.kind !== 'ok') {
        const status = upload.kind === 'too-large' ? 413 : 400;
        if (upload.kind === 'refused') this.#countRefusal(delivery, raw, upload.reason);
        observation.status = status;
        observation.bytesSent = await this.#simpleReply(sink, status, status === 413 ? 'upload too large' : 'upload refused');
        return;
      }
      if (upload !== undefined && 'handle' in upload) onDisk = new UploadBody(upload.handle, upload.size);
      const msg = upload === undefined || !('body' in upload) ? raw : { ...raw, body: upload.body };
      const result = await run(msg, sink, messageOptions(aborter, this.#opts.logger, delivery, onDisk));
      observation.outcome = result.outcome;
      observation.route = result.route;
      observation.method = result.method;
      observation.status = result.status;
      observation.bytesSent = result.bytesSent;
      if (result.outcome === 'aborted' && aborter.reason instanceof WorkerStopping && result.bytesSent === 0) {
        observation.status = 503;
        observation.bytesSent = await this.#simpleReply(sink, 503, 'worker stopping');
        observation.outcome = 'error';
      }
      if (logger.isLevelEnabled(requestLogLevel)) {
        logger[requestLogLevel](
          { connId: raw.connId, requestId: result.requestId, method: result.method, path: raw.path, route: result.route, status: observation.status, outcome: observation.outcome, durationMs: Math.round(result.durationMs * 100) / 100 },
          'request',
        );
      }
    } catch (err) {
      this.#opts.logger.error({ err, connId: raw.connId, path: raw.path }, 'request failed outside the app');
      observation.outcome = 'closed';
      await sink.close().catch(() => undefined);
    } finally {
      sink.finish();
      this.#aborters.remove(key, aborter);
      const ended = performance.now();
      observation.durationMs = ended - started;
      this.#end(observation, ended);
      if (onDisk !== undefined) await onDisk.close();
      // Only a file readUpload accepted is Mongrel2's to clean up; a refused name is never touched.
      if (uploadFile !== undefined && upload !== undefined && upload.kind !== 'refused') await removeUpload(uploadFile);
      this.#wakeIfIdle();
    }
  }

  /**
   * Handle a WebSocket frame or a socket message: replies ordered per connection like HTTP responses, cancelled
   * by a disconnect notice, awaited by drain. `onWorkerStop`: what to send when the drain deadline aborts it.
   */
  async #serveMessage(
    delivery: Delivery,
    raw: RawMessage,
    event: string,
    onWorkerStop: Buffer | undefined,
    run: (sink: ReplySink, options: MessageOptions) => Promise<{ outcome: string; route: string; durationMs: number }>,
  ): Promise<void> {
    const key = connectionKey(delivery.server, raw);
    const sink = this.#order.add(key, this.#writer(delivery, raw, key));
    const aborter = new Cancellation();
    this.#aborters.add(key, aborter, performance.now());
    this.#messagesInFlight += 1;
    try {
      const { durationMs, ...result } = await run(sink, messageOptions(aborter, this.#opts.logger));
      if (result.outcome === 'aborted' && aborter.reason instanceof WorkerStopping && onWorkerStop !== undefined) {
        await sink.write(onWorkerStop).catch(() => undefined);
        await sink.close().catch(() => undefined);
      }
      this.#opts.logger.debug({ event, connId: raw.connId, ...result, durationMs: Math.round(durationMs * 100) / 100 }, event);
    } catch (err) {
      this.#opts.logger.error({ err, connId: raw.connId, path: raw.path }, `${event} failed outside the app`);
    } finally {
      sink.finish();
      this.#aborters.remove(key, aborter);
      this.#messagesInFlight -= 1;
      this.#wakeIfIdle();
    }
  }

  /** Abort every in-flight request and message of connection `key` (its client went away). Returns how many. */
  abortConnection(key: string): number {
    return this.#aborters.abort(key, new Error('client disconnected'));
  }

  /** Keys of connections with work in flight for at least `minAgeMs` (reported so another worker can relay their notices). */
  waitingConnections(minAgeMs: number): string[] {
    return this.#aborters.startedBy(performance.now() - minAgeMs);
  }

  #wakeIfIdle(): void {
    if (this.#idle) for (const wake of [...this.#idleWaiters]) wake();
  }

  /** Count and log an upload refused as not Mongrel2's own (the name is quoted, capped). */
  #countRefusal(delivery: Delivery, raw: RawMessage, reason: UploadRefusal): void {
    this.#record.uploadRefused();
    const h = raw.headers;
    const file = h['x-mongrel2-upload-done'] ?? h['x-mongrel2-upload-start'];
    this.#opts.logger.warn(
      { event: 'upload.refused', server: delivery.server, connId: raw.connId, reason, file: typeof file === 'string' ? quote(file) : '(repeated or absent)' },
      'upload.refused',
    );
  }

  /** Refuse an upload notice with 400 before reading anything: counted, logged, the file left alone. */
  #refuseUpload(delivery: Delivery, raw: RawMessage, reason: UploadRefusal): Promise<void> {
    this.#countRefusal(delivery, raw, reason);
    return this.#reject(delivery, raw, 400, 'upload refused', false);
  }

  /** Answer a message the app never sees (bad or unsupported) with a small text response, then close. */
  async #reject(delivery: Delivery, raw: RawMessage, status: number, reason: string, log = true): Promise<void> {
    const key = connectionKey(delivery.server, raw);
    const sink = this.#order.add(key, this.#writer(delivery, raw, key));
    const started = performance.now();
    this.#begin(started);
    const observation = new Observation(methodOf(raw));
    observation.status = status;
    try {
      observation.bytesSent = await this.#simpleReply(sink, status, reason);
      if (log) this.#opts.logger.warn({ event: 'request.rejected', connId: raw.connId, path: raw.path, status, reason }, 'request rejected');
    } finally {
      sink.finish();
      const ended = performance.now();
      observation.durationMs = ended - started;
      this.#end(observation, ended);
    }
  }

  /** Returns the bytes handed to the sink. */
  async #simpleReply(sink: ReplySink, status: number, text: string): Promise<number> {
    const head = { version: 'HTTP/1.1' as const, status, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Connection', 'close']] as Array<[string, string]> };
    const bytes = serializeResponse(head, Buffer.from(`${text}\n`));
    const sent = await sink.write(bytes).then(() => bytes.length, () => 0);
    await sink.close().catch(() => undefined);
    return sent;
  }

  /** `now`: the request's start, which the caller has already read. */
  #begin(now: number): void {
    this.#record.requestStarted(now);
  }

  #end(observation: Observation, now: number): void {
    this.#record.requestEnded(observation, now);
  }

  /** The request's reply sink: Mongrel2 framing to its connection, in the connection's request order (`OrderedReplies.add`). */
  #writer(delivery: Delivery, raw: RawMessage, key: string): DeliverySink {
    return new DeliverySink(this.#sinkContext, delivery, raw.sender, raw.connId, isWebSocket(raw) ? key : undefined);
  }

}

/** A handshake or frame: its replies go to an upgraded connection. */
function isWebSocket(raw: RawMessage): boolean {
  const method = methodOf(raw);
  return method === 'WEBSOCKET' || method === 'WEBSOCKET_HANDSHAKE';
}

/** The request method as Mongrel2 sent it ('' for messages without one). */
function methodOf(raw: RawMessage): string {
  const method = raw.headers['METHOD'];
  return typeof method === 'string' ? method : '';
}

/** State is keyed by (server, sender, connection id): ids restart per Mongrel2 process and collide across servers. */
function connectionKey(server: number, msg: RawMessage): string {
  return `${server}\u0000${msg.sender}\u0000${msg.connId}`;
}
