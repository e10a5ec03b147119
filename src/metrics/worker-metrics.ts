/**
 * The worker side of pool metrics: plain numbers recorded on the runtime's hot path, and a push loop that sends
 * `m2pool:metrics` snapshots to the supervisor (which merges them and answers scrapes with prom-client; workers
 * never serve `/metrics` themselves). Snapshots are prom-client's `getMetricsAsJSON()` format, written here:
 * a worker only counts a handful of numbers, and prom-client with the OpenTelemetry API it loads cost every
 * worker about 8 MiB of RSS (83 modules) for that.
 * @module
 */
import type { WorkerMessage } from '../ipc/messages';
import { WORKER_METRICS, type MetricSpec } from './definitions';
import { methodLabel, statusClassOf } from './labels';
import { RequestStats } from './request-stats';
import type { RequestObservation, WorkerObserver } from './worker-observer';

export type { RequestObservation };

/** The metrics message a worker sends. */
export type MetricsMessage = Extract<WorkerMessage, { type: 'm2pool:metrics' }>;

/**
 * Delivers one message to the supervisor. Must not throw when the channel is closed; may return a promise that
 * settles once the message was written (e.g. wrapping `process.send(msg, cb)`), which {@link WorkerMetrics.flush} awaits.
 */
export type MetricsSend = (msg: MetricsMessage) => void | Promise<unknown>;

/** Options of {@link WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /**
   * Distinct (route, method) pairs before further routes are counted as `(overflow)`: a guard against a runtime
   * bug passing raw paths as routes, which would grow every snapshot without bound. @default 1000
   */
  readonly maxRouteSeries?: number;
  /** Called when a periodic push fails (snapshot or send). @default ignore */
  readonly onPushError?: (err: unknown) => void;
}

const W = WORKER_METRICS;

/** The unlabelled worker metrics, in snapshot order. */
const SCALARS = [W.requestsInFlight, W.deadlineExpired, W.disconnectNotices, W.malformedMessages, W.uploadsRefused, W.responseBytes, W.replySendFailures, W.linkRefusals, W.pushMessages, W.pushFailures, W.mongrel2EndpointsConnected] as const;

/** Worker-side metrics of one worker process: the Prometheus implementation of {@link WorkerObserver}. */
export class WorkerMetrics implements WorkerObserver {
  readonly #requests: RequestStats;
  /** Values of {@link SCALARS}, by metric name. */
  readonly #scalars = new Map<string, number>(SCALARS.map((spec) => [spec.name, 0]));
  readonly #onPushError: (err: unknown) => void;
  #send: MetricsSend | undefined;
  /** Requests started and not ended (the in-flight gauge, unless {@link inFlight} sets it). */
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #pushing = false;

  constructor(options: WorkerMetricsOptions = {}) {
    this.#onPushError = options.onPushError ?? ((): void => undefined);
    this.#requests = new RequestStats(options.maxRouteSeries ?? 1000);
  }

  /** Count one finished request: `m2pool_requests_total`, the duration histogram and response bytes. */
  observeRequest(o: RequestObservation): void {
    const seconds = o.durationMs > 0 && Number.isFinite(o.durationMs) ? o.durationMs / 1000 : 0;
    this.#requests.observe(o.route, methodLabel(o.method), statusClassOf(o.status, o.outcome), seconds);
    if (o.bytesSent > 0 && Number.isFinite(o.bytesSent)) this.#add(W.responseBytes, o.bytesSent);
  }

  /** A request was read: the in-flight gauge goes up. */
  requestStarted(): void {
    this.#running += 1;
    this.#scalars.set(W.requestsInFlight.name, this.#running);
  }

  /** A request ended: counted (see {@link observeRequest}), a deadline that expired too, and the gauge goes down. */
  requestEnded(o: RequestObservation): void {
    this.observeRequest(o);
    if (o.outcome === 'timeout') this.deadlineExpired();
    this.#running -= 1;
    this.#scalars.set(W.requestsInFlight.name, this.#running);
  }

  /** Credit notices, other notices, WebSocket frames, socket messages and internal errors: not Prometheus numbers. */
  creditNotice(): void {}
  otherNotice(): void {}
  websocketFrame(): void {}
  socketMessage(): void {}
  internalError(): void {}

  /** Set the in-flight gauge (at exit: 0, whatever was abandoned). */
  inFlight(n: number): void {
    if (Number.isFinite(n)) this.#scalars.set(W.requestsInFlight.name, n);
  }

  /** A request deadline expired (the worker answered 504). */
  deadlineExpired(): void {
    this.#add(W.deadlineExpired, 1);
  }

  /** Mongrel2 sent a disconnect notice. */
  disconnectNotice(): void {
    this.#add(W.disconnectNotices, 1);
  }

  /** A message from Mongrel2 did not parse. */
  malformedMessage(): void {
    this.#add(W.malformedMessages, 1);
  }

  /** An async upload was refused as forged or invalid. */
  uploadRefused(): void {
    this.#add(W.uploadsRefused, 1);
  }

  /** A reply could not be handed to Mongrel2 within the send timeout. */
  sendFailure(): void {
    this.#add(W.replySendFailures, 1);
  }

  /** A link refused a message over its size limit (and reconnected). */
  linkRefused(): void {
    this.#add(W.linkRefusals, 1);
  }

  /** `app.push` handed `n` Mongrel2 messages over (`failed`: that many could not be). */
  pushed(n: number, failed: number): void {
    if (n > 0) this.#add(W.pushMessages, n);
    if (failed > 0) this.#add(W.pushFailures, failed);
  }

  /** Mongrel2 servers this worker is connected to now (update on connect/disconnect socket events). */
  endpointsConnected(n: number): void {
    if (Number.isFinite(n)) this.#scalars.set(W.mongrel2EndpointsConnected.name, n);
  }

  /** Every metric as prom-client JSON (`getMetricsAsJSON()`): fresh objects, so later updates do not alter it. */
  async snapshot(): Promise<unknown[]> {
    const scalars = SCALARS.map((spec) => ({
      name: spec.name,
      help: spec.help,
      type: spec.kind,
      values: [{ value: this.#scalars.get(spec.name) ?? 0, labels: {} }],
      aggregator: 'sum',
    }));
    const [requests, durations] = this.#requests.families();
    return [requests, durations, ...scalars];
  }

  #add(spec: MetricSpec, n: number): void {
    this.#scalars.set(spec.name, (this.#scalars.get(spec.name) ?? 0) + n);
  }

  /**
   * Send a snapshot every `intervalMs` through `send` (unref'd timer: it never keeps the worker alive).
   * A tick is skipped while the previous push is still being sent. Returns a function that stops pushing.
   * Calling it again replaces the previous loop.
   */
  startPushing(intervalMs: number, send: MetricsSend): () => void {
    this.stopPushing();
    this.#send = send;
    const timer = setInterval(() => {
      if (this.#pushing) return;
      this.#pushing = true;
      this.#pushOnce(send).then(
        () => {
          this.#pushing = false;
        },
        (err: unknown) => {
          this.#pushing = false;
          this.#onPushError(err);
        },
      );
    }, Math.max(1, intervalMs));
    timer.unref();
    this.#timer = timer;
    return () => {
      if (this.#timer === timer) this.stopPushing();
    };
  }

  /** Stop the periodic push (a later {@link flush} still uses its `send`). */
  stopPushing(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Send one final snapshot now (call at exit, after in-flight requests ended and before the process exits);
   * resolves once `send` settled. Uses `send`, else the one given to {@link startPushing}; no-op without either.
   * Never rejects.
   */
  async flush(send?: MetricsSend): Promise<void> {
    const target = send ?? this.#send;
    if (target === undefined) return;
    try {
      await this.#pushOnce(target);
    } catch (err) {
      this.#onPushError(err);
    }
  }

  async #pushOnce(send: MetricsSend): Promise<void> {
    const metrics = await this.snapshot();
    await send({ type: 'm2pool:metrics', metrics });
  }
}
